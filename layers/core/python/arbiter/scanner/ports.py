"""What the scanner reports, as a small port: Powertools EMF metrics in the handler, counts in tests and in the
local platform."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from arbiter.models.heartbeat import FeedHealth
from arbiter.scoring.scorer import ScoringStatus


class ScannerMetrics(Protocol):
    def detected(self, count: int) -> None: ...

    def started(self, tick_to_start_ms: float) -> None: ...

    def refused(self, reason: str) -> None: ...

    def updates(self, count: int) -> None: ...

    def book_ages(self, venue: str, p50_ms: float, p99_ms: float) -> None: ...

    def heartbeat(self, shard: str, health: Mapping[str, FeedHealth], scoring: ScoringStatus | None = None) -> None:
        """Once per heartbeat: the shard is alive; each venue's feed reconnects since the last one; whether it
        ranks by the live model or falls back to expected profit (and why)."""
        ...


@dataclass
class CountingScannerMetrics:
    detections: int = 0
    starts: list[float] = field(default_factory=list)
    refusals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    updates_processed: int = 0
    ages: dict[str, tuple[float, float]] = field(default_factory=dict)
    heartbeats: list[dict[str, FeedHealth]] = field(default_factory=list)
    scoring: list[ScoringStatus] = field(default_factory=list)

    def detected(self, count: int) -> None:
        self.detections += count

    def started(self, tick_to_start_ms: float) -> None:
        self.starts.append(tick_to_start_ms)

    def refused(self, reason: str) -> None:
        self.refusals[reason] += 1

    def updates(self, count: int) -> None:
        self.updates_processed += count

    def book_ages(self, venue: str, p50_ms: float, p99_ms: float) -> None:
        self.ages[venue] = (p50_ms, p99_ms)

    def heartbeat(self, shard: str, health: Mapping[str, FeedHealth], scoring: ScoringStatus | None = None) -> None:
        self.heartbeats.append(dict(health))
        if scoring is not None:
            self.scoring.append(scoring)
