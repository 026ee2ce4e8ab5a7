"""Vectorised depth walking in floats: every screened candidate at once, one row each (or one row per rung of a
ladder of start amounts), with no Python loop over candidates or levels. These floats only choose sizes; the
opportunities emitted are re-computed exactly in Decimal from the books (``arbiter.detection.sizing``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arbiter.detection.index import BoolArray, DetectionIndex, FloatArray, IntArray

LADDER = 12
"""Start amounts tried per cycle: the budget, then halved each time (as ``sizing.best_cycle_size`` does)."""
_HALVINGS = 0.5 ** np.arange(LADDER)
# Amounts are multiples of a step computed in floats: a hair of slack keeps 3 * 0.1 from flooring to 0.2.
_STEP_SLACK = 1e-9


@dataclass(frozen=True)
class Depth:
    """Cumulative depth of one side of K books: amount and quote cost through each level, with a leading 0."""

    prices: FloatArray  # [K, L]
    amounts0: FloatArray  # [K, L + 1]
    costs0: FloatArray  # [K, L + 1]

    @classmethod
    def of(cls, prices: FloatArray, amounts: FloatArray) -> Depth:
        k, levels = prices.shape
        amounts0, costs0 = np.zeros((k, levels + 1)), np.zeros((k, levels + 1))
        np.cumsum(amounts, axis=1, out=amounts0[:, 1:])
        np.cumsum(prices * amounts, axis=1, out=costs0[:, 1:])
        return cls(prices, amounts0, costs0)

    @property
    def total(self) -> FloatArray:
        return self.amounts0[:, -1]

    def cost_of(self, amount: FloatArray) -> tuple[FloatArray, IntArray]:
        """Quote cost of taking ``amount`` (shape [K] or [K, M]) and the worst price reached."""
        return _walk(self.amounts0, self.costs0, self.prices, amount)

    def amount_for(self, cost: FloatArray) -> FloatArray:
        """Base amount that ``cost`` of quote takes, at most the whole depth."""
        with np.errstate(divide="ignore"):
            got, _ = _walk(self.costs0, self.amounts0, 1.0 / self.prices, cost)
        total = self.total if cost.ndim == 1 else self.total[:, None]
        return np.minimum(got, total)


def _walk(cum_in0: FloatArray, cum_out0: FloatArray, rate: FloatArray, x: FloatArray) -> tuple[FloatArray, IntArray]:
    """Piecewise-linear cumulative map: out(x) with ``rate`` out per in on each level; the level's price."""
    levels = rate.shape[1]
    if x.ndim == 1:
        level = np.minimum((cum_in0[:, 1:] < x[:, None]).sum(axis=1), levels - 1)[:, None]
        into = x[:, None]
    else:
        level = np.minimum((cum_in0[:, None, 1:] < x[:, :, None]).sum(axis=2), levels - 1)
        into = x
    out = np.take_along_axis(cum_out0, level, 1) + (into - np.take_along_axis(cum_in0, level, 1)) * (
        np.take_along_axis(rate, level, 1)
    )
    return (out[:, 0], level[:, 0]) if x.ndim == 1 else (out, level)


def floor_to_step(amount: FloatArray, step: FloatArray, significant: BoolArray) -> FloatArray:
    """Truncate to the market's amount precision: a fixed step, or significant digits (``step`` holds the digits
    there, and the step follows the amount's magnitude)."""
    if significant.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            magnitude = np.floor(np.log10(np.where(amount > 0, amount, 1.0)))
        step = np.where(significant, 10.0 ** (magnitude - step + 1), step)
    return np.floor(amount / step + _STEP_SLACK) * step


@dataclass(frozen=True)
class PairSizes:
    amount: FloatArray  # [K], 0 where nothing is worth trading
    profit: FloatArray  # [K], quote currency after both fees; NaN where invalid


def size_pairs(
    index: DetectionIndex,
    buy_books: IntArray,
    sell_books: IntArray,
    ask_prices: FloatArray,
    ask_amounts: FloatArray,
    bid_prices: FloatArray,
    bid_amounts: FloatArray,
    budget: FloatArray,
    sellable: FloatArray | None,
) -> PairSizes:
    """Greedy cross-venue size: every unit whose bid after fee beats its ask after fee, within ``budget`` (quote
    spent before the fee) and ``sellable`` (base), rounded to both markets' steps and checked against limits."""
    taker = index.taker.reshape(-1)
    fee_buy, fee_sell = taker[buy_books], taker[sell_books]
    asks = Depth.of(ask_prices, ask_amounts)
    bids = Depth.of(bid_prices, bid_amounts)
    ask_eff = ask_prices * (1 + fee_buy)[:, None]
    bid_eff = bid_prices * (1 - fee_sell)[:, None]
    # Only levels that beat the other side's best can take part: the walk needs no deeper comparison.
    deep_a = max(int((ask_eff < bid_eff[:, :1]).sum(axis=1).max(initial=0)), 1)
    deep_b = max(int((bid_eff > ask_eff[:, :1]).sum(axis=1).max(initial=0)), 1)
    beats = (bid_eff[:, None, :deep_b] > ask_eff[:, :deep_a, None]).sum(axis=2)  # [K, ask level]
    # Marginal profit falls with size: the best size is the furthest point where some ask level still has a
    # bid level beating it, i.e. max over ask levels of min(depth through it, bid depth that beats it).
    reach = np.minimum(asks.amounts0[:, 1 : deep_a + 1], np.take_along_axis(bids.amounts0, beats, 1)).max(axis=1)
    amount = np.minimum(reach, asks.amount_for(budget))
    if sellable is not None:
        amount = np.minimum(amount, sellable)
    amount = floor_to_step(amount, index.amount_step[buy_books], index.significant[buy_books])
    amount = floor_to_step(amount, index.amount_step[sell_books], index.significant[sell_books])
    cost, level_a = asks.cost_of(amount)
    proceeds, level_b = bids.cost_of(amount)
    rows = np.arange(len(amount))
    worst_a, worst_b = ask_prices[rows, level_a], bid_prices[rows, level_b]
    profit = proceeds * (1 - fee_sell) - cost * (1 + fee_buy)
    ok = (
        (amount > 0)
        & _within_limits(index, buy_books, amount, worst_a)
        & _within_limits(index, sell_books, amount, worst_b)
    )
    return PairSizes(amount=np.where(ok, amount, 0.0), profit=np.where(ok, profit, np.nan))


def _within_limits(index: DetectionIndex, books: IntArray, amount: FloatArray, worst: FloatArray) -> BoolArray:
    shape = (-1, 1) if amount.ndim == 2 else (-1,)
    return (
        (amount >= index.min_amount[books].reshape(shape))
        & (amount <= index.max_amount[books].reshape(shape))
        & (amount * worst >= index.min_cost[books].reshape(shape))
    )


@dataclass(frozen=True)
class CycleSizes:
    rung: IntArray  # [K] the ladder rung chosen (start = budget / 2**rung)
    profit: FloatArray  # [K] start asset after fees; NaN where no rung earns


def size_cycles(
    index: DetectionIndex,
    cycles: IntArray,
    bid_prices: FloatArray,
    bid_amounts: FloatArray,
    ask_prices: FloatArray,
    ask_amounts: FloatArray,
    budget: FloatArray,
) -> CycleSizes:
    """Every cycle at every rung of the start-amount ladder at once ([K, LADDER]): each hop converts what the
    previous one returned through its book's depth, rounded to its precision, fee charged, limits checked."""
    held = budget[:, None] * _HALVINGS[None, :]
    spent = np.zeros_like(held)
    ok = np.ones(held.shape, dtype=bool)
    taker = index.taker.reshape(-1)
    for hop in range(3):
        books = index.cycle_books[cycles, hop]
        sells = index.cycle_sells[cycles, hop]
        fee = taker[books][:, None]
        prices = np.where(sells[:, None], bid_prices[books], ask_prices[books])
        depth = Depth.of(prices, np.where(sells[:, None], bid_amounts[books], ask_amounts[books]))
        sell_rows = sells[:, None]
        step, significant = index.amount_step[books][:, None], index.significant[books][:, None]
        bought = depth.amount_for(held / (1 + fee)) if not sells.all() else held
        amount = floor_to_step(np.where(sell_rows, held, bought), step, significant)
        quote, level = depth.cost_of(amount)
        worst = np.take_along_axis(prices, level, 1)
        ok &= (amount > 0) & (amount <= depth.total[:, None]) & _within_limits(index, books, amount, worst)
        if hop == 0:
            spent = np.where(sell_rows, amount, quote * (1 + fee))
        held = np.where(sell_rows, quote * (1 - fee), amount)
    profit = np.where(ok, held - spent, -np.inf)
    rung = profit.argmax(axis=1)
    best = profit[np.arange(len(rung)), rung]
    return CycleSizes(rung=rung, profit=np.where(best > 0, best, np.nan))
