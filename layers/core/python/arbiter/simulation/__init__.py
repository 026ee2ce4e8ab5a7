"""Simulated venues: a seeded market model over ccxt-shaped market definitions."""

from arbiter.simulation.books import FrameBooks
from arbiter.simulation.market_model import BookFrame, MarketModel
from arbiter.simulation.universe import SimulatedUniverse, build_universe, generated_market_dict

__all__ = ["BookFrame", "FrameBooks", "MarketModel", "SimulatedUniverse", "build_universe", "generated_market_dict"]
