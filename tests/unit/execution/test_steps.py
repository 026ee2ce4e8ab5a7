from __future__ import annotations

from decimal import Decimal

import pytest

from arbiter.execution.state import SagaState
from arbiter.execution.steps import OrdersStillOpenError, SagaDependencies, SagaSteps
from arbiter.gateway.paper import FaultRule, PaperVenue, PlaceFault, VenueFaults
from arbiter.models import CompensationStrategy, ExecutionStatus, Leg, Opportunity, OrderStatus, QuoteStamp, Side
from arbiter.models.time import ManualClock
from arbiter.settings import ExecutionSettings
from arbiter.storage.journal import InMemoryExecutionJournal
from arbiter.storage.kill_switch import InMemoryKillSwitch
from tests.support.saga_fakes import Alerts
from tests.unit.execution.conftest import book, market

NOW = 1_700_000_000_000


def opportunity(quote_ts: int = NOW - 100) -> Opportunity:
    legs = (
        Leg(venue="alpha", symbol="SOL/USDT", side=Side.BUY, amount=Decimal(1), limit_price=Decimal(150)),
        Leg(venue="beta", symbol="SOL/USDT", side=Side.SELL, amount=Decimal(1), limit_price=Decimal(152)),
    )
    return Opportunity(
        kind="cross_venue",
        legs=legs,
        expected_profit=Decimal("1.6"),
        profit_currency="USDT",
        quotes=tuple(QuoteStamp(venue=v, symbol="SOL/USDT", timestamp=quote_ts) for v in ("alpha", "beta")),
        detected_at=quote_ts,
    )


class World:
    def __init__(self, faults: dict[str, VenueFaults] | None = None) -> None:
        faults = faults or {}
        self.books = {
            "alpha": book("alpha", "SOL/USDT", "149.9", "150", gap="0.1"),
            "beta": book("beta", "SOL/USDT", "152", "152.1", gap="0.1"),
        }
        self.journal, self.kill_switch = InMemoryExecutionJournal(), InMemoryKillSwitch()
        self.alerts, self.clock = Alerts(), ManualClock(NOW)
        self.alpha, self.beta = (
            PaperVenue(
                venue,
                {"SOL/USDT": market(venue, "SOL/USDT")},
                lambda _symbol, venue=venue: self.books[venue],  # type: ignore[misc]
                held,
                clock=self.clock,
                faults=faults.get(venue),
            )
            for venue, held in (("alpha", {"USDT": Decimal(1000)}), ("beta", {"SOL": Decimal(10)}))
        )
        self.steps = SagaSteps(
            SagaDependencies(
                gateways={"alpha": self.alpha, "beta": self.beta},
                markets={(v, "SOL/USDT"): market(v, "SOL/USDT") for v in ("alpha", "beta")},
                journal=self.journal,
                kill_switch=self.kill_switch,
                alerts=self.alerts,
                clock=self.clock,
                pause=self.clock.advance,
                settings=ExecutionSettings(poll_seconds=0),
            )
        )

    def start(self, opp: Opportunity | None = None) -> SagaState:
        return SagaState(execution_id="exec-1", opportunity=opp or opportunity())

    def status(self) -> ExecutionStatus:
        return self.journal.get("exec-1").status

    def open_orders(self) -> int:
        return len(self.alpha.fetch_open_orders()) + len(self.beta.fetch_open_orders())


def test_happy_path_settles_with_profit_in_the_quote_asset() -> None:
    world = World()
    state = world.steps.prepare(world.start())
    assert state.accepted is True
    state = world.steps.place_legs(state)
    assert state.fills is not None
    assert state.fills.all_filled
    world.steps.settle(state)
    assert world.status() is ExecutionStatus.SETTLED
    pnl = world.journal.pnl["exec-1"]
    assert pnl["SOL"] == 0
    assert pnl["USDT"] == Decimal(152) - Decimal(150) - Decimal("0.302")


@pytest.mark.parametrize(
    ("arrange", "reason"),
    [
        (lambda w: w.kill_switch.engage("by hand", NOW), "kill_switch_engaged"),
        (lambda w: w.alpha.set_free({"USDT": Decimal(100)}), "insufficient_balance: alpha USDT"),
        (lambda w: setattr(w.clock, "ms", NOW + 5_000), "stale_quote"),
        (lambda w: setattr(w.beta, "faults", VenueFaults(outage_from_call=0)), "balances_unavailable: beta"),
    ],
)
def test_prepare_refuses_and_records_why_before_any_order(arrange: object, reason: str) -> None:
    world = World()
    arrange(world)  # type: ignore[operator]
    state = world.steps.prepare(world.start())
    assert state.accepted is False
    assert state.refusal is not None
    assert state.refusal.startswith(reason)
    assert world.status() is ExecutionStatus.REFUSED
    assert world.journal.get("exec-1").reason == state.refusal
    assert world.alpha.placements == world.beta.placements == []


def test_a_rejected_leg_is_compensated_and_reconciled_flat() -> None:
    world = World({"beta": VenueFaults(place=(FaultRule(fault=PlaceFault.REJECT, side=Side.SELL),))})
    state = world.steps.place_legs(world.steps.prepare(world.start()))
    assert state.fills is not None
    assert state.fills.all_final
    assert not state.fills.all_filled
    state = world.steps.reconcile(world.steps.compensate(state))
    assert state.reconciliation is not None
    assert state.reconciliation.flat, state.reconciliation
    assert world.status() is ExecutionStatus.COMPENSATED
    assert world.open_orders() == 0
    # How it ended is on the record itself, with the strategy the plan traded (the bought SOL sold back, or the
    # missing sell completed): nobody has to reparse the audit trail to learn it.
    planned = [e.detail["strategy"] for e in world.journal.events("exec-1") if e.kind == "compensation_planned"]
    assert world.journal.get("exec-1").strategy == state.strategy == planned[-1]
    assert state.strategy in {CompensationStrategy.UNWIND, CompensationStrategy.COMPLETE}


def test_a_timeout_after_accept_is_resolved_by_lookup_not_by_a_second_order() -> None:
    world = World({"alpha": VenueFaults(place=(FaultRule(fault=PlaceFault.TIMEOUT_AFTER_ACCEPT),))})
    state = world.steps.prepare(world.start())
    first_leg_id = world.steps._leg_intents(state)[0].client_order_id
    placed = world.steps.place_legs(state)
    assert placed.fills is not None
    assert placed.fills.all_filled
    world.steps.place_legs(state)  # a Lambda retry of the same task
    assert world.alpha.placements == [first_leg_id]
    assert len(world.beta.placements) == 1


def test_a_price_beyond_the_cap_ends_in_an_incident_with_alert_and_kill_switch() -> None:
    world = World({"beta": VenueFaults(place=(FaultRule(fault=PlaceFault.REJECT, side=Side.SELL),))})
    state = world.steps.place_legs(world.steps.prepare(world.start()))
    world.books = {v: book(v, "SOL/USDT", "140", "140.1") for v in ("alpha", "beta")}
    state = world.steps.reconcile(world.steps.compensate(state))
    assert state.reconciliation is not None
    assert not state.reconciliation.flat
    assert state.reconciliation.residual == {"SOL": Decimal(1)}
    world.steps.incident(state)
    assert world.status() is ExecutionStatus.INCIDENT
    assert world.kill_switch.engaged
    assert world.alerts.published


def test_an_order_whose_cancel_always_fails_is_reported_open() -> None:
    no_fill = FaultRule(fault=PlaceFault.NO_FILL, side=Side.SELL)
    world = World({"beta": VenueFaults(place=(no_fill,), cancel_failures=-1)})
    state = world.steps.place_legs(world.steps.prepare(world.start()))
    assert state.fills is not None
    assert state.fills.legs[1].status is OrderStatus.OPEN
    with pytest.raises(OrdersStillOpenError):
        world.steps.compensate(state)
    assert len(world.alpha.placements) == len(world.beta.placements) == 1  # nothing new was sent
    state = world.steps.reconcile(state)
    assert state.reconciliation is not None
    assert state.reconciliation.open_orders == 1
    assert not state.reconciliation.flat


def test_a_duplicated_place_legs_never_sends_an_intent_twice_even_when_the_venue_lists_it_late(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two PlaceLegs invocations of one execution (a retry while the first still runs): the second finds
    # nothing at the venues (they list new orders late) and must not send again.
    world = World()
    state = world.steps.prepare(world.start())
    world.steps.place_legs(state)
    sent = len(world.alpha.placements) + len(world.beta.placements)
    assert sent == 2
    for venue in (world.alpha, world.beta):
        monkeypatch.setattr(venue, "find_order", lambda cid, symbol: None)
    again = world.steps.place_legs(state)
    assert len(world.alpha.placements) + len(world.beta.placements) == sent
    assert again.fills is not None
    assert not again.fills.all_filled  # unknown yet: the saga's next steps look the orders up again
    refused = [e for e in world.journal.events("exec-1") if e.kind == "order_not_resent"]
    assert len(refused) == 2
