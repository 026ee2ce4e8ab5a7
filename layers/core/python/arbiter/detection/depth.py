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
    FEE,
    MAX_AMOUNT,
    MIN_AMOUNT,
    MIN_COST,
    STEP,
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
_DEPTH_SLACK = 1 + 1e-12
SHALLOW = 3
"""Levels cumulated first; most candidates' budgets end within them (on the benchmark universe, all of them over
60 ticks), and the rest of the depth is cumulated only when some candidate needs it."""


class Nodes:
    """The depth of W columns (one book side each) as one flat array ``sums`` [L + 1, 3, W]: channels 0 and 1
    hold the base amount and the quote cost through the first l levels (row l, a leading zero row), channel 2
    the price of level l, the level that starts at that boundary. Where a walk stands (``at``) then reads as
    one gather of a boundary's amount, cost and price. Gathered and cumulated ``SHALLOW`` levels first and the
    rest on demand (a loop of contiguous row adds beats ``np.cumsum`` on these shapes)."""

    def __init__(self, prices: FloatArray, amounts: FloatArray, rows: IntArray, columns: IntArray) -> None:
        """``rows``: the W rows of the snapshot's [2B, L] ``prices`` and ``amounts`` to walk; ``columns``:
        0 .. W - 1."""
        depth, width = prices.shape[1], len(rows)
        # Whole rows: a gather of contiguous rows beats gathering only their first levels.
        self.prices, self.amounts = prices.take(rows, axis=0), amounts.take(rows, axis=0)
        self.depth, self.width, self.stride = depth, width, 3 * width
        self.sums = np.empty((depth + 1, 3, width))
        self.sums[0, :2] = 0.0
        self.levels = np.empty((depth, 2, width))  # amount, cost per level
        self.flat = self.sums.reshape(-1)
        # Flat position of each channel of each column at boundary 0.
        self.base = _CHANNELS * width + columns
        self.gathered = self.filled = 0
        self.fill(min(SHALLOW, depth))

    @property
    def complete(self) -> bool:
        return bool(self.filled == self.depth)

    def fill(self, depth: int) -> None:
        sums, levels, start = self.sums, self.levels, self.gathered
        if depth > start:
            sums[start:depth, 2] = self.prices[:, start:depth].T
            levels[start:depth, 0] = self.amounts[:, start:depth].T
            np.multiply(levels[start:depth, 0], sums[start:depth, 2], out=levels[start:depth, 1])
            self.gathered = depth
        for level in range(self.filled, depth):
            np.add(sums[level, :2], levels[level], out=sums[level + 1, :2])
        self.filled = max(self.filled, depth)

    @property
    def end(self) -> FloatArray:
        """[2, W] amount and cost of the whole filled depth."""
        end: FloatArray = self.sums[self.filled, :2]
        return end

    def at(self, channel: int, x: FloatArray, part: slice) -> FloatArray:
        """[3, *x.shape]: where a walk of ``x`` along cumulated ``channel`` of the columns ``part`` stands, the
        start of the level it ends in (at most the last filled one): amount and cost through that boundary and
        the level's price. ``x`` is [K] or [R, K] for the K columns of ``part``."""
        # Counting only the inner boundaries (1 .. filled - 1) clamps a walk past the filled depth to its last
        # level.
        bounds = self.sums[1 : self.filled, channel, part]
        base = self.base[:, part]
        if x.ndim > 1:
            bounds, base = bounds[:, None, :], base[:, None, :]
        below = (bounds < x).view(np.uint8)
        inner = len(below)
        if inner > 3:
            level = np.add.reduce(below, axis=0)
        elif inner:  # a few row adds beat a reduction over the first axis
            level = below[0] + below[1] if inner > 1 else below[0]
            if inner == 3:
                level += below[2]
        else:
            level = np.zeros(x.shape, dtype=np.uint8)
        position = np.multiply(level, self.stride, dtype=np.int64)
        found: FloatArray = self.flat.take(position + base)
        return found


_CHANNELS = np.arange(3, dtype=np.int64)[:, None]
_NO_RUNG = np.zeros(0, dtype=np.int64)


def _columns(index: DetectionIndex, n: int) -> IntArray:
    """0 .. n - 1, from the index's preallocated range when it is long enough."""
    return index.columns[:n] if n <= len(index.columns) else np.arange(n, dtype=np.int64)


def _floor(
    amount: FloatArray, step: FloatArray, significant: BoolArray | None, out: FloatArray | None = None
) -> FloatArray:
    """Truncate to the market's amount precision: a fixed step, or significant digits where ``significant``
    (``step`` holds the digits there, and the step follows the amount's magnitude)."""
    if significant is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            magnitude = np.floor(np.log10(np.where(amount > 0, amount, 1.0)))
        step = np.where(significant, 10.0 ** (magnitude - step + 1), step)
    # (The slack divides the [K] steps rather than multiplying the [R, K] quotients.)
    units: FloatArray = np.divide(amount, step / _STEP_SLACK, out=out)
    np.floor(units, out=units)
    units *= step
    return units


def _limits(params: FloatArray, amount: FloatArray, notional: FloatArray, with_max: bool) -> BoolArray:
    """A positive amount (MIN_AMOUNT is never below the smallest positive float), min amount, min cost
    (``notional``: the amount at the worst price walked) and, where any market sets one, max amount."""
    ok: BoolArray = amount >= params[MIN_AMOUNT]
    ok &= notional >= params[MIN_COST]
    if with_max:
        ok &= amount <= params[MAX_AMOUNT]
    return ok


@dataclass(frozen=True)
class PairSizes:
    amount: FloatArray  # [K], meaningless where ``profit`` is NaN
    profit: FloatArray  # [K], quote currency after both fees; NaN where invalid


def size_candidates(
    index: DetectionIndex,
    pairs: IntArray,
    cycles: IntArray,
    prices: FloatArray,
    amounts: FloatArray,
    budgets: tuple[FloatArray, FloatArray],
    sellable: FloatArray | None,
) -> tuple[PairSizes, CycleSizes]:
    """Size the given pairs and cycles through the snapshot's both-sided [2B, L] ``prices`` and ``amounts``, in
    one set of walk columns: the pairs' asks, their bids, then the cycles' first, second and third hops.
    ``budgets``: the pairs' (quote spent before the fee) and the cycles' (start asset); ``sellable``: base the
    pairs may sell at most."""
    if not len(pairs) and not len(cycles):
        return PairSizes(amount=np.zeros(0), profit=np.zeros(0)), CycleSizes(rung=_NO_RUNG, profit=np.zeros(0))
    rows = np.concatenate([index.pair_rows[:, pairs].reshape(-1), index.cycle_hop_rate[:, cycles].reshape(-1)])
    params = index.row_params.take(rows, axis=1)
    significant = index.row_significant[rows] if index.any_significant else None
    columns = _columns(index, len(rows))
    nodes = Nodes(prices, amounts, rows, columns)
    cycle_part = slice(2 * len(pairs), None)
    if len(cycles) and not nodes.complete:
        # Depth and rounding only lose: what reaches a hop is at most the budget times the top-of-book rates
        # (after fees) of the hops before it. When the filled depth covers that on every hop (the amount a
        # hop sells, or the quote it spends before its fee), no rung walks past it; else the whole depth.
        price, fee = nodes.sums[0, 2, cycle_part], params[FEE, cycle_part]
        sells = index.cycle_hop_sells[:, cycles].reshape(-1)
        end = nodes.end[:, cycle_part]
        rate = price * fee  # quote kept per base sold, paid per base bought
        capacity = np.where(sells, end[0], end[1] * fee).reshape(3, -1)
        np.divide(1.0, rate, out=rate, where=~sells)
        rate = rate.reshape(3, -1)
        reaching = np.empty_like(capacity)
        np.multiply(budgets[1], 1 + 1e-9, out=reaching[0])  # (a margin over the float walk's rounding)
        np.multiply(reaching[0], rate[0], out=reaching[1])
        np.multiply(reaching[1], rate[1], out=reaching[2])
        if not (reaching <= capacity).all():
            nodes.fill(nodes.depth)
    pair_sizes = _size_pairs(index, nodes, params, significant, columns, budgets[0], sellable)
    if not len(cycles):
        return pair_sizes, CycleSizes(rung=_NO_RUNG, profit=np.zeros(0))
    walk = _CycleWalk(
        index,
        params[:, cycle_part],
        None if significant is None else significant[cycle_part],
        index.cycle_hop_sells[:, cycles],
        budgets[1],
        cycle_part.start,
    )
    profit = walk.profit(nodes)
    rung = profit.argmax(axis=0)
    best = profit[rung, _columns(index, len(cycles))]
    return pair_sizes, CycleSizes(rung=rung, profit=np.where(best > 0, best, np.nan))


def _size_pairs(
    index: DetectionIndex,
    nodes: Nodes,
    params: FloatArray,
    significant: BoolArray | None,
    columns: IntArray,
    budget: FloatArray,
    sellable: FloatArray | None,
) -> PairSizes:
    """Greedy cross-venue size: every unit whose bid after fee beats its ask after fee, within ``budget`` (quote
    spent before the fee) and ``sellable`` (base), rounded to both markets' steps and checked against limits.
    The K pairs' asks are the walk's first K columns, their bids the next K."""
    k = len(budget)
    if not k:
        return PairSizes(amount=np.zeros(0), profit=np.zeros(0))
    asks, bids, both_sides = slice(0, k), slice(k, 2 * k), slice(0, 2 * k)
    fee = params[FEE, both_sides]  # quote paid per quote of asks taken, kept per quote of bids hit
    # Shallow levels suffice when every budget is spent within them and the bids there cover what it could
    # buy at the best ask: deeper levels cannot change the (budget-capped) size.
    end = nodes.end
    if not nodes.complete and not ((end[1, asks] >= budget) & (end[0, bids] * nodes.sums[0, 2, asks] >= budget)).all():
        nodes.fill(nodes.depth)
    depth = nodes.filled
    effective = nodes.sums[:depth, 2, both_sides] * fee  # [level, column]
    # Marginal profit falls with size: the best size is the furthest point where some ask level still has a
    # bid level beating it, i.e. max over ask levels i of min(ask depth through i, bid depth that beats i).
    beats = effective[:, None, bids] > effective[None, :, asks]  # [bid level, ask level, K]
    n_beat = np.add.reduce(beats.view(np.int8), axis=0, dtype=np.int64)  # bid levels beating each ask level
    n_beat *= nodes.stride
    n_beat += columns[bids]
    reach = np.minimum(nodes.sums[1 : depth + 1, 0, asks], nodes.flat.take(n_beat)).max(axis=0)
    # The budget caps the quote spent: the amount it buys.
    level_amount, level_cost, level_price = nodes.at(1, budget, asks)
    affordable = budget - level_cost
    affordable /= level_price
    affordable += level_amount
    amount = np.minimum(reach, affordable)
    if sellable is not None:
        np.minimum(amount, sellable, out=amount)
    _floor(amount, params[STEP, asks], None if significant is None else significant[asks], out=amount)
    _floor(amount, params[STEP, bids], None if significant is None else significant[bids], out=amount)
    both = np.concatenate([amount, amount])  # each column's amount: bought on the ask, sold on the bid
    level_amount, level_cost, level_price = nodes.at(0, both, both_sides)
    quote = both - level_amount
    quote *= level_price
    quote += level_cost
    ok = _limits(params[:, both_sides], both, both * level_price, index.any_max_amount)
    quote *= fee
    profit = quote[bids] - quote[asks]
    return PairSizes(amount=amount, profit=np.where(ok[asks] & ok[bids], profit, np.nan))


@dataclass(frozen=True)
class CycleSizes:
    rung: IntArray  # [K] the ladder rung chosen (start = budget / 2**rung)
    profit: FloatArray  # [K] start asset after fees; NaN where no rung earns


class _CycleWalk:
    """Every cycle at every rung of the start-amount ladder at once ([rung, K]): each hop converts what the
    previous one returned through its book's depth, rounded to its precision, fee charged; each hop's amounts
    and notionals are kept as [hop, rung, K] so that the limits are checked once for all hops. The K cycles'
    first hops are the walk's columns from ``offset``, then their second hops, then their third."""

    def __init__(
        self,
        index: DetectionIndex,
        params: FloatArray,
        significant: BoolArray | None,
        sells: BoolArray,
        budget: FloatArray,
        offset: int,
    ) -> None:
        k = len(budget)
        self.index, self.k, self.sells, self.budget, self.offset = index, k, sells, budget, offset
        self.params = params.reshape(len(params), 3, 1, k)  # [parameter, hop, 1, K]
        self.significant = None if significant is None else significant.reshape(3, k)
        selling: list[int] = np.add.reduce(sells, axis=1, dtype=np.int64).tolist()  # per hop, cycles that sell
        self.buying, self.selling = [n == 0 for n in selling], [n == k for n in selling]

    def profit(self, nodes: Nodes) -> FloatArray:
        """[R, K] profit of every rung, -inf where some hop fails. ``nodes`` hold as much depth as any rung can
        walk (else a walk past the filled depth would be clamped to its last level)."""
        k, params, index = self.k, self.params, self.index
        end = nodes.end[:, self.offset : self.offset + 3 * k].reshape(2, 3, 1, k)
        start = self.budget * HALVINGS[:, None]  # [R, K]
        amounts, notionals = np.empty((3, *start.shape)), np.empty((3, *start.shape))
        held = spent = start
        for hop in range(3):
            part = slice(self.offset + hop * k, self.offset + (hop + 1) * k)
            step, fee, total = params[STEP, hop], params[FEE, hop], end[0, hop]
            significant = None if self.significant is None else self.significant[hop]
            buying, selling, sells = self.buying[hop], self.selling[hop], self.sells[hop]
            amount = amounts[hop]
            if selling:
                _floor(held, step, significant, out=amount)
                walked = None
            else:  # buying: what the held quote buys, the fee set aside first
                spend = held / fee
                level_amount, level_cost, level_price = walked = nodes.at(1, spend, part)
                bought = spend - level_cost
                bought /= level_price
                bought += level_amount
                np.minimum(bought, total, out=bought)
                if not buying:
                    np.copyto(bought, held, where=sells)
                _floor(bought, step, significant, out=amount)
                # Rounding may leave the level the budget ended in (or the hop sells for some cycles): walk
                # again. A level-0 walk rounded to nothing fails its minimum whatever the walk.
                if not buying or not (amount > level_amount).all():
                    walked = None
            if walked is None:
                level_amount, level_cost, level_price = nodes.at(0, amount, part)
            np.multiply(amount, level_price, out=notionals[hop])
            if buying and hop:  # what a later buy costs is spent already: only its amount goes on
                held = amount
                continue
            quote = amount - level_amount
            quote *= level_price
            quote += level_cost
            quote *= fee  # paid for what is bought, kept of what is sold
            if hop == 0:
                spent = quote if buying else amount if selling else np.where(sells, amount, quote)
            held = amount if buying else quote if selling else np.where(sells, quote, amount)
        ok = _limits(params, amounts, notionals, index.any_max_amount)
        # A sell of more than the book holds. (Rounding a buy of the whole book up to its step, by the slack,
        # may land a hair above the book's float total: that is not a sell past the depth.)
        ok &= amounts <= end[0] * _DEPTH_SLACK
        valid = np.logical_and.reduce(ok, axis=0)
        profit: FloatArray = np.where(valid, held - spent, -np.inf)
        return profit
