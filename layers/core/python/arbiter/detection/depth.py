"""Vectorised depth walking in floats: every screened candidate at once, with no Python loop over candidates
(only over levels or hops). These floats only choose sizes; the opportunities emitted are re-computed exactly
in Decimal from the books (``arbiter.detection.sizing``).

Arrays here are level-major ([level, candidate]): comparisons against a level's cumulative depth and sums over
levels then run over contiguous rows, which is several times faster in numpy than along a short last axis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arbiter.detection.index import BoolArray, DetectionIndex, FloatArray, IntArray

LADDER = 12
"""Start amounts tried per cycle: the budget, then halved each time (as ``sizing.best_cycle_size`` does)."""
HALVINGS = 0.5 ** np.arange(LADDER)
# Amounts are multiples of a step computed in floats: a hair of slack keeps 3 * 0.1 from flooring to 0.2.
_STEP_SLACK = 1e-9


SHALLOW = 4
"""Levels cumulated first; most candidates' budgets end within them, and the rest of the depth is cumulated
only when some candidate needs it."""


def _count_below(cumulative: FloatArray, x: FloatArray) -> IntArray:
    """Per column, how many of the (ascending) rows of ``cumulative`` are below ``x``: the level ``x`` ends in."""
    below = cumulative < x
    counts: IntArray = np.add.reduce(below.view(np.int8), axis=0, dtype=np.int16).astype(np.int64)
    return counts


class Nodes:
    """Per-level values of K candidates as [L, C, K], turned into the level boundaries [L + 1, C, K]: the first
    ``cumulated`` channels become running sums with a leading zero row (``sums[l, c, k]``: channel c of
    candidate k through its first l levels), the others keep the value of level l (the level a walk that has
    consumed l levels is in). Filled ``SHALLOW`` levels first and the rest on demand (a loop of contiguous row
    adds beats ``np.cumsum`` on these shapes)."""

    def __init__(self, levels: FloatArray, cumulated: int) -> None:
        self.levels, self.cumulated = levels, cumulated
        depth, channels, width = levels.shape
        self.width, self.stride = width, channels * width
        self.sums = np.empty((depth + 1, channels, width))
        self.sums[0, :cumulated] = 0.0
        self.sums[:depth, cumulated:] = levels[:, cumulated:]
        self.sums[depth, cumulated:] = levels[depth - 1, cumulated:]
        self.flat = self.sums.reshape(-1)
        self.filled = 0
        self.fill(min(SHALLOW, depth))

    @property
    def complete(self) -> bool:
        return bool(self.filled == self.levels.shape[0])

    def fill(self, depth: int) -> None:
        sums, levels, c = self.sums, self.levels, self.cumulated
        for level in range(self.filled, depth):
            np.add(sums[level, :c], levels[level, :c], out=sums[level + 1, :c])
        self.filled = max(self.filled, depth)

    def ending(self, channel: int, x: FloatArray, cols: slice) -> IntArray:
        """Flat position of the boundary row where a walk of ``x`` along cumulated ``channel`` is (the level it
        ends in, at most the last filled one), plus the candidate's column: add ``c * width`` for channel c."""
        depth = self.filled
        rows = self.sums[1 : depth + 1, channel, cols]
        level = _count_below(rows if x.ndim == 1 else rows[:, None, :], x)
        np.minimum(level, depth - 1, out=level)
        start = cols.start or 0
        found: IntArray = level * self.stride + np.arange(start, start + rows.shape[-1])
        return found


def floor_to_step(amount: FloatArray, step: FloatArray, significant: BoolArray) -> FloatArray:
    """Truncate to the market's amount precision: a fixed step, or significant digits (``step`` holds the digits
    there, and the step follows the amount's magnitude)."""
    if significant.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            magnitude = np.floor(np.log10(np.where(amount > 0, amount, 1.0)))
        step = np.where(significant, 10.0 ** (magnitude - step + 1), step)
    return np.floor(amount / step + _STEP_SLACK) * step


def _within_limits(
    min_amount: FloatArray, max_amount: FloatArray | None, min_cost: FloatArray, amount: FloatArray, worst: FloatArray
) -> BoolArray:
    ok: BoolArray = amount >= min_amount
    if max_amount is not None:
        ok &= amount <= max_amount
    ok &= amount * worst >= min_cost
    return ok


def _max_amount(index: DetectionIndex, books: IntArray) -> FloatArray | None:
    """The max amount of each book, None when no market sets one (one comparison less per walk)."""
    found = index.max_amount[books]
    return found if np.isfinite(found).any() else None


@dataclass(frozen=True)
class PairSizes:
    amount: FloatArray  # [K], 0 where nothing is worth trading
    profit: FloatArray  # [K], quote currency after both fees; NaN where invalid


def size_pairs(
    index: DetectionIndex,
    buy_books: IntArray,
    sell_books: IntArray,
    bid_prices: FloatArray,
    bid_amounts: FloatArray,
    ask_prices: FloatArray,
    ask_amounts: FloatArray,
    budget: FloatArray,
    sellable: FloatArray | None,
) -> PairSizes:
    """Greedy cross-venue size: every unit whose bid after fee beats its ask after fee, within ``budget`` (quote
    spent before the fee) and ``sellable`` (base), rounded to both markets' steps and checked against limits.
    Book arrays are the snapshot's [B, L]."""
    k = len(buy_books)
    everything = slice(None)
    taker = index.taker.reshape(-1)
    fee_buy, fee_sell = taker[buy_books], taker[sell_books]
    depth = ask_prices.shape[1]
    # Channels: ask amount, ask cost, bid amount, bid proceeds (cumulated); ask price, bid price.
    levels = np.empty((depth, 6, k))
    levels[:, 0] = ask_amounts[buy_books].T
    levels[:, 2] = bid_amounts[sell_books].T
    levels[:, 4] = ask_prices[buy_books].T
    levels[:, 5] = bid_prices[sell_books].T
    np.multiply(levels[:, 4], levels[:, 0], out=levels[:, 1])
    np.multiply(levels[:, 5], levels[:, 2], out=levels[:, 3])
    nodes = Nodes(levels, cumulated=4)
    ap, bp = levels[:, 4], levels[:, 5]
    # Shallow levels suffice when every budget is spent within them and the bids there cover what it could
    # buy at the best ask: deeper levels cannot change the (budget-capped) size.
    shallow = nodes.sums[nodes.filled]
    if not nodes.complete and not ((shallow[1] >= budget) & (shallow[2] * ap[0] >= budget)).all():
        nodes.fill(depth)
    depth = nodes.filled
    ask_eff, bid_eff = ap[:depth] * (1 + fee_buy), bp[:depth] * (1 - fee_sell)
    # Only levels that beat the other side's best can take part.
    deep_a = max(int(_count_below(ask_eff, bid_eff[0]).max(initial=0)), 1)
    deep_b = max(int(_count_below(-bid_eff, -ask_eff[0]).max(initial=0)), 1)
    # Marginal profit falls with size: the best size is the furthest point where some ask level still has a
    # bid level beating it, i.e. max over ask levels i of min(ask depth through i, bid depth that beats i).
    beats = bid_eff[:deep_b, None, :] > ask_eff[None, :deep_a, :]  # [bid level, ask level, K]
    n_beat = np.add.reduce(beats.view(np.int8), axis=0, dtype=np.int16).astype(np.int64)  # [ask level, K]
    cols = np.arange(k)
    reach = np.minimum(nodes.sums[1 : deep_a + 1, 0], nodes.flat[n_beat * nodes.stride + 2 * k + cols])
    # The budget caps the quote spent: the amount it buys.
    at = nodes.ending(1, budget, everything)
    affordable = nodes.flat[at] + (budget - nodes.flat[at + k]) / nodes.flat[at + 4 * k]
    amount = np.minimum(reach.max(axis=0), affordable)
    if sellable is not None:
        amount = np.minimum(amount, sellable)
    amount = floor_to_step(amount, index.amount_step[buy_books], index.significant[buy_books])
    amount = floor_to_step(amount, index.amount_step[sell_books], index.significant[sell_books])
    at_a, at_b = nodes.ending(0, amount, everything), nodes.ending(2, amount, everything)
    worst_a, worst_b = nodes.flat[at_a + 4 * k], nodes.flat[at_b + 5 * k]
    cost = nodes.flat[at_a + k] + (amount - nodes.flat[at_a]) * worst_a
    proceeds = nodes.flat[at_b + 3 * k] + (amount - nodes.flat[at_b + 2 * k]) * worst_b
    profit = proceeds * (1 - fee_sell) - cost * (1 + fee_buy)
    ok = amount > 0
    ok &= _within_limits(
        index.min_amount[buy_books], _max_amount(index, buy_books), index.min_cost[buy_books], amount, worst_a
    )
    ok &= _within_limits(
        index.min_amount[sell_books], _max_amount(index, sell_books), index.min_cost[sell_books], amount, worst_b
    )
    return PairSizes(amount=np.where(ok, amount, 0.0), profit=np.where(ok, profit, np.nan))


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
    usd: FloatArray,
) -> CycleSizes:
    """Every cycle at every rung of the start-amount ladder at once ([rung, K]): each hop converts what the
    previous one returned through its book's depth, rounded to its precision, fee charged, limits checked.
    ``usd`` (per asset, NaN where unknown) only bounds how many levels the walk needs to look at."""
    k = len(cycles)
    books = index.cycle_books[cycles].T.reshape(-1)  # [3K], hop-major
    sells = index.cycle_sells[cycles].T.reshape(-1)
    depth = bid_prices.shape[1]
    levels = np.empty((depth, 3, 3 * k))  # base amount, quote cost (cumulated); price
    levels[:, 2] = np.where(sells[:, None], bid_prices[books], ask_prices[books]).T
    levels[:, 0] = np.where(sells[:, None], bid_amounts[books], ask_amounts[books]).T
    np.multiply(levels[:, 2], levels[:, 0], out=levels[:, 1])
    nodes = Nodes(levels, cumulated=2)
    # What flows through a hop is worth about the start budget; twice that in USD bounds the levels any rung
    # can reach (an unknown USD value counts as zero, so its book is walked whole). A rung that still walks
    # past the bound (a rate far from one) sends the walk round again on the whole depth.
    budget_usd = np.tile(2 * np.nan_to_num(budget * usd[index.cycle_start_asset[cycles]], nan=np.inf), 3)
    hop_usd = np.nan_to_num(usd[index.quote_asset[books]], nan=0.0)
    if not nodes.complete and not (nodes.sums[nodes.filled, 1] * hop_usd >= budget_usd).all():
        nodes.fill(depth)
    walked = _walk_cycles(index, books, sells, nodes, budget)
    if walked is None:
        nodes.fill(depth)
        walked = _walk_cycles(index, books, sells, nodes, budget)
        assert walked is not None
    return walked


def _walk_cycles(
    index: DetectionIndex, books: IntArray, sells: BoolArray, nodes: Nodes, budget: FloatArray
) -> CycleSizes | None:
    """None when a rung needs more depth than ``nodes`` holds so far."""
    k = len(books) // 3
    width = 3 * k
    truncated = not nodes.complete
    flat, end = nodes.flat, nodes.sums[nodes.filled]
    fee = index.taker.reshape(-1)[books]
    step, significant = index.amount_step[books], index.significant[books]
    min_amount, max_amount, min_cost = index.min_amount[books], _max_amount(index, books), index.min_cost[books]
    held = budget * HALVINGS[:, None]  # [rung, K]
    spent = held
    ok = np.ones(held.shape, dtype=bool)
    for hop in range(3):
        part = slice(hop * k, (hop + 1) * k)
        hop_sells, hop_fee, total = sells[part], fee[part], end[0, part]
        amount = held
        if not hop_sells.all():  # buying: what the held quote buys, the fee set aside first
            budget_q = held / (1 + hop_fee)
            if truncated and ((budget_q > end[1, part]) & ~hop_sells).any():
                return None
            at = nodes.ending(1, budget_q, part)
            bought = flat[at] + (budget_q - flat[at + width]) / flat[at + 2 * width]
            amount = np.where(hop_sells, held, np.minimum(bought, total))
        amount = floor_to_step(amount, step[part], significant[part])
        if truncated and (amount > total).any():
            return None
        at = nodes.ending(0, amount, part)
        worst = flat[at + 2 * width]
        quote = flat[at + width] + (amount - flat[at]) * worst
        ok &= amount > 0
        ok &= amount <= total
        ok &= _within_limits(
            min_amount[part], None if max_amount is None else max_amount[part], min_cost[part], amount, worst
        )
        if hop == 0:
            spent = np.where(hop_sells, amount, quote * (1 + hop_fee))
        held = np.where(hop_sells, quote * (1 - hop_fee), amount)
    profit = np.where(ok, held - spent, -np.inf)
    rung = profit.argmax(axis=0)
    best = profit[rung, np.arange(k)]
    return CycleSizes(rung=rung, profit=np.where(best > 0, best, np.nan))
