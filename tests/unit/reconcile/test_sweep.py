"""The scheduled reconciler against paper venues: what the venues hold is checked against the journal, and
what the journal cannot explain becomes an incident people are told about."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from arbiter.bootstrap.saga import WiringError, build_reconciler
from arbiter.execution.topology import SAGA_TIMEOUT_SECONDS
from arbiter.gateway.errors import VenueUnavailableError
from arbiter.gateway.paper import FaultRule, PlaceFault, VenueFaults
from arbiter.models import ExecutionStatus, Order, OrderRequest, Side, derive_client_order_id
from arbiter.models.events import DustAccrued, ExecutionStuck, Reread, Swept, VenueIncident, read_event
from arbiter.models.time import utc_day
from arbiter.reconcile.sweep import Reconciler, venue_trail
from arbiter.settings import ReconcileSettings
from arbiter.storage.verified_balances import InMemoryVerificationStore
from tests.support.saga_world import World

USD = {"USDT": Decimal(1), "SOL": Decimal(150)}
MINUTE = 60_000


def reconciler(world: World) -> Reconciler:
    return Reconciler(
        journal=world.journal,
        gateways={"alpha": world.alpha, "beta": world.beta},
        verifications=InMemoryVerificationStore(),
        kill_switch=world.kill_switch,
        alerts=world.alerts,
        clock=world.clock,
        usd_value=USD.get,
        settings=ReconcileSettings(),
    )


def settle(world: World) -> None:
    steps = world.steps
    state = steps.place_legs(steps.prepare(world.start()))
    assert state.fills is not None
    assert state.fills.all_filled
    steps.reconcile(steps.settle(state))
    assert world.status() is ExecutionStatus.SETTLED


def trail(world: World, venue: str) -> list[Any]:
    return [read_event(e.kind, e.detail) for e in world.journal.events(venue_trail(venue))]


def test_a_settled_execution_whose_fills_explain_the_balances_is_verified() -> None:
    world = World()
    sweeps = reconciler(world)
    assert sweeps.sweep().verified == ["alpha", "beta"]  # the baseline
    settle(world)
    world.clock.advance(MINUTE)
    report = sweeps.sweep()
    assert report.clean
    assert report.verified == ["alpha", "beta"]
    assert report.reread == {"exec-1": ()}
    assert not world.kill_switch.is_engaged()
    assert world.alerts.published == []
    [*_, swept] = trail(world, "alpha")
    assert isinstance(swept, Swept)
    assert swept.verified
    assert swept.executions == ("exec-1",)


def test_an_order_the_venue_executed_twice_under_one_id_is_a_venue_incident_raised_once() -> None:
    # Review finding: lookups return one of the two executions, so the saga settles and sees nothing; only the
    # balances show the second one.
    twice = VenueFaults(place=(FaultRule(fault=PlaceFault.EXECUTED_TWICE, side=Side.BUY),))
    world = World({"alpha": twice})
    sweeps = reconciler(world)
    sweeps.sweep()
    settle(world)
    world.clock.advance(MINUTE)
    report = sweeps.sweep()
    [incident] = report.incidents
    assert incident.venue == "alpha"
    assert incident.unexplained["SOL"] == Decimal(1)  # the hidden twin's SOL
    assert incident.unexplained["USDT"] < Decimal(-150)
    assert incident.unexplained_usd["SOL"] == Decimal(150)
    assert incident.executions == ("exec-1",)
    assert world.kill_switch.is_engaged()
    [(subject, message)] = world.alerts.published
    assert subject == "Arbiter venue incident: alpha"
    assert message["venue"] == "alpha"
    assert message["unexplained"]["SOL"] == "1"
    assert message["executions"] == ["exec-1"]
    assert isinstance(trail(world, "alpha")[-1], VenueIncident)
    world.clock.advance(MINUTE)
    again = sweeps.sweep()  # the same difference: still unverified, not alerted every minute
    assert again.incidents == []
    assert "open incident" in again.skipped["alpha"]
    assert len(world.alerts.published) == 1


def test_an_order_that_changed_after_the_execution_ended_opens_an_incident_on_it() -> None:
    world = World()
    sweeps = reconciler(world)
    sweeps.sweep()
    settle(world)
    cid = derive_client_order_id("exec-1", 1, 0)
    recorded = world.journal.order(cid)
    assert recorded is not None
    booked = dict(world.journal.pnl["exec-1"])
    day_before = dict(world.journal.realised(utc_day(world.clock.ms)))
    # The venue's word changes after the saga closed (a fill it reported late): the journal never heard of it.
    account = world.beta.ledger.account(world.beta.opening)
    changed = recorded.model_copy(update={"fees": (*recorded.fees, recorded.fees[0])})  # a second fee charged
    assert world.beta.ledger.commit(account.model_copy(update={"version": account.version + 1}), changed)
    world.clock.advance(MINUTE)
    report = sweeps.sweep()
    assert report.execution_incidents == ["exec-1"]
    assert world.status() is ExecutionStatus.INCIDENT
    assert world.kill_switch.is_engaged()
    reread = [d for e in world.journal.events("exec-1") if isinstance(d := read_event(e.kind, e.detail), Reread)]
    assert [r.age_index for r in reread] == [0]
    assert cid in reread[0].differences[0]
    assert world.journal.order(cid) != recorded  # the venue's word joined the journal; the old state is in the trail
    # The P&L follows the venue's word: the second fee is booked, the day's realised P&L moves by it.
    fee = recorded.fees[0]
    assert world.journal.pnl["exec-1"][fee.currency] == booked[fee.currency] - fee.cost
    assert world.journal.realised(utc_day(world.clock.ms))[fee.currency] == day_before[fee.currency] - fee.cost
    assert any(e.kind == "pnl_corrected" for e in world.journal.events("exec-1"))


def test_each_age_is_read_once_and_later_ages_again() -> None:
    world = World()
    sweeps = reconciler(world)
    settle(world)
    for minutes, expected in ((0, {}), (1, {"exec-1": ()}), (2, {}), (10, {"exec-1": ()}), (61, {"exec-1": ()})):
        world.clock.ms = world.journal.get("exec-1").updated_at + minutes * MINUTE
        assert sweeps.sweep().reread == expected, minutes


def test_an_unreachable_venue_is_never_verified_and_is_read_again_next_sweep() -> None:
    world = World({"beta": VenueFaults(outage_from_call=0, outage_calls=4)})
    sweeps = reconciler(world)
    first = sweeps.sweep()
    assert first.verified == ["alpha"]
    assert "VenueUnavailableError" in first.skipped["beta"]
    stored = sweeps.verifications.get("beta")
    assert stored is not None
    assert stored.verified_at_ms is None
    assert stored.error is not None
    assert not world.kill_switch.is_engaged()  # unknown is reported, not an incident
    for _ in range(4):
        sweeps.sweep()
    assert "beta" in sweeps.sweep().verified  # the outage is over


def test_a_malformed_balance_answer_fails_that_venue_naming_the_field() -> None:
    world = World()
    sweeps = reconciler(world)

    def malformed() -> Any:
        from arbiter.models import Balances

        return Balances.model_validate({"venue": "alpha", "balances": {"USDT": {"asset": "USDT", "free": "-5"}},
                                        "timestamp": 1})  # fmt: skip

    world.alpha.fetch_balances = malformed  # type: ignore[method-assign]
    report = sweeps.sweep()
    assert report.skipped["alpha"].startswith("malformed balances: balances.USDT.free")
    assert "alpha" not in report.verified


def test_an_open_order_with_our_id_scheme_the_journal_never_recorded_is_an_incident() -> None:
    world = World()
    sweeps = reconciler(world)
    sweeps.sweep()
    stray = derive_client_order_id("exec-that-never-was", 0, 0)
    world.alpha.place_order(
        OrderRequest(
            venue="alpha",
            symbol="SOL/USDT",
            side=Side.BUY,
            amount=Decimal(1),
            price=Decimal(100),
            client_order_id=stray,
            time_in_force="GTC",
        )
    )
    report = sweeps.sweep()
    [incident] = report.incidents
    assert incident.unknown_orders == (stray,)
    assert world.kill_switch.is_engaged()


def test_the_reconciler_reads_no_balances_of_a_venue_with_an_execution_running() -> None:
    world = World()
    sweeps = reconciler(world)
    world.steps.prepare(world.start())  # placing: balances are moving
    report = sweeps.sweep()
    assert set(report.skipped) == {"alpha", "beta"}
    assert report.verified == []


@pytest.mark.parametrize("order", [None])
def test_a_venue_that_fails_every_read_keeps_its_executions_unread(order: Order | None) -> None:
    world = World()
    sweeps = reconciler(world)
    settle(world)
    world.clock.advance(MINUTE)

    def down(*_args: Any) -> Order | None:
        raise VenueUnavailableError("down", venue="beta")

    world.beta.find_order = down  # type: ignore[method-assign]
    report = sweeps.sweep()
    assert report.reread == {"exec-1": ()}
    [reread] = [d for e in world.journal.events("exec-1") if isinstance(d := read_event(e.kind, e.detail), Reread)]
    assert reread.unreachable == ("beta",)
    world.beta.find_order = lambda cid, symbol: order or world.beta.ledger.order(cid)  # type: ignore[method-assign]
    assert sweeps.sweep().reread == {"exec-1": ()}  # read again: an unreachable read never counts as done


def test_a_venue_unreadable_for_long_after_trading_on_it_is_an_incident_raised_once() -> None:
    world = World()
    sweeps = reconciler(world)
    sweeps.sweep()
    settle(world)
    world.alpha.faults = VenueFaults(outage_from_call=0)  # alpha down for good after the trade
    for minute in range(1, 6):  # first found unreadable at minute 1
        world.clock.advance(MINUTE)
        report = sweeps.sweep()
        assert report.incidents == [], minute  # a few minutes unreadable: reported, retried
    assert not world.kill_switch.is_engaged()
    world.clock.advance(MINUTE)
    [incident] = sweeps.sweep().incidents  # unreadable for five minutes: nobody knows what alpha holds
    assert incident.unreadable is not None
    assert incident.executions == ("exec-1",)
    assert world.kill_switch.is_engaged()
    world.clock.advance(MINUTE)
    assert sweeps.sweep().incidents == []  # once per spell
    assert len(world.alerts.published) == 1


def test_an_executions_leftover_below_tolerance_is_summed_as_dust_per_venue_and_asset() -> None:
    # The buy's fee is charged in the SOL it receives: 0.001 SOL short, below the $1 tolerance, so it settles.
    world = World({"alpha": VenueFaults(fee_in_received=True)})
    sweeps = reconciler(world)
    sweeps.sweep()
    settle(world)
    world.clock.advance(MINUTE)
    report = sweeps.sweep()
    assert report.clean
    buy = world.journal.order(derive_client_order_id("exec-1", 0, 0))
    assert buy is not None
    fee = sum((f.cost for f in buy.fees if f.currency == "SOL"), Decimal(0))
    assert fee > 0
    dust = {venue: sweeps.verifications.get(venue).dust for venue in ("alpha", "beta")}  # type: ignore[union-attr]
    assert sum((d.get("SOL", Decimal(0)) for d in dust.values()), Decimal(0)) == -fee
    assert "USDT" not in dust["alpha"]  # the profit currency is profit, not dust
    accrued = [d for d in trail(world, "alpha") if isinstance(d, DustAccrued)]
    assert [d.source for d in accrued] == ["exec-1"]
    assert world.alerts.published == []  # far below the alert threshold
    world.clock.advance(10 * MINUTE)
    sweeps.sweep()  # the next age's re-read does not count the same leftover again
    assert sweeps.verifications.get("alpha").dust == dust["alpha"]  # type: ignore[union-attr]


def test_a_running_dust_total_worth_more_than_the_threshold_is_alerted_once() -> None:
    # Each sweep finds 0.5 USDT the journal cannot explain: dust alone, money together.
    world = World()
    sweeps = reconciler(world)
    sweeps.settings = ReconcileSettings(dust_alert_usd=Decimal(2))
    sweeps.sweep()
    alerts = []
    for _ in range(8):
        world.alpha.set_free({"USDT": world.alpha.free["USDT"] + Decimal("0.5")})
        world.clock.advance(MINUTE)
        report = sweeps.sweep()
        assert report.incidents == []  # each difference alone is dust
        alerts += report.dust_alerts
    assert alerts == [("alpha", "USDT")]  # crossed at 2.5 USDT, alerted once
    [(subject, message)] = world.alerts.published
    assert subject == "Arbiter dust on alpha: USDT"
    assert message["totals"]["USDT"] == "2.5"
    assert sweeps.verifications.get("alpha").dust == {"USDT": Decimal(4)}  # type: ignore[union-attr]
    assert not world.kill_switch.is_engaged()


def test_an_execution_the_state_machine_stopped_before_it_ended_becomes_an_incident_and_its_venues_are_checked() -> (
    None
):
    # Deploy review: an execution that timed out (or failed outside every Catch) stayed "placing" forever: no
    # incident, its slot taken, and both venues' balances never compared again ("an execution is running on it").
    world = World({"beta": VenueFaults(place=(FaultRule(fault=PlaceFault.REJECT, side=Side.SELL),))})
    sweeps = reconciler(world)
    sweeps.sweep()
    world.steps.place_legs(world.steps.prepare(world.start()))  # then the machine stops: no Compensate ran
    assert world.status() is ExecutionStatus.PLACING
    world.clock.advance(ReconcileSettings().stuck_after_ms - 1)
    early = sweeps.sweep()
    assert early.execution_incidents == []  # the machine may still be running it
    assert early.skipped == {"alpha": "an execution is running on it", "beta": "an execution is running on it"}
    world.clock.advance(1)
    report = sweeps.sweep()
    assert report.execution_incidents == ["exec-1"]
    assert world.status() is ExecutionStatus.INCIDENT
    assert world.kill_switch.is_engaged()
    assert world.alerts.published
    stuck = [d for e in world.journal.events("exec-1") if isinstance(d := read_event(e.kind, e.detail), ExecutionStuck)]
    assert [s.status for s in stuck] == [ExecutionStatus.PLACING]
    assert report.skipped == {}  # no execution runs any more: the balances are compared
    assert world.journal.active_executions() == []
    assert report.verified == ["alpha", "beta"]  # the journal explains what the venues hold: its fills
    world.clock.advance(MINUTE)
    assert sweeps.sweep().reread == {"exec-1": ()}  # re-read like every ended execution (the venues agree)


def test_an_execution_is_declared_stopped_only_once_the_state_machine_must_have_stopped_it() -> None:
    assert ReconcileSettings().stuck_after_ms > SAGA_TIMEOUT_SECONDS * 1000
    world = World()
    with pytest.raises(WiringError, match="ARBITER_RECONCILE__STUCK_AFTER_MS: 900000 is not above"):
        build_reconciler(
            ReconcileSettings(stuck_after_ms=900_000),
            gateways={"alpha": world.alpha},
            stores=None,  # type: ignore[arg-type]  # refused before any store is touched
            alerts=world.alerts,
            clock=world.clock,
            usd_value=USD.get,
        )
