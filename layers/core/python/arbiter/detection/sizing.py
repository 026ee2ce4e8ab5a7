"""Exact sizing of screened candidates through book depth, in Decimal, with each venue's fees, precision and
limits. Floats only decide which candidates are worth sizing; every emitted amount, price and profit here is
computed from the book's Decimal levels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from arbiter.markets import round_amount
from arbiter.models import Leg, Market, OrderBook, Side


@dataclass(frozen=True)
class Sized:
    legs: tuple[Leg, ...]
    profit: Decimal


def _within_limits(market: Market, amount: Decimal, price: Decimal) -> bool:
    if amount <= 0 or round_amount(market, amount) != amount:
        return False
    if market.min_amount is not None and amount < market.min_amount:
        return False
    if market.max_amount is not None and amount > market.max_amount:
        return False
    return market.min_cost is None or amount * price >= market.min_cost


def size_cross_venue(
    buy_book: OrderBook,
    sell_book: OrderBook,
    buy_market: Market,
    sell_market: Market,
    max_notional: Decimal,
    spendable_quote: Decimal | None = None,
    sellable_base: Decimal | None = None,
) -> Sized | None:
    """Buy on one venue and sell on another as much as still earns after both taker fees."""
    fee_buy, fee_sell = buy_market.taker_fee, sell_market.taker_fee
    amount, notional = Decimal(0), Decimal(0)
    asks, bids = list(buy_book.asks), list(sell_book.bids)
    i = j = 0
    left_ask = asks[0].amount if asks else Decimal(0)
    left_bid = bids[0].amount if bids else Decimal(0)
    budget = max_notional if spendable_quote is None else min(max_notional, spendable_quote / (1 + fee_buy))
    while i < len(asks) and j < len(bids) and bids[j].price * (1 - fee_sell) > asks[i].price * (1 + fee_buy):
        take = min(left_ask, left_bid, (budget - notional) / asks[i].price)
        if sellable_base is not None:
            take = min(take, sellable_base - amount)
        if take <= 0:
            break
        amount += take
        notional += take * asks[i].price
        left_ask -= take
        left_bid -= take
        if left_ask == 0 and (i := i + 1) < len(asks):
            left_ask = asks[i].amount
        if left_bid == 0 and (j := j + 1) < len(bids):
            left_bid = bids[j].amount
    amount = round_amount(sell_market, round_amount(buy_market, amount))
    if amount <= 0:
        return None
    bought, sold = buy_book.sweep(Side.BUY, amount), sell_book.sweep(Side.SELL, amount)
    if bought.filled != amount or sold.filled != amount or bought.worst_price is None or sold.worst_price is None:
        return None
    if not (
        _within_limits(buy_market, amount, bought.worst_price) and _within_limits(sell_market, amount, sold.worst_price)
    ):
        return None
    profit = sold.cost * (1 - fee_sell) - bought.cost * (1 + fee_buy)
    legs = (
        Leg(venue=buy_book.venue, symbol=buy_book.symbol, side=Side.BUY, amount=amount, limit_price=bought.worst_price),
        Leg(
            venue=sell_book.venue, symbol=sell_book.symbol, side=Side.SELL, amount=amount, limit_price=sold.worst_price
        ),
    )
    return Sized(legs=legs, profit=profit)


def _buy_with(book: OrderBook, market: Market, spend: Decimal) -> tuple[Decimal, Decimal, Decimal] | None:
    """Base amount that ``spend`` of quote buys including the fee, rounded down: (amount, cost, worst price)."""
    budget, amount = spend / (1 + market.taker_fee), Decimal(0)
    for level in book.asks:
        take = min(level.amount, budget / level.price)
        amount += take
        budget -= take * level.price
        if budget <= 0 or take < level.amount:
            break
    amount = round_amount(market, amount)
    swept = book.sweep(Side.BUY, amount)
    if amount <= 0 or swept.filled != amount or swept.worst_price is None:
        return None
    return amount, swept.cost * (1 + market.taker_fee), swept.worst_price


def size_cycle(
    books: Sequence[OrderBook], markets: Sequence[Market], sides: Sequence[Side], start_amount: Decimal
) -> Sized | None:
    """Walk ``start_amount`` of the start asset through each hop's book; what comes back minus what went in."""
    held, legs, spent = start_amount, [], None
    for book, market, side in zip(books, markets, sides, strict=True):
        if side is Side.BUY:
            bought = _buy_with(book, market, held)
            if bought is None:
                return None
            amount, cost, worst = bought
            spent = cost if spent is None else spent
            held = amount
        else:
            amount = round_amount(market, held)
            swept = book.sweep(Side.SELL, amount)
            if amount <= 0 or swept.filled != amount or swept.worst_price is None:
                return None
            worst = swept.worst_price
            spent = amount if spent is None else spent
            held = swept.cost * (1 - market.taker_fee)
        if not _within_limits(market, amount, worst):
            return None
        legs.append(Leg(venue=book.venue, symbol=book.symbol, side=side, amount=amount, limit_price=worst))
    assert spent is not None
    return Sized(legs=tuple(legs), profit=held - spent)


def best_cycle_size(
    books: Sequence[OrderBook],
    markets: Sequence[Market],
    sides: Sequence[Side],
    max_start: Decimal,
    steps: int = 12,
) -> Sized | None:
    """The most profitable of a geometric ladder of start amounts up to ``max_start``."""
    best: Sized | None = None
    amount = max_start
    for _ in range(steps):
        sized = size_cycle(books, markets, sides, amount)
        if sized is not None and sized.profit > 0 and (best is None or sized.profit > best.profit):
            best = sized
        amount /= 2
    return best
