"""The features of an opportunity, measured when the scanner decides on it and stored with it: what a model
([ml]) learns from is exactly what was known at that moment, never recomputed from later books."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from arbiter.marketdata import LiveBooks
from arbiter.markets import UsdValue
from arbiter.models import Opportunity, OpportunityKind, Side
from arbiter.models.heartbeat import FeedHealth
from arbiter.models.symbols import base_and_quote

MAX_LEGS = 3


def opportunity_features(
    opportunity: Opportunity,
    books: LiveBooks,
    health: Mapping[str, FeedHealth],
    usd_value: UsdValue,
    now_ms: int,
) -> dict[str, float]:
    """Fixed names, floats only (absent legs are 0): profit and size in USD, quote ages, and per leg the spread,
    how much of the top level the leg takes, the book's depth on the taken side and its venue's feed state."""
    profit_rate = usd_value(opportunity.profit_currency)
    features: dict[str, float] = {
        "kind_cycle": float(opportunity.kind is OpportunityKind.CYCLE),
        "legs": float(len(opportunity.legs)),
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
            for name in ("spread_bps", "top_share", "side_depth", "book_age_ms", "feed_reconnects", "feed_silence_ms"):
                features[prefix + name] = 0.0
            continue
        leg = opportunity.legs[i]
        book = books.order_book(leg.venue, leg.symbol)
        bid, ask = book.best_bid, book.best_ask
        taken = book.asks if leg.side is Side.BUY else book.bids
        rate = usd_value(base_and_quote(leg.symbol)[1])
        if rate is not None:
            largest = max(largest, leg.amount * leg.limit_price * rate)
        mid = (bid.price + ask.price) / 2 if bid and ask else None
        feed = health.get(leg.venue)
        features |= {
            prefix + "spread_bps": float((ask.price - bid.price) / mid * 10_000) if bid and ask and mid else -1.0,
            prefix + "top_share": float(leg.amount / taken[0].amount) if taken else -1.0,
            prefix + "side_depth": float(sum(level.amount for level in taken)),
            prefix + "book_age_ms": float(book.age_ms(now_ms)),
            prefix + "feed_reconnects": float(feed.reconnects) if feed else -1.0,
            prefix + "feed_silence_ms": float(feed.last_message_age_ms or 0) if feed else -1.0,
        }
    features["notional_usd"] = float(largest)
    return features


def _weekday(now_ms: int) -> int:
    return datetime.fromtimestamp(now_ms / 1000, tz=UTC).weekday()
