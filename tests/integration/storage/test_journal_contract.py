"""The same contract for the in-memory journal and the DynamoDB one (on moto)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arbiter.local import create_local_tables
from arbiter.models import Execution, ExecutionStatus, Opportunity, Order, OrderIntent, SendState, Side
from arbiter.models.execution import ExecutionSlotsTakenError
from arbiter.storage.audit import first_broken_link
from arbiter.storage.errors import StorageConflictError
from arbiter.storage.journal import DynamoExecutionJournal, InMemoryExecutionJournal
from arbiter.storage.kill_switch import DynamoKillSwitch, InMemoryKillSwitch, KillSwitchConflictError
from tests.support.events import Note

OPPORTUNITY = Opportunity.model_validate(
    {
        "kind": "cross_venue",
        "legs": [
            {"venue": "alpha", "symbol": "SOL/USDT", "side": "buy", "amount": "1", "limit_price": "150"},
            {"venue": "beta", "symbol": "SOL/USDT", "side": "sell", "amount": "1", "limit_price": "152"},
        ],
        "expected_profit": "1.6",
        "profit_currency": "USDT",
        "quotes": [
            {"venue": "alpha", "symbol": "SOL/USDT", "timestamp": 1},
            {"venue": "beta", "symbol": "SOL/USDT", "timestamp": 1},
        ],
        "detected_at": 1,
    }
)


def execution(execution_id: str = "e1") -> Execution:
    return Execution(execution_id=execution_id, opportunity=OPPORTUNITY, created_at=10, updated_at=10)


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    if request.param == "memory":
        yield InMemoryExecutionJournal(), InMemoryKillSwitch()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        tables = create_local_tables(client)
        yield (
            DynamoExecutionJournal(client, tables["executions"], tables["orders"]),
            DynamoKillSwitch(client, tables["configuration"]),
        )


def test_create_is_conditional(stores: tuple[Any, Any]) -> None:
    journal, _ = stores
    assert journal.create(execution()) == (True, execution())
    created, stored = journal.create(execution().model_copy(update={"created_at": 99, "updated_at": 99}))
    assert not created
    assert stored.created_at == 10


def test_status_changes_and_every_write_are_chained_audit_events(stores: tuple[Any, Any]) -> None:
    journal, _ = stores
    journal.create(execution())
    journal.set_status("e1", ExecutionStatus.PLACING, 11)
    intent = OrderIntent(
        execution_id="e1",
        slot=0,
        attempt=0,
        client_order_id="cid-0",
        venue="alpha",
        symbol="SOL/USDT",
        side=Side.BUY,
        amount=Decimal(1),
        limit_price=Decimal(150),
    )
    assert journal.record_intent(intent, 12, 5_012) is True
    assert journal.record_intent(intent, 13, 5_013) is False  # a retry records nothing new, and may not send
    order = Order.model_validate(
        {
            "venue": "alpha",
            "symbol": "SOL/USDT",
            "side": "buy",
            "type": "limit",
            "amount": "1",
            "status": "closed",
            "filled": "1",
            "remaining": "0",
            "average": "150",
            "client_order_id": "cid-0",
        }
    )
    journal.record_order("e1", order, 14)
    journal.record_order("e1", order, 15)  # unchanged: no event
    journal.record_pnl("e1", {"USDT": Decimal("1.5")}, 16)
    events = journal.events("e1")
    assert [e.kind for e in events] == ["created", "status", "order_intent", "order_state", "pnl"]
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    assert first_broken_link(events) is None
    assert journal.get("e1").status is ExecutionStatus.PLACING
    assert list(journal.intents("e1")) == [intent]


def test_concurrent_appends_lose_and_duplicate_nothing(stores: tuple[Any, Any]) -> None:
    journal, _ = stores
    journal.create(execution())
    writers, per_writer = 6, 8

    def write(writer: int) -> None:
        for n in range(per_writer):
            journal.append_event("e1", Note(writer=writer, n=n), 20)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    notes = [(e.detail["writer"], e.detail["n"]) for e in journal.events("e1") if e.kind == "note"]
    assert sorted(notes) == [(w, n) for w in range(writers) for n in range(per_writer)]
    assert first_broken_link(journal.events("e1")) is None


def test_the_kill_switch_engages_and_keeps_its_history(stores: tuple[Any, Any]) -> None:
    _, kill_switch = stores
    assert not kill_switch.is_engaged()
    assert kill_switch.state().version == 0
    kill_switch.engage("incident e1", 30)
    assert kill_switch.is_engaged()
    seen = kill_switch.state()
    assert (seen.engaged, seen.reason, seen.version, seen.at_ms) == (True, "incident e1", 1, 30)
    kill_switch.disengage("reviewed", 40, expected_version=seen.version)
    assert not kill_switch.is_engaged()
    assert kill_switch.state().version == 2
    assert [(s.engaged, s.version) for s in kill_switch.history()] == [(True, 1), (False, 2)]


def test_a_disengage_racing_an_automatic_engage_is_a_conflict_not_applied(stores: tuple[Any, Any]) -> None:
    _, kill_switch = stores
    kill_switch.engage("incident e1", 30)
    seen = kill_switch.state()  # the operator reviews incident e1 ...
    kill_switch.engage("daily loss 600 reached the limit 500", 35)  # ... while the risk engine engages again
    with pytest.raises(KillSwitchConflictError) as caught:
        kill_switch.disengage("reviewed e1", 40, expected_version=seen.version)
    assert caught.value.current.reason.startswith("daily loss")
    assert isinstance(caught.value, StorageConflictError)
    assert kill_switch.is_engaged()
    assert kill_switch.state().version == 2
    with pytest.raises(KillSwitchConflictError):  # an engage by hand names its version too
        kill_switch.engage("by hand", 41, expected_version=seen.version)
    kill_switch.disengage("reviewed both", 42, expected_version=2)
    assert not kill_switch.is_engaged()


def test_racing_kill_switch_changes_are_each_one_version(stores: tuple[Any, Any]) -> None:
    _, kill_switch = stores
    outcomes: list[str] = []

    def engage(n: int) -> None:
        kill_switch.engage(f"automatic {n}", 50 + n)

    def disengage() -> None:
        try:
            kill_switch.disengage("by hand", 60, expected_version=0)
            outcomes.append("applied")
        except KillSwitchConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=engage, args=(n,)) for n in range(4)] + [threading.Thread(target=disengage)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    versions = [s.version for s in kill_switch.history()]
    assert versions == list(range(1, len(versions) + 1))
    assert len(versions) == 4 + outcomes.count("applied")


def test_the_verifier_finds_a_tampered_dynamodb_event() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        tables = create_local_tables(client)
        journal = DynamoExecutionJournal(client, tables["executions"], tables["orders"])
        journal.create(execution())
        for n in range(4):
            journal.append_event("e1", Note(n=n), 20 + n)
        key = {"pk": {"S": "EXEC#e1"}, "sk": {"S": "EVENT#0000000003"}}
        body = client.get_item(TableName=tables["executions"], Key=key)["Item"]["body"]["S"]
        client.put_item(
            TableName=tables["executions"],
            Item={**key, "body": {"S": body.replace('"n":1', '"n":7')}},
        )
        assert first_broken_link(journal.events("e1")) == 3


def test_daily_pnl_counts_each_execution_once_and_running_executions_are_listed(stores: tuple[Any, Any]) -> None:
    journal, _ = stores
    day_ms = 1_767_225_600_000
    for n, pnl in enumerate((Decimal("1.5"), Decimal("-0.5"))):
        journal.create(execution(f"e{n}").model_copy(update={"created_at": day_ms, "updated_at": day_ms}))
        journal.set_status(f"e{n}", ExecutionStatus.PLACING, day_ms)
        journal.record_pnl(f"e{n}", {"USDT": pnl}, day_ms)
        journal.record_pnl(f"e{n}", {"USDT": pnl}, day_ms + 1)  # a retried step counts once
    assert dict(journal.realised("2026-01-01")) == {"USDT": Decimal(1)}
    assert sorted(e.execution_id for e in journal.active_executions()) == ["e0", "e1"]
    journal.set_status("e0", ExecutionStatus.SETTLED, day_ms + 2)
    assert [e.execution_id for e in journal.active_executions()] == ["e1"]


def _intent(cid: str = "cid-claim") -> OrderIntent:
    return OrderIntent(
        execution_id="e1",
        slot=0,
        attempt=0,
        client_order_id=cid,
        venue="alpha",
        symbol="SOL/USDT",
        side=Side.BUY,
        amount=Decimal(1),
        limit_price=Decimal(150),
    )


def test_only_the_holder_starts_sending_and_only_before_the_claims_deadline(stores: tuple[Any, Any]) -> None:
    journal, _ = stores
    journal.create(execution())
    intent = _intent()
    assert journal.record_intent(intent, 100, 5_100)
    assert journal.claim(intent).state is SendState.RECORDED
    # Nobody declares it unsent while its holder may still send it.
    assert journal.move_claim(intent, SendState.ABANDONED, 5_099) is None
    sending = journal.move_claim(intent, SendState.SENDING, 200, expires_at_ms=6_200)
    assert sending is not None
    assert sending.state is SendState.SENDING
    assert journal.move_claim(intent, SendState.SENDING, 300) is None  # one send: a second start is refused
    assert journal.move_claim(intent, SendState.ABANDONED, 9_000) is None  # a send may have reached the venue
    assert not journal.claim(intent).proves_absent(6_200)
    assert journal.claim(intent).proves_absent(6_201)  # the venue refuses a request arriving after its expiry
    sent = journal.move_claim(intent, SendState.SENT, 400)
    assert sent is not None
    assert sent.state is SendState.SENT
    assert sent.expires_at_ms == 6_200
    kinds = [e.kind for e in journal.events("e1")]
    assert kinds.count("send_claim") == 2
    assert journal.verify("e1").intact


def test_a_claim_nobody_used_before_its_deadline_is_abandoned_and_can_never_be_sent(stores: tuple[Any, Any]) -> None:
    journal, _ = stores
    journal.create(execution())
    intent = _intent()
    journal.record_intent(intent, 100, 5_100)
    assert journal.move_claim(intent, SendState.SENDING, 5_100) is None  # its holder came too late
    abandoned = journal.move_claim(intent, SendState.ABANDONED, 5_100)
    assert abandoned is not None
    assert abandoned.proves_absent(5_100)
    assert journal.move_claim(intent, SendState.SENDING, 200) is None  # whatever its holder's clock says
    assert journal.claim(intent).state is SendState.ABANDONED


def test_a_refused_send_proves_the_order_absent_at_once(stores: tuple[Any, Any]) -> None:
    journal, _ = stores
    journal.create(execution())
    intent = _intent()
    journal.record_intent(intent, 100, 5_100)
    journal.move_claim(intent, SendState.SENDING, 200)  # a venue without request expiry: no time proves it
    assert not journal.claim(intent).proves_absent(10**12)
    refused = journal.move_claim(intent, SendState.SENT, 300, refused=True)
    assert refused is not None
    assert refused.proves_absent(300)


def test_two_callers_racing_to_abandon_and_send_one_claim_one_wins(stores: tuple[Any, Any]) -> None:
    journal, _ = stores
    journal.create(execution())
    results: dict[str, object] = {}
    for n in range(4):
        intent = _intent(f"cid-race-{n}")
        journal.record_intent(intent, 100, 5_100)
        barrier = threading.Barrier(2)

        def move(state: SendState, at: int, intent: OrderIntent = intent, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            results[f"{intent.client_order_id}:{state.value}"] = journal.move_claim(intent, state, at)

        threads = [
            threading.Thread(target=move, args=(SendState.SENDING, 5_000)),
            threading.Thread(target=move, args=(SendState.ABANDONED, 5_200)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # The holder (its clock before the deadline) and a step that found the deadline passed (its clock after)
        # each decide on the claim as they read it; the conditional write lets exactly one of them move it.
        won = [k for k in results if k.startswith(intent.client_order_id) and results[k] is not None]
        assert len(won) == 1, results
        assert journal.claim(intent).state.value == won[0].split(":")[1]
    assert journal.verify("e1").intact


def test_a_corrected_pnl_replaces_the_booking_and_moves_its_day_by_the_difference(stores: tuple[Any, Any]) -> None:
    journal, _ = stores
    journal.create(execution())
    day_ms = 1_767_225_600_000  # 2026-01-01
    journal.record_pnl("e1", {"USDT": Decimal("1.5"), "BNB": Decimal("-0.001")}, day_ms)
    assert not journal.correct_pnl("e1", {"USDT": Decimal("1.50"), "BNB": Decimal("-0.001")}, day_ms + 5)
    # Corrected the next day: the booking's own day moves, not the day of the correction.
    assert journal.correct_pnl("e1", {"USDT": Decimal("1.2"), "SOL": Decimal("0.01")}, day_ms + 86_400_000)
    assert dict(journal.realised("2026-01-01")) == {
        "USDT": Decimal("1.2"),
        "BNB": Decimal(0),
        "SOL": Decimal("0.01"),
    }
    assert dict(journal.realised("2026-01-02")) == {}
    assert journal.pnl_on("2026-01-01")["e1"] == {"USDT": Decimal("1.2"), "SOL": Decimal("0.01")}
    kinds = [e.kind for e in journal.events("e1")]
    assert kinds.count("pnl") == 1
    assert kinds.count("pnl_corrected") == 1
    assert journal.verify("e1").intact


def test_correcting_a_pnl_never_booked_books_it(stores: tuple[Any, Any]) -> None:
    journal, _ = stores
    journal.create(execution())
    assert journal.correct_pnl("e1", {"USDT": Decimal(2)}, 1_767_225_600_000)
    assert dict(journal.realised("2026-01-01")) == {"USDT": Decimal(2)}


@pytest.fixture(params=["memory", "dynamodb"])
def capped(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A journal with two execution slots."""
    if request.param == "memory":
        yield InMemoryExecutionJournal(execution_slots=2)
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        tables = create_local_tables(client)
        yield DynamoExecutionJournal(client, tables["executions"], tables["orders"], execution_slots=2)


def test_starting_an_execution_takes_a_slot_and_ending_it_gives_it_back(capped: Any) -> None:
    for name in ("e1", "e2", "e3"):
        capped.create(execution(name))
    capped.set_status("e1", ExecutionStatus.PLACING, 11)
    capped.set_status("e2", ExecutionStatus.PLACING, 11)
    capped.set_status("e2", ExecutionStatus.COMPENSATING, 12)  # still running: still one slot
    assert capped.slots_taken() == 2
    with pytest.raises(ExecutionSlotsTakenError, match="all 2 execution slots taken"):
        capped.set_status("e3", ExecutionStatus.PLACING, 12)
    assert capped.get("e3").status is ExecutionStatus.PENDING  # nothing written
    assert [e.kind for e in capped.events("e3")] == ["created"]
    capped.set_status("e1", ExecutionStatus.SETTLED, 13)
    assert capped.slots_taken() == 1
    capped.set_status("e3", ExecutionStatus.PLACING, 14)
    assert capped.slots_taken() == 2
    # Compensating a settled execution takes its slot again even when none is free: the cap never holds up
    # what protects money; only starting waits for a free slot.
    capped.set_status("e2", ExecutionStatus.COMPENSATED, 15)
    capped.set_status("e1", ExecutionStatus.COMPENSATING, 15)
    capped.create(execution("e4"))
    with pytest.raises(ExecutionSlotsTakenError):
        capped.set_status("e4", ExecutionStatus.PLACING, 16)
    capped.set_status("e4", ExecutionStatus.REFUSED, 16, reason="slots")  # refusing needs no slot
    assert capped.slots_taken() == 2
    assert {e.execution_id for e in capped.active_executions()} == {"e1", "e3"}


def test_concurrent_starts_never_take_more_slots_than_there_are(capped: Any) -> None:
    names = [f"r{i}" for i in range(6)]
    for name in names:
        capped.create(execution(name))
    started, refused = [], []

    def start(name: str) -> None:
        try:
            capped.set_status(name, ExecutionStatus.PLACING, 20)
            started.append(name)
        except ExecutionSlotsTakenError:
            refused.append(name)

    threads = [threading.Thread(target=start, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(started) == 2
    assert len(refused) == 4
    assert capped.slots_taken() == 2
