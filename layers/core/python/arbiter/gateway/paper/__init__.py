"""The paper venue: fills simulated against books (the market model's locally, the real venue's in paper mode),
with faults injected by configuration."""

from arbiter.gateway.paper.faults import FaultRule, PlaceFault, VenueFaults
from arbiter.gateway.paper.venue import BookSource, PaperLedgerContentionError, PaperVenue

__all__ = ["BookSource", "FaultRule", "PaperLedgerContentionError", "PaperVenue", "PlaceFault", "VenueFaults"]
