"""Recorded order books (``arbiter record``, ``arbiter replay``): what the scanner receives, in gzip-compressed
JSON lines. The first line is the header (the venues' markets, so a replay needs nothing else); every other line
is one whole book (the top levels, best first) as it arrived, with the venue's and the arrival timestamps. See
docs/recording-format.md."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from arbiter.marketdata.feed import BookSource, BookUpdate
from arbiter.models import PrecisionMode
from arbiter.models.time import Clock

FORMAT = "arbiter-book-recording"
VERSION = 1


class RecordingError(ValueError):
    """A recording that does not follow the format: names the line and the field."""


@dataclass(frozen=True)
class RecordingHeader:
    venues: Mapping[str, Mapping[str, Mapping[str, Any]]]
    """venue -> symbol -> its ccxt market dict."""
    precision_modes: Mapping[str, PrecisionMode]
    started_at_ms: int
    depth: int

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "started_at_ms": self.started_at_ms,
            "depth": self.depth,
            "venues": {
                venue: {"precision_mode": self.precision_modes[venue].name.lower(), "markets": dict(markets)}
                for venue, markets in self.venues.items()
            },
        }

    @classmethod
    def from_json(cls, raw: Any) -> RecordingHeader:
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise RecordingError(f"line 1: format: expected {FORMAT!r}")
        if raw.get("version") != VERSION:
            raise RecordingError(f"line 1: version: {raw.get('version')!r} is not supported (expected {VERSION})")
        venues, modes = {}, {}
        for venue, entry in _field(raw, "venues", dict, 1).items():
            mode = str(_field(entry, "precision_mode", str, 1)).upper()
            if mode not in PrecisionMode.__members__:
                raise RecordingError(f"line 1: venues.{venue}.precision_mode: {mode.lower()!r} is not a ccxt mode")
            modes[venue] = PrecisionMode[mode]
            venues[venue] = _field(entry, "markets", dict, 1)
        return cls(venues, modes, int(_field(raw, "started_at_ms", int, 1)), int(_field(raw, "depth", int, 1)))


def _field(raw: Mapping[str, Any], name: str, kind: type, line: int) -> Any:
    if name not in raw:
        raise RecordingError(f"line {line}: {name}: missing")
    value = raw[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise RecordingError(f"line {line}: {name}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _levels(raw: Any, name: str, line: int) -> list[tuple[float, float]]:
    if not isinstance(raw, list):
        raise RecordingError(f"line {line}: {name}: expected a list of [price, amount]")
    levels = []
    for level in raw:
        if not isinstance(level, list) or len(level) < 2:
            raise RecordingError(f"line {line}: {name}: each level is [price, amount], got {level!r}")
        price, amount = level[0], level[1]
        if not all(isinstance(x, int | float) and not isinstance(x, bool) and x >= 0 for x in (price, amount)):
            raise RecordingError(f"line {line}: {name}: price and amount are non-negative numbers, got {level!r}")
        levels.append((float(price), float(amount)))
    return levels


def book_line(update: BookUpdate, first: bool) -> dict[str, Any]:
    return {
        "type": "snapshot" if first else "update",
        "venue": update.venue,
        "symbol": update.symbol,
        "venue_ms": update.venue_ms,
        "arrived_ms": update.arrived_ms,
        "bids": [[float(level[0]), float(level[1])] for level in update.bids],
        "asks": [[float(level[0]), float(level[1])] for level in update.asks],
    }


def parse_book_line(raw: Any, line: int, known: Mapping[str, Mapping[str, Any]]) -> BookUpdate:
    if not isinstance(raw, dict):
        raise RecordingError(f"line {line}: expected a JSON object")
    kind = _field(raw, "type", str, line)
    if kind not in ("snapshot", "update"):
        raise RecordingError(f"line {line}: type: {kind!r} is neither 'snapshot' nor 'update'")
    venue, symbol = _field(raw, "venue", str, line), _field(raw, "symbol", str, line)
    if symbol not in known.get(venue, {}):
        raise RecordingError(f"line {line}: {venue} {symbol}: not among the header's markets")
    venue_ms = raw.get("venue_ms")
    if venue_ms is not None and (not isinstance(venue_ms, int) or isinstance(venue_ms, bool)):
        raise RecordingError(f"line {line}: venue_ms: expected an integer or null")
    return BookUpdate(
        venue=venue,
        symbol=symbol,
        bids=_levels(raw.get("bids"), "bids", line),
        asks=_levels(raw.get("asks"), "asks", line),
        venue_ms=venue_ms,
        arrived_ms=int(_field(raw, "arrived_ms", int, line)),
    )


@dataclass
class RecordingWriter:
    """Writes a recording: the header first, then every book as it arrived."""

    stream: IO[str]
    header: RecordingHeader
    lines: int = 0
    _seen: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def open(cls, path: Path, header: RecordingHeader) -> RecordingWriter:
        path.parent.mkdir(parents=True, exist_ok=True)
        stream = gzip.open(path, "wt", encoding="utf-8")  # noqa: SIM115 - closed by ``close``
        writer = cls(stream, header)
        stream.write(json.dumps(header.to_json(), sort_keys=True, separators=(",", ":")) + "\n")
        return writer

    def write(self, updates: Sequence[BookUpdate]) -> None:
        for update in updates:
            key = (update.venue, update.symbol)
            line = book_line(update, key not in self._seen)
            self._seen.add(key)
            self.stream.write(json.dumps(line, separators=(",", ":")) + "\n")
            self.lines += 1

    def close(self) -> None:
        self.stream.close()


def read_recording(path: Path) -> tuple[RecordingHeader, Iterator[BookUpdate]]:
    """The header and, lazily, every book in the order recorded (arrival times never go back)."""
    stream = gzip.open(path, "rt", encoding="utf-8")  # noqa: SIM115 - closed when the books are read out
    try:
        first = stream.readline()
        header = RecordingHeader.from_json(json.loads(first)) if first.strip() else None
    except (OSError, EOFError, json.JSONDecodeError) as error:
        stream.close()
        raise RecordingError(f"{path}: not a gzip-compressed recording ({error})") from None
    if header is None:
        stream.close()
        raise RecordingError(f"{path}: empty (no header line)")

    def books() -> Iterator[BookUpdate]:
        last_arrival = 0
        with stream:
            for number, text in enumerate(stream, start=2):
                if not text.strip():
                    continue
                try:
                    raw = json.loads(text)
                except json.JSONDecodeError as error:
                    raise RecordingError(f"line {number}: not JSON ({error.msg})") from None
                update = parse_book_line(raw, number, header.venues)
                if update.arrived_ms < last_arrival:
                    raise RecordingError(f"line {number}: arrived_ms: {update.arrived_ms} goes back in time")
                last_arrival = update.arrived_ms
                yield update

    return header, books()


async def record(source: BookSource, writer: RecordingWriter, clock: Clock, until_ms: int, poll_s: float = 0.5) -> int:
    """Follow ``source`` until ``until_ms`` on ``clock``, writing every book it delivers; returns the books."""
    await source.start()
    try:
        while clock.now_ms() < until_ms:
            writer.write(await source.next_batch(poll_s))
    finally:
        await source.close()
    return writer.lines


async def record_venues(
    exchanges: Mapping[str, Any], symbols: Sequence[str], path: Path, clock: Clock, minutes: float, depth: int
) -> int:
    """Record ``symbols`` on every venue (ccxt.pro exchanges) for ``minutes`` into ``path``; returns the books.
    The header holds each venue's markets as ccxt loaded them, so the recording replays without the venue."""
    from arbiter.marketdata.ccxt_feed import CcxtBookFeed, FeedSettings

    markets: dict[str, dict[str, Any]] = {}
    modes: dict[str, PrecisionMode] = {}
    try:
        for venue, exchange in exchanges.items():
            if not exchange.markets:
                await exchange.load_markets()
            missing = [s for s in symbols if s not in exchange.markets]
            if missing:
                raise RecordingError(f"--symbols: {venue} lists no {', '.join(missing)}")
            markets[venue] = {symbol: exchange.markets[symbol] for symbol in symbols}
            modes[venue] = PrecisionMode(int(exchange.precisionMode))
    except Exception:
        for exchange in exchanges.values():
            await exchange.close()
        raise
    header = RecordingHeader(markets, modes, clock.now_ms(), depth)
    writer = RecordingWriter.open(path, header)
    feed = CcxtBookFeed(exchanges, {venue: tuple(symbols) for venue in exchanges}, clock, FeedSettings(depth=depth))
    try:
        return await record(feed, writer, clock, clock.now_ms() + int(minutes * 60_000))
    finally:
        writer.close()
