"""Invariant 7 under faults, races and tampering: a change, its audit event and the chain head are written
together or not at all, in memory and on DynamoDB (moto)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from itertools import pairwise
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arbiter.local import create_local_tables
from arbiter.models import Execution, ExecutionStatus, Fee, Order, OrderRecord
from arbiter.storage.journal import DynamoExecutionJournal, InMemoryExecutionJournal
from tests.integration.storage.test_journal_contract import OPPORTUNITY
from tests.support.events import Note

DAY_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
WRITES = frozenset({"put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"})


class InjectedCrashError(RuntimeError):
    """The process died here."""


class CrashingClient:
    """A DynamoDB client whose ``fail_at``-th write (counted from arming) never happens."""

    def __init__(self, client: Any) -> None:
        self._client, self.fail_at, self.writes = client, 0, 0

    def arm(self, fail_at: int) -> None:
        self.fail_at, self.writes = fail_at, 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name not in WRITES:
            return method

        def write(**kwargs: Any) -> Any:
            self.writes += 1
            if self.writes == self.fail_at:
                raise InjectedCrashError(f"{name} #{self.writes}")
            return method(**kwargs)

        return write


class CrashingMemoryJournal(InMemoryExecutionJournal):
    def __init__(self) -> None:
        super().__init__()
        self.fail_at, self.writes = 0, 0

    def arm(self, fail_at: int) -> None:
        self.fail_at, self.writes = fail_at, 0

    def _apply(self, target: dict[Any, Any], key: Any, value: Any) -> None:
        self.writes += 1
        if self.writes == self.fail_at:
            raise InjectedCrashError(f"write #{self.writes}")
        super()._apply(target, key, value)


@pytest.fixture(params=["memory", "dynamodb"])
def crashing(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Callable[[int], None]]]:
    if request.param == "memory":
        journal = CrashingMemoryJournal()
        yield journal, journal.arm
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        tables = create_local_tables(client)
        crashing_client = CrashingClient(client)
        yield DynamoExecutionJournal(crashing_client, tables["executions"], tables["orders"]), crashing_client.arm  # type: ignore[arg-type]


@pytest.fixture(params=["memory", "dynamodb"])
def journal(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryExecutionJournal()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        tables = create_local_tables(client)
        yield DynamoExecutionJournal(client, tables["executions"], tables["orders"], page_size=2)


def execution(execution_id: str) -> Execution:
    return Execution(execution_id=execution_id, opportunity=OPPORTUNITY, created_at=DAY_MS, updated_at=DAY_MS)


def order(status: str, filled: str, cid: str = "cid-0") -> Order:
    return Order.model_validate(
        {
            "venue": "alpha",
            "symbol": "SOL/USDT",
            "side": "buy",
            "type": "limit",
            "amount": "1",
            "status": status,
            "filled": filled,
            "remaining": str(1 - Decimal(filled)),
            "average": "150" if Decimal(filled) else None,
            "client_order_id": cid,
        }
    )


def attempt(action: Callable[[], object]) -> bool:
    try:
        action()
    except InjectedCrashError:
        return False
    return True


@pytest.mark.parametrize("fail_at", [1, 2, 3, 4])
def test_a_crash_between_writes_never_leaves_a_change_without_its_event(
    crashing: tuple[Any, Callable[[int], None]], fail_at: int
) -> None:
    journal, arm = crashing
    journal.create(execution("e1"))
    arm(fail_at)
    attempt(lambda: journal.set_status("e1", ExecutionStatus.PLACING, DAY_MS + 1))
    moved = journal.get("e1").status is ExecutionStatus.PLACING
    recorded = [e for e in journal.events("e1") if e.kind == "status"]
    assert moved == bool(recorded), (moved, recorded)
    assert (journal.active_executions() != []) == moved
    assert journal.verify("e1").intact

    arm(fail_at)
    attempt(lambda: journal.record_pnl("e1", {"USDT": Decimal("-2"), "SOL": Decimal("0.1")}, DAY_MS + 2))
    counted = journal.realised("2026-01-01") != {}
    assert counted == any(e.kind == "pnl" for e in journal.events("e1"))
    assert not counted or dict(journal.realised("2026-01-01")) == {"USDT": Decimal(-2), "SOL": Decimal("0.1")}

    arm(fail_at)
    attempt(lambda: journal.record_order("e1", order("closed", "1"), DAY_MS + 3))
    assert (journal.order("cid-0") is not None) == any(e.kind == "order_state" for e in journal.events("e1"))
    assert journal.verify("e1").intact

    arm(0)  # a retry after the crash completes each change exactly once
    journal.set_status("e1", ExecutionStatus.PLACING, DAY_MS + 1)
    journal.record_pnl("e1", {"USDT": Decimal("-2"), "SOL": Decimal("0.1")}, DAY_MS + 2)
    journal.record_order("e1", order("closed", "1"), DAY_MS + 3)
    assert dict(journal.realised("2026-01-01")) == {"USDT": Decimal(-2), "SOL": Decimal("0.1")}
    kinds = [e.kind for e in journal.events("e1")]
    assert kinds.count("pnl") == kinds.count("order_state") == 1
    assert journal.verify("e1").intact


def test_the_verifier_reports_a_trail_cut_off_at_its_end(journal: Any) -> None:
    journal.create(execution("e1"))
    for n in range(4):
        journal.append_event("e1", Note(n=n), DAY_MS + n)
    assert journal.verify("e1").intact
    _delete_last_event(journal, "e1")
    report = journal.verify("e1")
    assert report.truncated
    assert report.first_broken_link is None  # what is left still chains: only the head shows the cut
    assert (report.events, report.head_sequence) == (4, 5)


def test_the_verifier_reports_the_first_broken_link(journal: Any) -> None:
    journal.create(execution("e1"))
    for n in range(4):
        journal.append_event("e1", Note(n=n), DAY_MS + n)
    _rewrite_event(journal, "e1", 3, {"n": 7})
    report = journal.verify("e1")
    assert report.first_broken_link == 3
    assert not report.intact


def test_a_late_poll_never_moves_an_order_backwards(journal: Any) -> None:
    journal.create(execution("e1"))
    assert journal.record_order("e1", order("open", "0.5"), DAY_MS) is OrderRecord.RECORDED
    assert journal.record_order("e1", order("closed", "1"), DAY_MS + 1) is OrderRecord.RECORDED
    assert journal.record_order("e1", order("closed", "1"), DAY_MS + 2) is OrderRecord.UNCHANGED
    assert journal.record_order("e1", order("open", "0.5"), DAY_MS + 3) is OrderRecord.REFUSED_STALE
    assert journal.record_order("e1", order("closed", "0.5"), DAY_MS + 4) is OrderRecord.REFUSED_STALE
    assert journal.order("cid-0") == order("closed", "1")
    refused = [e for e in journal.events("e1") if e.kind == "order_report_refused"]
    assert [e.detail["status"] for e in refused] == ["open", "closed"]
    assert "filled 0.5 < recorded 1" in refused[0].detail["why"]
    assert [e.kind for e in journal.events("e1")].count("order_state") == 2
    assert journal.verify("e1").intact


def test_a_report_of_another_order_under_the_same_id_is_refused_not_recorded(journal: Any) -> None:
    # Bad input: the venue answers for our clientOrderId with a different order id. Recorded as an audit event,
    # treated as unconfirmed, never as the truth about the order the journal knows.
    journal.create(execution("e1"))
    first = order("open", "0.5").model_copy(update={"exchange_order_id": "X1"})
    assert journal.record_order("e1", first, DAY_MS) is OrderRecord.RECORDED
    other = order("closed", "1").model_copy(update={"exchange_order_id": "X2"})
    assert journal.record_order("e1", other, DAY_MS + 1) is OrderRecord.REFUSED_STALE
    assert journal.order("cid-0") == first
    [refused] = [e for e in journal.events("e1") if e.kind == "order_report_refused"]
    assert "order id X2 is not the recorded X1" in refused.detail["why"]


def test_a_read_that_shows_less_fee_than_recorded_is_refused(journal: Any) -> None:
    # A trade list that lags behind an earlier, complete one: the fee was charged, a later read cannot undo it.
    journal.create(execution("e1"))
    charged = order("closed", "1").model_copy(update={"fees": (Fee(cost=Decimal("0.0002"), currency="BNB"),)})
    assert journal.record_order("e1", charged, DAY_MS) is OrderRecord.RECORDED
    lagging = charged.model_copy(update={"fees": (Fee(cost=Decimal("0.0001"), currency="BNB"),)})
    assert journal.record_order("e1", lagging, DAY_MS + 1) is OrderRecord.REFUSED_STALE
    more = charged.model_copy(update={"fees": (*charged.fees, Fee(cost=Decimal("0.01"), currency="USDT"))})
    assert journal.record_order("e1", more, DAY_MS + 2) is OrderRecord.RECORDED
    [refused] = [e for e in journal.events("e1") if e.kind == "order_report_refused"]
    assert "fees in BNB 0.0001 < recorded 0.0002" in refused.detail["why"]


def test_racing_pollers_keep_the_newest_report(journal: Any) -> None:
    journal.create(execution("e1"))
    reports = [order("open", "0"), order("open", "0.3"), order("open", "0.6"), order("closed", "1")]

    def poll(report: Order) -> None:
        for _ in range(3):
            journal.record_order("e1", report, DAY_MS)

    threads = [threading.Thread(target=poll, args=(r,)) for r in reports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert journal.order("cid-0") == order("closed", "1")
    fills = [Decimal(e.detail["filled"]) for e in journal.events("e1") if e.kind == "order_state"]
    assert fills == sorted(fills)
    assert journal.verify("e1").intact


def test_status_changes_and_appends_racing_on_one_execution_lose_nothing(journal: Any) -> None:
    journal.create(execution("e1"))
    statuses = [ExecutionStatus.PLACING, ExecutionStatus.AWAITING_FILLS, ExecutionStatus.COMPENSATING]

    def change(writer: int) -> None:
        for n in range(4):
            journal.set_status("e1", statuses[(writer + n) % len(statuses)], DAY_MS + n)

    def note(writer: int) -> None:
        for n in range(6):
            journal.append_event("e1", Note(writer=writer, n=n), DAY_MS + n)

    threads = [threading.Thread(target=change, args=(w,)) for w in range(3)]
    threads += [threading.Thread(target=note, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = journal.events("e1")
    notes = sorted((e.detail["writer"], e.detail["n"]) for e in events if e.kind == "note")
    assert notes == [(w, n) for w in range(3) for n in range(6)]
    changes = [e.detail for e in events if e.kind == "status"]
    assert len(changes) == 12
    # Each change starts where the one before it ended: none was applied over a state it did not see.
    assert all(a["to"] == b["from"] for a, b in pairwise(changes))
    assert journal.get("e1").status.value == changes[-1]["to"]
    assert journal.verify("e1").intact


def test_queries_return_every_page(journal: Any) -> None:
    for n in range(5):
        journal.create(execution(f"e{n}"))
        journal.set_status(f"e{n}", ExecutionStatus.PLACING, DAY_MS + n)
        journal.record_pnl(f"e{n}", {f"C{n}": Decimal(n + 1)}, DAY_MS + n)
    for n in range(5):
        journal.append_event("e0", Note(n=n), DAY_MS)
    assert sorted(e.execution_id for e in journal.active_executions()) == [f"e{n}" for n in range(5)]
    assert dict(journal.realised("2026-01-01")) == {f"C{n}": Decimal(n + 1) for n in range(5)}
    assert len(journal.events("e0")) == 8
    assert journal.verify("e0").intact


def test_executions_and_pnl_of_a_day(journal: Any) -> None:
    for n, created in enumerate((DAY_MS - 1, DAY_MS, DAY_MS + 5, DAY_MS + 86_400_000)):
        journal.create(execution(f"e{n}").model_copy(update={"created_at": created, "updated_at": created}))
    journal.set_status("e1", ExecutionStatus.PLACING, DAY_MS + 1)  # a status change keeps the day
    journal.record_pnl("e0", {"USDT": Decimal(1)}, DAY_MS + 10)  # created the day before, settled this day
    journal.record_pnl("e2", {"USDT": Decimal(-3)}, DAY_MS + 20)
    assert [e.execution_id for e in journal.executions_on("2026-01-01")] == ["e1", "e2"]
    assert [e.execution_id for e in journal.executions_on("2025-12-31")] == ["e0"]
    assert journal.pnl_on("2026-01-01") == {"e0": {"USDT": Decimal(1)}, "e2": {"USDT": Decimal(-3)}}
    assert dict(journal.realised("2026-01-01")) == {"USDT": Decimal(-2)}


def _delete_last_event(journal: Any, execution_id: str) -> None:
    if isinstance(journal, InMemoryExecutionJournal):
        trail = journal._events[execution_id]
        del trail[max(trail)]
        return
    last = journal.events(execution_id)[-1].sequence
    key = {"pk": {"S": f"EXEC#{execution_id}"}, "sk": {"S": f"EVENT#{last:010d}"}}
    journal.client.delete_item(TableName=journal.table, Key=key)


def _rewrite_event(journal: Any, execution_id: str, sequence: int, detail: dict[str, Any]) -> None:
    if isinstance(journal, InMemoryExecutionJournal):
        trail = journal._events[execution_id]
        trail[sequence] = trail[sequence].model_copy(update={"detail": detail})
        return
    key = {"pk": {"S": f"EXEC#{execution_id}"}, "sk": {"S": f"EVENT#{sequence:010d}"}}
    body = journal.client.get_item(TableName=journal.table, Key=key)["Item"]["body"]["S"]
    tampered = body.replace('"n":1', '"n":7')
    assert tampered != body
    journal.client.put_item(TableName=journal.table, Item={**key, "body": {"S": tampered}})
