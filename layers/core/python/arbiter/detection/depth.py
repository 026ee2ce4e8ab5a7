"""Vectorised depth walking in floats: every screened candidate at once, with no Python loop over candidates
(only over levels or hops). These floats only choose sizes; the opportunities emitted are re-computed exactly
in Decimal from the books (``arbiter.detection.sizing``).

Arrays here are level-major ([level, channel, candidate]): comparisons against a level's cumulative depth and
sums over levels then run over contiguous rows. With a few hundred candidates, numpy's cost per call
dominates, so the code keeps the number of array operations low rather than their size."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arbiter.detection.index import (
    MAX_AMOUNT,
    MIN_AMOUNT,
    MIN_COST,
    STEP,
    TAKER,
    BoolArray,
    DetectionIndex,
    FloatArray,
    IntArray,
)

LADDER = 12
"""Start amounts tried per cycle: the budget, then halved each time (as ``sizing.best_cycle_size`` does)."""
HALVINGS = 0.5 ** np.arange(LADDER)
# Amounts are multiples of a step computed in floats: a relative slack of a few ulps (above the error of
# amount / step, below the precision of any real amount) keeps 0.3 / 0.1 = 2.9999999999999996 from flooring
# to 2.
_STEP_SLACK = 1 + 1e-15
SHALLOW = 4
"""Levels cumulated first; most candidates' budgets end within them, and the rest of the depth is cumulated
only when some candidate needs it."""


def _count_below(cumulative: FloatArray, x: FloatArray) -> IntArray:
    """Per column, how many of the (ascending) rows of ``cumulative`` are below ``x``: the level ``x`` ends in."""
    below = cumulative < x
    counts: IntArray = np.add.reduce(below.view(np.int8), axis=0, dtype=np.int64)
    return counts


class Nodes:
    """Per-level values of K candidates as [L, C, K] (``levels``, contiguous), with the running sums of the
    first ``cumulated`` channels over levels as [L + 1, C, K] (``sums[l, c, k]``: channel c of candidate k
    through its first l levels, a leading zero row). Both share one flat layout, so the position ``ending``
    returns reads the sums through ``flat`` and the level's own values (its price) through ``values``. Filled
    ``SHALLOW`` levels first and the rest on demand (a loop of contiguous row adds beats ``np.cumsum`` on these
    shapes)."""

    def __init__(self, levels: FloatArray, cumulated: int) -> None:
        self.levels, self.cumulated = levels, cumulated
        depth, channels, width = levels.shape
        self.width, self.stride = width, channels * width
        self.sums = np.empty((depth + 1, channels, width))
        self.sums[0, :cumulated] = 0.0
        self.flat, self.values = self.sums.reshape(-1), levels.reshape(-1)
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

    def ending(self, channel: int, x: FloatArray, cols: IntArray, part: slice) -> IntArray:
        """Flat position in ``sums`` of the boundary where a walk of ``x`` along cumulated ``channel`` stands
        (the start of the level it ends in, at most the last filled one), channel 0; add ``c * width`` for
        channel c. ``cols`` are the candidates' columns, ``part`` the same as a slice."""
        # Counting only the inner boundaries (1 .. filled - 1) clamps a walk past the filled depth to its last
        # level.
        rows = self.sums[1 : self.filled, channel, part]
        level = _count_below(rows if x.ndim == 1 else rows[:, None, :], x)
        level *= self.stride
        level += cols
        return level


def _floor(amount: FloatArray, step: FloatArray, significant: BoolArray | None) -> FloatArray:
    """Truncate to the market's amount precision: a fixed step, or significant digits where ``significant``
    (``step`` holds the digits there, and the step follows the amount's magnitude)."""
    if significant is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            magnitude = np.floor(np.log10(np.where(amount > 0, amount, 1.0)))
        step = np.where(significant, 10.0 ** (magnitude - step + 1), step)
    units = amount / step
    units *= _STEP_SLACK
    np.floor(units, out=units)
    units *= step
    return units


def _limits(params: FloatArray, amount: FloatArray, worst: FloatArray, with_max: bool) -> BoolArray:
    """A positive amount (MIN_AMOUNT is never below the smallest positive float), min amount, min cost (at the
    worst price walked) and, where any market sets one, max amount."""
    ok: BoolArray = amount >= params[MIN_AMOUNT]
    ok &= amount * worst >= params[MIN_COST]
    if with_max:
        ok &= amount <= params[MAX_AMOUNT]
    return ok


@dataclass(frozen=True)
class PairSizes:
    amount: FloatArray  # [K], 0 where nothing is worth trading
    profit: FloatArray  # [K], quote currency after both fees; NaN where invalid


def size_pairs(
    index: DetectionIndex,
    buy_books: IntArray,
    sell_books: IntArray,
    prices: FloatArray,
    amounts: FloatArray,
    budget: FloatArray,
    sellable: FloatArray | None,
) -> PairSizes:
    """Greedy cross-venue size: every unit whose bid after fee beats its ask after fee, within ``budget`` (quote
    spent before the fee) and ``sellable`` (base), rounded to both markets' steps and checked against limits.
    ``prices`` and ``amounts`` are the snapshot's both-sided [2B, L] arrays."""
    k = len(buy_books)
    cols = np.arange(k)
    everything = slice(None)
    at_buy, at_sell = np.take(index.params, buy_books, axis=1), np.take(index.params, sell_books, axis=1)
    buy_fee, sell_fee = 1 + at_buy[TAKER], 1 - at_sell[TAKER]
    depth = prices.shape[1]
    rows = np.concatenate([buy_books, sell_books + len(prices) // 2])  # the asks of one, the bids of the other
    # Channels: ask amount, bid amount, ask cost, bid proceeds (cumulated); ask price, bid price.
    levels = np.empty((depth, 6, k))
    levels[:, 0:2] = amounts[rows].reshape(2, k, depth).transpose(2, 0, 1)
    levels[:, 4:6] = prices[rows].reshape(2, k, depth).transpose(2, 0, 1)
    np.multiply(levels[:, 4:6], levels[:, 0:2], out=levels[:, 2:4])
    nodes = Nodes(levels, cumulated=4)
    ap, bp = levels[:, 4], levels[:, 5]
    # Shallow levels suffice when every budget is spent within them and the bids there cover what it could
    # buy at the best ask: deeper levels cannot change the (budget-capped) size.
    shallow = nodes.sums[nodes.filled]
    if not nodes.complete and not ((shallow[2] >= budget) & (shallow[1] * ap[0] >= budget)).all():
        nodes.fill(depth)
    depth = nodes.filled
    ask_eff, bid_eff = ap[:depth] * buy_fee, bp[:depth] * sell_fee
    # Marginal profit falls with size: the best size is the furthest point where some ask level still has a
    # bid level beating it, i.e. max over ask levels i of min(ask depth through i, bid depth that beats i).
    beats = bid_eff[:, None, :] > ask_eff[None, :, :]  # [bid level, ask level, K]
    n_beat = np.add.reduce(beats.view(np.int8), axis=0, dtype=np.int64)  # bid levels beating each ask level
    n_beat *= nodes.stride
    n_beat += cols + k
    reach = np.minimum(nodes.sums[1 : depth + 1, 0], nodes.flat[n_beat]).max(axis=0)
    # The budget caps the quote spent: the amount it buys.
    at = nodes.ending(2, budget, cols, everything)
    affordable = (budget - nodes.flat[at + 2 * k]) / nodes.values[at + 4 * k]
    affordable += nodes.flat[at]
    amount = np.minimum(reach, affordable)
    if sellable is not None:
        np.minimum(amount, sellable, out=amount)
    significant = index.significant if index.any_significant else None
    amount = _floor(amount, at_buy[STEP], None if significant is None else significant[buy_books])
    amount = _floor(amount, at_sell[STEP], None if significant is None else significant[sell_books])
    at_a, at_b = nodes.ending(0, amount, cols, everything), nodes.ending(1, amount, cols, everything)
    worst_a, worst_b = nodes.values[at_a + 4 * k], nodes.values[at_b + 5 * k]
    cost = (amount - nodes.flat[at_a]) * worst_a
    cost += nodes.flat[at_a + 2 * k]
    proceeds = (amount - nodes.flat[at_b + k]) * worst_b
    proceeds += nodes.flat[at_b + 3 * k]
    profit = proceeds * sell_fee - cost * buy_fee
    ok = _limits(at_buy, amount, worst_a, index.any_max_amount)
    ok &= _limits(at_sell, amount, worst_b, index.any_max_amount)
    return PairSizes(amount=np.where(ok, amount, 0.0), profit=np.where(ok, profit, np.nan))


@dataclass(frozen=True)
class CycleSizes:
    rung: IntArray  # [K] the ladder rung chosen (start = budget / 2**rung)
    profit: FloatArray  # [K] start asset after fees; NaN where no rung earns


def size_cycles(
    index: DetectionIndex,
    cycles: IntArray,
    prices: FloatArray,
    amounts: FloatArray,
    budget: FloatArray,
    usd: FloatArray,
) -> CycleSizes:
    """Every cycle at every rung of the start-amount ladder at once ([rung, K]): each hop converts what the
    previous one returned through its book's depth, rounded to its precision, fee charged, limits checked.
    ``prices`` and ``amounts`` are the snapshot's both-sided [2B, L] arrays. ``usd`` (per asset, 0 where
    unknown) only bounds how many levels the walk needs to look at."""
    k = len(cycles)
    books = index.cycle_books[cycles].T.reshape(-1)  # [3K], hop-major
    sells = index.cycle_sells[cycles].T.reshape(-1)
    rows = index.cycle_rows[cycles].T.reshape(-1)  # the side of the book each hop takes from
    depth = prices.shape[1]
    levels = np.empty((depth, 3, 3 * k))  # base amount, quote cost (cumulated); price
    levels[:, 2] = prices[rows].T
    levels[:, 0] = amounts[rows].T
    np.multiply(levels[:, 2], levels[:, 0], out=levels[:, 1])
    nodes = Nodes(levels, cumulated=2)
    # What flows through a hop is worth about the start budget; twice that in USD bounds the levels any rung
    # can reach (a hop whose quote has no USD value never looks reached, so the depth is walked whole; a start
    # without one has no budget). A rung that still walks past the bound (a rate far from one) sends the walk
    # round again on the whole depth.
    budget_usd = budget * usd[index.cycle_start_asset[cycles]]
    budget_usd *= 2
    hop_usd = usd[index.quote_asset[books]]
    reached = nodes.sums[nodes.filled, 1] * hop_usd
    if not nodes.complete and not (reached.reshape(3, k) >= budget_usd).all():
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
    flat, values, end = nodes.flat, nodes.values, nodes.sums[nodes.filled]
    params = np.take(index.params, books, axis=1)
    significant = index.significant[books] if index.any_significant else None
    held = budget * HALVINGS[:, None]  # [rung, K]
    spent = held
    ok = held > 0
    hop_sides = sells.reshape(3, k)
    sides_all: BoolArray = np.all(hop_sides, axis=1)
    sides_any: BoolArray = np.any(hop_sides, axis=1)
    all_sell, any_sell = [bool(side) for side in sides_all], [bool(side) for side in sides_any]
    columns = np.arange(width)
    for hop in range(3):
        part = slice(hop * k, (hop + 1) * k)
        cols = columns[part]
        hop_sells, hop_params, total = hop_sides[hop], params[:, part], end[0, part]
        fee = hop_params[TAKER]
        buying, selling = not any_sell[hop], all_sell[hop]
        amount, bought_at = held, None
        if not selling:  # buying: what the held quote buys, the fee set aside first
            budget_q = held / (1 + fee)
            # (The first hop spends at most the budget, which the shallow levels cover by construction.)
            if truncated and hop and ((budget_q > end[1, part]) & ~hop_sells).any():
                return None
            bought_at = nodes.ending(1, budget_q, cols, part)
            bought = (budget_q - flat[bought_at + width]) / values[bought_at + 2 * width]
            bought += flat[bought_at]
            np.minimum(bought, total, out=bought)
            amount = bought if buying else np.where(hop_sells, held, bought)
        amount = _floor(amount, hop_params[STEP], None if significant is None else significant[part])
        within = amount <= total
        if truncated and not within.all():
            return None
        at = nodes.ending(0, amount, cols, part) if bought_at is None or not buying else bought_at
        if at is bought_at:
            level_start = flat[at]
            if not ((amount > level_start) | (level_start == 0)).all():  # rounding left the level: walk again
                at = nodes.ending(0, amount, cols, part)
        worst = values[at + 2 * width]
        quote = (amount - flat[at]) * worst
        quote += flat[at + width]
        ok &= within
        ok &= _limits(hop_params, amount, worst, index.any_max_amount)
        if buying:
            after = amount
        elif selling:
            after = quote * (1 - fee)
        else:
            after = np.where(hop_sells, quote * (1 - fee), amount)
        if hop == 0:
            spent = (
                amount if selling else quote * (1 + fee) if buying else np.where(hop_sells, amount, quote * (1 + fee))
            )
        held = after
    profit = np.where(ok, held - spent, -np.inf)
    rung = profit.argmax(axis=0)
    best = profit[rung, np.arange(k)]
    return CycleSizes(rung=rung, profit=np.where(best > 0, best, np.nan))
