"""Books from ccxt.pro websockets (``watch_order_book``), one follower per book, concurrently.

Failure policy, per book:
- a sequence gap (ccxt raises ``ChecksumError``/``InvalidNonce`` and drops its book): counted as a resync and
  followed again at once; ccxt subscribes again and takes a new snapshot.
- a broken stream (``NetworkError``: disconnect, timeout): counted as a reconnect; one REST snapshot keeps the book
  fresh while the stream is down, then the websocket is tried again with exponential backoff and jitter
  (tenacity), the backoff starting afresh once a stream has delivered again.
- a symbol the venue refuses (``BadSymbol``): reported in the venue's health and not followed; the others go on.
- a venue without websockets: REST snapshots every ``poll_ms``.
A malformed book (unsorted, crossed, non-positive) is dropped and counted by the reader (``LiveBooks``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ccxt
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from arbiter.marketdata.feed import BookUpdate, UpdateQueue, VenueCounters
from arbiter.models.heartbeat import FeedHealth
from arbiter.models.time import Clock

logger = logging.getLogger(__name__)

GAP_ERRORS = (ccxt.ChecksumError, ccxt.InvalidNonce)


@dataclass(frozen=True)
class FeedSettings:
    depth: int = 20
    """Levels per side kept and delivered (a depth the venue's snapshot endpoint accepts)."""
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 20.0
    poll_ms: int = 1_000
    """REST polling interval of a venue without websockets."""


class CcxtBookFeed:
    """The books of several venues, each from its own ccxt.pro exchange (markets loaded before ``start``)."""

    def __init__(
        self,
        exchanges: Mapping[str, Any],
        symbols: Mapping[str, Sequence[str]],
        clock: Clock,
        settings: FeedSettings | None = None,
    ) -> None:
        self.exchanges, self.clock = dict(exchanges), clock
        self.symbols = {venue: tuple(symbols.get(venue, ())) for venue in self.exchanges}
        self.settings = settings or FeedSettings()
        self.queue = UpdateQueue()
        self.counters = {venue: VenueCounters(venue, books=len(s)) for venue, s in self.symbols.items()}
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for venue, symbols in self.symbols.items():
            exchange = self.exchanges[venue]
            if not exchange.markets:
                try:
                    await exchange.load_markets()
                except Exception as error:  # noqa: BLE001 - this venue is skipped and reported, the others go on
                    logger.error("%s: markets not loaded (%s); venue skipped", venue, type(error).__name__)
                    self.counters[venue].failed.update(symbols)
                    continue
            streaming = bool(exchange.has.get("watchOrderBook"))
            for symbol in symbols:
                follow = self._follow_stream(venue, symbol) if streaming else self._poll(venue, symbol)
                self._tasks.append(asyncio.create_task(follow, name=f"book {venue} {symbol}"))

    async def next_batch(self, timeout_s: float) -> list[BookUpdate]:
        return await self.queue.next_batch(timeout_s)

    def health(self, now_ms: int) -> dict[str, FeedHealth]:
        return {venue: counters.report(now_ms) for venue, counters in self.counters.items()}

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for exchange in self.exchanges.values():
            close = getattr(exchange, "close", None)
            if close is not None:
                await close()

    # -- one book ------------------------------------------------------------------------------------------

    async def _follow_stream(self, venue: str, symbol: str) -> None:
        counters = self.counters[venue]
        counters.down.add(symbol)

        def retry_logged(state: RetryCallState) -> None:
            counters.reconnects += 1
            error = state.outcome.exception() if state.outcome else None
            logger.warning("%s %s: stream failed (%s), retrying", venue, symbol, type(error).__name__)

        while True:
            try:
                async for attempt in AsyncRetrying(
                    wait=wait_exponential_jitter(
                        multiplier=self.settings.backoff_initial_s,
                        max=self.settings.backoff_max_s,
                        jitter=self.settings.backoff_initial_s,
                    ),
                    retry=retry_if_exception(_retryable),
                    before_sleep=retry_logged,
                ):
                    with attempt:
                        await self._stream(venue, symbol)
            except ccxt.BadSymbol:
                counters.failed.add(symbol)
                counters.down.discard(symbol)
                logger.error("%s %s: the venue refuses this symbol; not followed", venue, symbol)
                return

    async def _stream(self, venue: str, symbol: str) -> None:
        """Deliver books until the stream breaks. Returns (so the backoff restarts) when a stream that had
        delivered breaks; raises when it breaks before delivering anything."""
        exchange, counters, depth = self.exchanges[venue], self.counters[venue], self.settings.depth
        delivered = False
        while True:
            try:
                book = await exchange.watch_order_book(symbol, depth)
            except GAP_ERRORS:
                counters.resyncs += 1
                continue
            except ccxt.BadSymbol:
                raise
            except Exception:
                counters.down.add(symbol)
                await self._rest_snapshot(venue, symbol)
                if delivered:
                    counters.reconnects += 1
                    return
                raise
            self._deliver(venue, symbol, book)
            delivered = True
            counters.down.discard(symbol)

    async def _rest_snapshot(self, venue: str, symbol: str) -> bool:
        try:
            book = await self.exchanges[venue].fetch_order_book(symbol, self.settings.depth)
        except ccxt.BadSymbol:
            raise
        except Exception as error:  # noqa: BLE001 - the stream's retry decides what happens next
            logger.warning("%s %s: REST snapshot failed: %s", venue, symbol, type(error).__name__)
            return False
        self.counters[venue].rest_snapshots += 1
        self._deliver(venue, symbol, book)
        return True

    async def _poll(self, venue: str, symbol: str) -> None:
        counters = self.counters[venue]
        while True:
            try:
                fetched = await self._rest_snapshot(venue, symbol)
            except ccxt.BadSymbol:
                counters.failed.add(symbol)
                return
            if fetched:
                counters.down.discard(symbol)
            else:
                counters.down.add(symbol)
            await asyncio.sleep(self.settings.poll_ms / 1000)

    def _deliver(self, venue: str, symbol: str, book: Mapping[str, Any]) -> None:
        depth = self.settings.depth
        arrived = self.clock.now_ms()
        counters = self.counters[venue]
        counters.last_arrival_ms = arrived
        venue_ms = book.get("timestamp")
        self.queue.publish(
            BookUpdate(
                venue=venue,
                symbol=symbol,
                # Copies: ccxt keeps changing its own book in place.
                bids=[level[:2] for level in book["bids"][:depth]],
                asks=[level[:2] for level in book["asks"][:depth]],
                venue_ms=venue_ms if isinstance(venue_ms, int) and venue_ms > 0 else None,
                arrived_ms=arrived,
            )
        )


def _retryable(error: BaseException) -> bool:
    # Cancellation (the scanner stopping) is a BaseException: never retried.
    return isinstance(error, Exception) and not isinstance(error, ccxt.BadSymbol)


def open_ccxt_pro(venue: str, timeout_ms: int = 5_000) -> Any:
    """A ccxt.pro exchange for public books, ccxt's own rate limiter on."""
    import ccxt.pro as pro  # (loaded here: the websocket clients are only needed where books are followed)

    if not hasattr(pro, venue):
        raise ValueError(f"{venue}: ccxt.pro has no such exchange")
    return getattr(pro, venue)({"enableRateLimit": True, "timeout": timeout_ms})
