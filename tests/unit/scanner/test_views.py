"""The scanner's views of shared state: read ahead of the decisions, so that a decision never waits for DynamoDB
while the loop keeps prefetching, and never acts on a value older than the interval."""

from __future__ import annotations

from arbiter.models.time import ManualClock
from arbiter.scanner.views import Refreshed


class CountingRead:
    def __init__(self, clock: ManualClock) -> None:
        self.clock, self.calls = clock, 0

    def __call__(self) -> int:
        self.calls += 1
        return self.clock.now_ms()


def test_a_loop_that_prefetches_leaves_every_read_to_the_prefetch_and_no_value_older_than_the_interval() -> None:
    clock = ManualClock(0)
    read = CountingRead(clock)
    view = Refreshed(read, clock, every_ms=1_000)
    read_by_decisions = 0
    for _ in range(100):  # 10 s of the scanner's loop: prefetch, wait 100 ms for a batch, decide
        view.prefetch()
        clock.ms += 100
        before = read.calls
        value = view.get()
        read_by_decisions += read.calls - before
        assert clock.now_ms() - value < 1_000
    assert read_by_decisions == 0
    assert read.calls <= 2 * 10 + 1  # at most twice an interval


def test_without_prefetching_a_decision_reads_once_the_value_is_an_interval_old() -> None:
    clock = ManualClock(0)
    read = CountingRead(clock)
    view = Refreshed(read, clock, every_ms=1_000)
    assert view.get() == 0
    clock.ms = 999
    assert view.get() == 0
    clock.ms = 1_000
    assert view.get() == 1_000
    assert read.calls == 2
