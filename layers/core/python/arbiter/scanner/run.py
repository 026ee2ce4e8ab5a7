"""One invocation's run of a shard: hold the shard's lease, follow its books, scan until shortly before the
Lambda's end, give the lease up.

Handover: a run that finds the lease held exits at once, unless the lease ends within the handover window (the
holder is about to stop): then it subscribes to its books at once and takes the lease as soon as it is free,
so the next run is warm when the last one stops. The lease is renewed every third of its length; a holder that
dies leaves a lease that expires by itself."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from arbiter.marketdata import BookSource
from arbiter.models.heartbeat import FeedHealth, ShardHeartbeat
from arbiter.models.time import Clock
from arbiter.scanner.scanner import ShardScanner
from arbiter.settings import ScannerSettings
from arbiter.storage.heartbeats import HeartbeatStore
from arbiter.storage.leases import LeaseStore

POLL_S = 0.1
"""How long a run waits for books before it looks at the lease and the clock again."""
LEASE_POLL_S = 0.02
"""How often a warm successor tries the lease during a handover."""


@dataclass
class RunReport:
    shard: str
    ran: bool
    reason: str = ""
    ticks: int = 0
    updates: int = 0
    started: list[str] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    first_tick_at: float | None = None
    """``time.perf_counter()`` of the first batch processed under the lease (handover measurement)."""
    last_tick_at: float | None = None
    released_at: float | None = None
    health: dict[str, FeedHealth] = field(default_factory=dict)
    scoring: str = ""
    """How the run ranked opportunities: by which model, or by expected profit and why."""


@dataclass(frozen=True)
class ShardStores:
    """Where a run says it holds the shard (the lease) and how it does (the heartbeat)."""

    leases: LeaseStore
    heartbeats: HeartbeatStore


async def run_shard(
    scanner: ShardScanner,
    source: BookSource,
    stores: ShardStores,
    owner: str,
    clock: Clock,
    settings: ScannerSettings,
    remaining_ms: int,
) -> RunReport:
    """Run until ``remaining_ms`` (the Lambda's time left) less the stop margin, or ``settings.run_ms``."""
    shard = scanner.d.shard.name
    report = RunReport(shard=shard, ran=False)
    leases = stores.leases
    started_ms = clock.now_ms()
    end_ms = started_ms + min(settings.run_ms, remaining_ms - settings.stop_margin_ms)
    if end_ms <= started_ms:
        report.reason = "no time left before the Lambda's timeout"
        return report
    held = leases.acquire(shard, owner, started_ms, _lease_ttl(settings, started_ms, end_ms))
    if not held:
        holder = leases.holder(shard)
        if holder is None or holder.expires_at_ms - started_ms > settings.handover_window_ms:
            report.reason = f"lease held by {holder.owner if holder else 'another run'}"
            return report
    scanner.d.health = source.health
    await source.start()
    try:
        while not held:
            now = clock.now_ms()
            if now >= end_ms:
                report.reason = "the lease was not handed over in time"
                return report
            held = leases.acquire(shard, owner, now, _lease_ttl(settings, now, end_ms))
            if not held:
                await source.next_batch(LEASE_POLL_S)  # (keeps subscriptions drained while warming up)
        report.ran = True
        await _follow(scanner, source, stores, owner, clock, settings, end_ms, report)
    finally:
        if held:
            leases.release(shard, owner)
            report.released_at = time.perf_counter()
        report.health = dict(source.health(clock.now_ms()))
        report.scoring = scanner.d.scorer.status().describe()
        await source.close()
    return report


def _lease_ttl(settings: ScannerSettings, now_ms: int, end_ms: int) -> int:
    """Never past the run's own end: a successor can tell from the lease when the holder will stop."""
    return max(1, min(settings.lease_ms, end_ms - now_ms))


async def _follow(
    scanner: ShardScanner,
    source: BookSource,
    stores: ShardStores,
    owner: str,
    clock: Clock,
    settings: ScannerSettings,
    end_ms: int,
    report: RunReport,
) -> None:
    d, shard = scanner.d, scanner.d.shard.name
    renew_every = settings.lease_ms // 3
    renewed = heartbeat = clock.now_ms()
    stored: int | None = None
    while (now := clock.now_ms()) < end_ms:
        if now - renewed >= renew_every:
            if not stores.leases.acquire(shard, owner, now, _lease_ttl(settings, now, end_ms)):
                report.reason = "the lease was lost (expired and taken over)"
                return
            renewed = now
        if stored is None or now - stored >= settings.heartbeat_ms:
            stored = now
            feeds = tuple(source.health(now).values())
            scoring = d.scorer.status().describe()
            stores.heartbeats.beat(ShardHeartbeat(shard=shard, owner=owner, at_ms=now, feeds=feeds, scoring=scoring))
        # Off the event loop: the feeds keep reading while DynamoDB or a venue answers.
        await asyncio.to_thread(scanner.prefetch_state)
        batch = await source.next_batch(POLL_S)
        if not batch:
            continue
        received = time.perf_counter()
        tick = scanner.process(batch, received)
        report.ticks += 1
        report.updates += tick.updates
        report.started += tick.started
        for decision in tick.decisions:
            if decision.outcome != "started":
                report.refused[decision.outcome] = report.refused.get(decision.outcome, 0) + 1
        if report.first_tick_at is None:
            report.first_tick_at = received
        report.last_tick_at = time.perf_counter()
        # The books are judged at the time they were processed: ``now`` was read before the batch was waited for.
        now = clock.now_ms()
        if now - heartbeat >= 1_000:
            heartbeat = now
            for venue, (p50, p99) in scanner.book_ages(now).items():
                d.metrics.book_ages(venue, p50, p99)
            d.metrics.heartbeat(shard, source.health(now), d.scorer.status())
        await asyncio.sleep(0)  # let the feeds' tasks run between two evaluations
    report.reason = "ran to the end of its time"
