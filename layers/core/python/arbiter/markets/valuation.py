"""Valuing assets in US dollars: the one unit in which limits and tolerances mean the same for every asset.

The policy, the same for the detector, the risk engine and the exposure tolerance: a USD stablecoin counts one
for one; any other asset is priced by the first of its USD-stablecoin symbols (in ``USD_QUOTES`` order:
``BTC/USDT``, ``BTC/USDC``, ``BTC/USD``) that has a two-sided book on some venue now, at the mean of that
symbol's mids over the venues quoting it; an asset no such book prices has no value (callers refuse, never
count it as zero)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from arbiter.models import Market, OrderBook
from arbiter.models.symbols import base_and_quote
from arbiter.models.time import Clock

USD_QUOTES = ("USDT", "USDC", "USD")
"""Counted one for one as US dollars (their de-peg risk is the risk limits' concern, not the valuation's), in the
order the valuation tries them: the deepest books first on most venues."""
USD_STABLE = frozenset(USD_QUOTES)

UsdValue = Callable[[str], Decimal | None]
"""The USD value of one unit of an asset, or None when it cannot be valued now."""

BookLookup = Callable[[str, str], OrderBook | None]
"""(venue, symbol) -> the book now, or None when it cannot be read."""


def usd_symbols(asset: str, symbols: Iterable[str]) -> list[str]:
    """The symbols that price ``asset`` in US dollars, in the order the policy tries them."""
    by_quote = {quote: symbol for symbol in symbols for base, quote in [base_and_quote(symbol)] if base == asset}
    return [by_quote[quote] for quote in USD_QUOTES if quote in by_quote]


def usd_from_mids(mids: Sequence[Decimal]) -> Decimal | None:
    """The value the policy gives an asset whose USD-stablecoin markets have these mids (one per venue)."""
    return sum(mids, Decimal(0)) / len(mids) if mids else None


@dataclass(frozen=True)
class BookUsdValuation:
    """The policy over books read on demand (a deployed saga's venues, the local platform's paper venues)."""

    markets: Mapping[tuple[str, str], Market]
    book: BookLookup

    def __call__(self, asset: str) -> Decimal | None:
        if asset in USD_STABLE:
            return Decimal(1)
        for symbol in usd_symbols(asset, (symbol for _, symbol in self.markets)):
            mids = []
            for venue in sorted(v for v, s in self.markets if s == symbol):
                book = self.book(venue, symbol)
                if book is not None and book.best_bid is not None and book.best_ask is not None:
                    mids.append((book.best_bid.price + book.best_ask.price) / 2)
            if mids:
                return usd_from_mids(mids)
        return None


@dataclass
class ReadAheadUsdValuation:
    """The policy over the books a scanner shard follows live, and, for an asset those cannot value (its USD
    market followed by another shard; a fee asset such as BNB no shard follows), over the venues' books read
    ahead (``read_ahead``, off the scanner's event loop) and kept for ``max_age_ms``.

    Without it a shard refuses every start with ``unknown_usd_value`` once today's P&L holds an asset only
    another shard prices: the daily loss cannot be valued. An asset first asked for is unknown until the next
    read-ahead (the decision asking is refused, as any unvalued one is)."""

    live: UsdValue
    remote: UsdValue
    clock: Clock
    max_age_ms: int
    _read: dict[str, tuple[Decimal | None, int]] = field(default_factory=dict)
    _wanted: set[str] = field(default_factory=set)

    def __call__(self, asset: str) -> Decimal | None:
        value = self.live(asset)
        if value is not None:
            return value
        read = self._read.get(asset)
        if read is None or self.clock.now_ms() - read[1] > self.max_age_ms:
            self._wanted.add(asset)
            return None
        return read[0]

    def read_ahead(self) -> None:
        """Read every asset asked for that the live books could not value and that is missing or getting old."""
        now = self.clock.now_ms()
        due = {a for a, (_, at) in self._read.items() if now - at > self.max_age_ms // 2} | self._wanted
        for asset in sorted(due):
            self._read[asset] = (self.remote(asset), now)
        self._wanted.clear()
