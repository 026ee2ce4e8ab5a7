"""A seeded market model that produces order books for every (venue, symbol) of a simulated universe.

Prices co-move: every asset follows a log random walk driven by a common market factor plus its own noise,
and a symbol's mid is the ratio of its assets' prices. Each venue adds a small independent deviation (AR(1))
and, now and then, a dislocation: a shock to one venue's price of one symbol that decays over a few ticks.
A dislocation opens real arbitrage (against the same symbol elsewhere, and around the triangles on its venue)
and closes again as it decays. Books are built in integer ticks, so levels are exactly on the market's
precision, strictly sorted and never crossed. Same seed, same books.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

import numpy as np
import numpy.typing as npt

from arbiter.markets import USD_STABLE
from arbiter.markets.precision import amount_step, price_step
from arbiter.models.order_book import BookLevel, OrderBook
from arbiter.models.symbols import base_and_quote
from arbiter.settings import SimulationSettings
from arbiter.simulation.universe import SimulatedUniverse, build_universe

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MARKET_VOLATILITY_PER_TICK = 2.0e-4
IDIOSYNCRATIC_VOLATILITY_PER_TICK = 1.5e-4
MARKET_BETA = 0.8
VENUE_NOISE_PERSISTENCE = 0.9
VENUE_NOISE_STDEV = 1.0e-4
MAX_BOOK_LATENCY_MS = 40


@dataclass(frozen=True)
class BookFrame:
    """One snapshot of every book, as arrays indexed [venue, symbol, level]. Prices and sizes are integer
    counts of each market's tick and amount step; unlisted (venue, symbol) cells hold zeros."""

    universe: SimulatedUniverse
    tick_index: int
    clock_ms: int
    listed: BoolArray
    price_tick: FloatArray  # [V, S]
    size_step: FloatArray  # [V, S]
    exact_steps: Mapping[tuple[int, int], tuple[Decimal, Decimal]]  # (price tick, amount step) per cell
    bid_ticks: IntArray  # [V, S, L], descending along L
    ask_ticks: IntArray  # [V, S, L], ascending along L
    bid_steps: IntArray  # [V, S, L]
    ask_steps: IntArray  # [V, S, L]
    timestamps: IntArray  # [V, S]
    dislocation: FloatArray  # [V, S], log-price offset of open dislocations
    open_dislocations: int

    @cached_property
    def bid_prices(self) -> FloatArray:
        return np.asarray(self.bid_ticks * self.price_tick[..., None], dtype=np.float64)

    @cached_property
    def ask_prices(self) -> FloatArray:
        return np.asarray(self.ask_ticks * self.price_tick[..., None], dtype=np.float64)

    @cached_property
    def bid_sizes(self) -> FloatArray:
        return np.asarray(self.bid_steps * self.size_step[..., None], dtype=np.float64)

    @cached_property
    def ask_sizes(self) -> FloatArray:
        return np.asarray(self.ask_steps * self.size_step[..., None], dtype=np.float64)

    @property
    def book_count(self) -> int:
        return int(self.listed.sum())

    def order_book(self, venue: str, symbol: str) -> OrderBook:
        """The validated ``OrderBook`` of one venue and symbol, with exact Decimal prices and sizes."""
        v, s = self.universe.venues.index(venue), self.universe.symbols.index(symbol)
        if not self.listed[v, s]:
            raise KeyError(f"{venue} {symbol}: not listed in the simulated universe")
        tick, step = self.exact_steps[(v, s)]
        return OrderBook(
            venue=venue,
            symbol=symbol,
            bids=tuple(
                BookLevel(price=int(p) * tick, amount=int(a) * step)
                for p, a in zip(self.bid_ticks[v, s], self.bid_steps[v, s], strict=True)
            ),
            asks=tuple(
                BookLevel(price=int(p) * tick, amount=int(a) * step)
                for p, a in zip(self.ask_ticks[v, s], self.ask_steps[v, s], strict=True)
            ),
            timestamp=int(self.timestamps[v, s]),
        )

    def order_books(self) -> list[OrderBook]:
        return [
            self.order_book(venue, symbol)
            for v, venue in enumerate(self.universe.venues)
            for s, symbol in enumerate(self.universe.symbols)
            if self.listed[v, s]
        ]


class MarketModel:
    def __init__(self, universe: SimulatedUniverse, settings: SimulationSettings) -> None:
        self.universe = universe
        self.settings = settings
        self._rng = np.random.default_rng(settings.seed + 1)
        venues, symbols = universe.venues, universe.symbols
        n_venues, n_symbols, levels = len(venues), len(symbols), settings.levels

        assets = sorted({a for s in symbols for a in base_and_quote(s)})
        asset_index = {a: i for i, a in enumerate(assets)}
        self._base = np.array([asset_index[base_and_quote(s)[0]] for s in symbols])
        self._quote = np.array([asset_index[base_and_quote(s)[1]] for s in symbols])
        self._log_price = np.log(np.array([universe.reference_prices_usd[a] for a in assets]))
        stable = np.array([a in USD_STABLE for a in assets])
        self._asset_volatility = np.where(stable, 0.0, 1.0)

        self.listed = np.array([[universe.listed(v, s) for s in symbols] for v in venues], dtype=bool)
        mid0 = np.exp(self._log_price[self._base] - self._log_price[self._quote])
        self.price_tick = np.ones((n_venues, n_symbols))
        self.size_step = np.ones((n_venues, n_symbols))
        self.exact_steps: dict[tuple[int, int], tuple[Decimal, Decimal]] = {}
        for (venue, symbol), market in universe.catalog.items():
            v, s = venues.index(venue), symbols.index(symbol)
            # Significant-digit markets get the tick at the starting price's magnitude.
            tick = price_step(market, Decimal(repr(float(mid0[s]))))
            step = amount_step(market, Decimal(1))
            self.exact_steps[(v, s)] = (tick, step)
            self.price_tick[v, s], self.size_step[v, s] = float(tick), float(step)

        rng = self._rng
        # Per-venue liquidity: half-spread in bps and depth in USD per level; alts are thinner and wider.
        alt_factor = np.where(np.isin(np.array(symbols), ["BTC/USDT", "ETH/USDT", "ETH/BTC"]), 1.0, 2.5)
        self._half_spread = (rng.uniform(0.5, 3.0, n_venues)[:, None] * alt_factor[None, :]) * 1e-4
        self._depth_usd = rng.uniform(5_000, 60_000, n_venues)[:, None] / alt_factor[None, :]
        self._level_growth = 1.0 + 0.25 * np.arange(levels)
        self._quote_usd = np.exp(self._log_price[self._quote])

        self._venue_noise = np.zeros((n_venues, n_symbols))
        self._dislocation = np.zeros((n_venues, n_symbols))
        self._decay = 0.5 ** (1.0 / settings.dislocation_half_life_ticks)
        self._open_threshold = settings.dislocation_bps[0] * 0.5e-4
        self.tick_index = 0
        self.clock_ms = settings.start_ms

    @classmethod
    def from_settings(
        cls, settings: SimulationSettings, fee_tier_volume: dict[str, Decimal] | None = None
    ) -> MarketModel:
        universe = build_universe(settings.venues, settings.symbols_per_venue, settings.seed, fee_tier_volume)
        return cls(universe, settings)

    def _advance_prices(self) -> None:
        rng = self._rng
        common = rng.standard_normal()
        own = rng.standard_normal(self._log_price.shape)
        shock = MARKET_BETA * MARKET_VOLATILITY_PER_TICK * common + IDIOSYNCRATIC_VOLATILITY_PER_TICK * own
        self._log_price += self._asset_volatility * shock
        self._venue_noise = VENUE_NOISE_PERSISTENCE * self._venue_noise + VENUE_NOISE_STDEV * math.sqrt(
            1 - VENUE_NOISE_PERSISTENCE**2
        ) * rng.standard_normal(self._venue_noise.shape)

        self._dislocation *= self._decay
        self._dislocation[np.abs(self._dislocation) < 1e-5] = 0.0
        opens = (rng.random(self._dislocation.shape) < self.settings.dislocation_probability) & self.listed
        low, high = self.settings.dislocation_bps
        size = rng.uniform(low, high, self._dislocation.shape) * 1e-4
        sign = np.where(rng.random(self._dislocation.shape) < 0.5, -1.0, 1.0)
        self._dislocation = np.where(opens, self._dislocation + sign * size, self._dislocation)

    def _level_offsets(self, mid: FloatArray) -> IntArray:
        """Distance of each level from the best price, in ticks: about 1.5 bps apart, at least one tick."""
        n_venues, n_symbols = mid.shape
        spread_out = self._rng.uniform(0.3, 1.7, (n_venues, n_symbols, self.settings.levels - 1))
        gaps = np.maximum(1, np.rint((mid * 1.5e-4 / self.price_tick)[..., None] * spread_out)).astype(np.int64)
        return np.concatenate([np.zeros((n_venues, n_symbols, 1), np.int64), np.cumsum(gaps, axis=2)], axis=2)

    def step(self) -> BookFrame:
        """Advance the clock by one tick and return every book at the new time."""
        self.tick_index += 1
        self.clock_ms = self.settings.start_ms + self.tick_index * self.settings.tick_ms
        self._advance_prices()
        rng = self._rng
        n_venues, n_symbols = self.listed.shape
        levels = self.settings.levels

        log_mid = (self._log_price[self._base] - self._log_price[self._quote])[None, :]
        mid = np.exp(log_mid + self._venue_noise + self._dislocation)
        tick = self.price_tick
        best_bid = np.floor(mid * (1 - self._half_spread) / tick).astype(np.int64)
        best_ask = np.maximum(np.ceil(mid * (1 + self._half_spread) / tick).astype(np.int64), best_bid + 1)
        bid_ticks = best_bid[..., None] - self._level_offsets(mid)
        ask_ticks = best_ask[..., None] + self._level_offsets(mid)

        level_usd = (
            self._depth_usd[..., None] * self._level_growth * rng.lognormal(0, 0.4, (2, n_venues, n_symbols, levels))
        )
        base_usd = (mid * self._quote_usd[None, :])[..., None]
        steps = np.maximum(1, np.floor(level_usd / base_usd / self.size_step[..., None])).astype(np.int64)
        latency = rng.integers(0, MAX_BOOK_LATENCY_MS, (n_venues, n_symbols))

        listed = self.listed[..., None]
        return BookFrame(
            universe=self.universe,
            tick_index=self.tick_index,
            clock_ms=self.clock_ms,
            listed=self.listed,
            price_tick=tick,
            size_step=self.size_step,
            exact_steps=self.exact_steps,
            bid_ticks=np.where(listed, bid_ticks, 0),
            ask_ticks=np.where(listed, ask_ticks, 0),
            bid_steps=np.where(listed, steps[0], 0),
            ask_steps=np.where(listed, steps[1], 0),
            timestamps=np.where(self.listed, self.clock_ms - latency, 0),
            dislocation=self._dislocation.copy(),
            open_dislocations=int((np.abs(self._dislocation) >= self._open_threshold).sum()),
        )
