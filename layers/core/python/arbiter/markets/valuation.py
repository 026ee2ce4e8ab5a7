"""Valuing assets in US dollars: the one unit in which limits and tolerances mean the same for every asset.

The policy, the same for the detector, the risk engine and the exposure tolerance: a USD stablecoin counts one
for one; any other asset is priced by the first of its USD-stablecoin symbols (in ``USD_QUOTES`` order:
``BTC/USDT``, ``BTC/USDC``, ``BTC/USD``) that has a two-sided book on some venue now, at the mean of that
symbol's mids over the venues quoting it; an asset no such book prices has no value (callers refuse, never
count it as zero)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from arbiter.models import Market, OrderBook
from arbiter.models.symbols import base_and_quote

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
