"""The features of an opportunity, measured when the scanner decides on it and stored with it: what a model
([ml]) learns from is exactly what was known at that moment, never recomputed from later books.

Besides the book (spread, the share of the top level and of the visible depth a leg takes, the book's age,
the recent volatility of its mid) and the feed, each leg carries what recently ended executions say of its
venue (rejections, compensations, partial fills) and the opportunity what they say of its route. Names starting
with ``ref_`` are not model inputs: the USD rate of each traded asset at decision time, which values the
realised P&L (in whichever assets it ended) as the label."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from arbiter.marketdata import LiveBooks
from arbiter.markets import UsdValue
from arbiter.models import Opportunity, OpportunityKind, Side
from arbiter.models.heartbeat import FeedHealth
from arbiter.models.symbols import base_and_quote
from arbiter.scoring.dataset import REFERENCE_PREFIX
from arbiter.scoring.outcomes import OutcomeStats, route_of

MAX_LEGS = 3
LEG_FEATURES = (
    "spread_bps",
    "top_share",
    "depth_share",
    "side_depth",
    "book_age_ms",
    "mid_vol_bps",
    "feed_reconnects",
    "feed_silence_ms",
    "venue_executions",
    "venue_failure_rate",
    "venue_compensation_rate",
    "venue_partial_rate",
)
VOLATILITY_HALF_LIFE_UPDATES = 20.0


class MidVolatility:
    """Per book, an exponentially weighted mean of the squared change of log mid between two updates (half-life
    ``VOLATILITY_HALF_LIFE_UPDATES`` updates), kept beside the live books; read as bps per update."""

    def __init__(self, books: LiveBooks) -> None:
        self.books = books
        count = len(books.timestamps)
        self._log_mid = np.full(count, np.nan)
        self._variance = np.zeros(count)
        self._decay = 0.5 ** (1 / VOLATILITY_HALF_LIFE_UPDATES)

    def observe(self, changed: Sequence[tuple[str, str]]) -> None:
        if not changed:
            return
        books = self.books
        n_s = len(books.symbols)
        venue_pos = {v: i for i, v in enumerate(books.venues)}
        symbol_pos = {s: i for i, s in enumerate(books.symbols)}
        rows = np.fromiter((venue_pos[v] * n_s + symbol_pos[s] for v, s in changed), dtype=np.int64)
        bid, ask = books.bid_prices[rows, 0], books.ask_prices[rows, 0]
        valid = (bid > 0) & np.isfinite(ask) & (ask > bid)
        mid = np.where(valid, np.log(np.where(valid, (bid + ask) / 2, 1.0)), np.nan)
        step = mid - self._log_mid[rows]
        seen = np.isfinite(step)
        self._variance[rows] = np.where(
            seen,
            self._decay * self._variance[rows] + (1 - self._decay) * np.square(np.nan_to_num(step)),
            self._variance[rows],
        )
        self._log_mid[rows] = np.where(valid, mid, self._log_mid[rows])

    def bps(self, venue: str, symbol: str) -> float:
        books = self.books
        row = books.venues.index(venue) * len(books.symbols) + books.symbols.index(symbol)
        return float(np.sqrt(self._variance[row]) * 10_000)


def opportunity_features(
    opportunity: Opportunity,
    books: LiveBooks,
    health: Mapping[str, FeedHealth],
    usd_value: UsdValue,
    now_ms: int,
    volatility: MidVolatility | None = None,
    outcomes: OutcomeStats | None = None,
    reference_assets: Sequence[str] = (),
) -> dict[str, float]:
    """Fixed names, floats only (absent legs are 0): profit and size in USD, quote ages, and per leg the spread,
    how much of the top level and of the visible depth the leg takes, the book's depth on the taken side, its
    mid's recent volatility, its venue's feed state and recent outcomes; the route's recent outcomes.

    ``reference_assets``: besides the traded assets, those whose USD rate is stored too (the profit currencies),
    so that a fee charged in one of them (a venue charging fees in USDT on a BTC-quoted market) can be valued."""
    profit_rate = usd_value(opportunity.profit_currency)
    outcomes = outcomes or OutcomeStats()
    route = outcomes.route(route_of(opportunity))
    features: dict[str, float] = {
        "kind_cycle": float(opportunity.kind is OpportunityKind.CYCLE),
        "legs": float(len(opportunity.legs)),
        "venues": float(len({leg.venue for leg in opportunity.legs})),
        "route_recent_executions": float(route.executions),
        "route_recent_completed_rate": route.completed_rate,
        "route_recent_pnl_usd": route.mean_pnl_usd,
        "expected_profit_usd": float(opportunity.expected_profit * profit_rate) if profit_rate else -1.0,
        "oldest_quote_age_ms": float(opportunity.quote_age_ms(now_ms)),
        "newest_quote_age_ms": float(now_ms - max(q.timestamp for q in opportunity.quotes)),
        "decided_hour_utc": float((now_ms // 3_600_000) % 24),
        "decided_weekday": float(_weekday(now_ms)),
    }
    largest = Decimal(0)
    for i in range(MAX_LEGS):
        prefix = f"leg{i}_"
        if i >= len(opportunity.legs):
            for name in LEG_FEATURES:
                features[prefix + name] = 0.0
            continue
        leg = opportunity.legs[i]
        book = books.order_book(leg.venue, leg.symbol)
        bid, ask = book.best_bid, book.best_ask
        taken = book.asks if leg.side is Side.BUY else book.bids
        base, quote = base_and_quote(leg.symbol)
        rate = usd_value(quote)
        if rate is not None:
            largest = max(largest, leg.amount * leg.limit_price * rate)
        for asset in (base, quote):
            asset_rate = usd_value(asset)
            if asset_rate is not None:
                features[REFERENCE_PREFIX + asset] = float(asset_rate)
        mid = (bid.price + ask.price) / 2 if bid and ask else None
        feed = health.get(leg.venue)
        depth = sum(level.amount for level in taken)
        venue = outcomes.venue(leg.venue)
        features |= {
            prefix + "spread_bps": float((ask.price - bid.price) / mid * 10_000) if bid and ask and mid else -1.0,
            prefix + "top_share": float(leg.amount / taken[0].amount) if taken else -1.0,
            prefix + "depth_share": float(leg.amount / depth) if depth else -1.0,
            prefix + "side_depth": float(depth),
            prefix + "book_age_ms": float(book.age_ms(now_ms)),
            prefix + "mid_vol_bps": volatility.bps(leg.venue, leg.symbol) if volatility is not None else -1.0,
            prefix + "feed_reconnects": float(feed.reconnects) if feed else -1.0,
            prefix + "feed_silence_ms": float(feed.last_message_age_ms or 0) if feed else -1.0,
            prefix + "venue_executions": float(venue.executions),
            prefix + "venue_failure_rate": venue.failure_rate,
            prefix + "venue_compensation_rate": venue.compensation_rate,
            prefix + "venue_partial_rate": venue.partial_rate,
        }
    features["notional_usd"] = float(largest)
    profit_usd = features["expected_profit_usd"]
    features["expected_profit_bps"] = profit_usd / float(largest) * 10_000 if largest and profit_rate else -1.0
    if profit_rate:
        features[REFERENCE_PREFIX + opportunity.profit_currency] = float(profit_rate)
    for asset in reference_assets:
        if REFERENCE_PREFIX + asset not in features and (asset_rate := usd_value(asset)) is not None:
            features[REFERENCE_PREFIX + asset] = float(asset_rate)
    return features


def _weekday(now_ms: int) -> int:
    return datetime.fromtimestamp(now_ms / 1000, tz=UTC).weekday()
