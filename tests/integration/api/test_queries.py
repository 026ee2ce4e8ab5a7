"""The operators' reads: cursor pages that add up to the whole listing, an execution's full record with its
chain verdict, P&L grouped three ways, and a health report that names what it could not read."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from arbiter.api.errors import InvalidRequestError, NotFoundError
from arbiter.api.queries import ExecutionFilter, OpportunityFilter
from arbiter.api.views import PnlGrouping
from arbiter.bootstrap.api import DeployedHeartbeats
from arbiter.models import ExecutionStatus
from arbiter.models.heartbeat import FeedHealth, ShardHeartbeat, shard_name
from arbiter.models.verification import VenueVerification
from arbiter.storage.heartbeats import InMemoryHeartbeatStore
from arbiter.storage.opportunities import DynamoOpportunityStore
from tests.integration.api.conftest import NOW, OPERATOR, World, opportunity


def test_execution_pages_add_up_to_the_listing_newest_first(world: World) -> None:
    for n in range(7):
        world.execution(f"e{n}", NOW - 3_600_000 * n, ExecutionStatus.SETTLED if n % 2 else None)
    queries, seen, cursor = world.api.queries, [], None
    while True:
        page = queries.executions(ExecutionFilter(), cursor, 3)
        seen += [item.execution_id for item in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"e{n}" for n in range(7)]
    settled = queries.executions(ExecutionFilter(status=ExecutionStatus.SETTLED), None, 10)
    assert [i.execution_id for i in settled.items] == ["e1", "e3", "e5"]
    recent = queries.executions(ExecutionFilter(from_ms=NOW - 3_600_000), None, 10)
    assert [i.execution_id for i in recent.items] == ["e0", "e1"]
    assert queries.executions(ExecutionFilter(venue="gamma"), None, 10).items == []
    route = settled.items[0].route
    assert len(queries.executions(ExecutionFilter(route=route), None, 10).items) == 7


def test_a_cursor_it_never_gave_names_the_field(world: World) -> None:
    with pytest.raises(InvalidRequestError) as bad:
        world.api.queries.executions(ExecutionFilter(), "bm9wZQ", 3)
    assert bad.value.field == "cursor"
    forged = base64.urlsafe_b64encode(b"EXEC#not-a-time#e1").decode()
    with pytest.raises(InvalidRequestError) as bad_position:
        world.api.queries.executions(ExecutionFilter(), forged, 3)
    assert bad_position.value.field == "cursor"
    with pytest.raises(InvalidRequestError) as reversed_range:
        world.api.queries.executions(ExecutionFilter(from_ms=NOW, to_ms=NOW - 1), None, 3)
    assert reversed_range.value.field == "from"


def test_an_execution_s_record_with_its_trail_and_verdict(world: World) -> None:
    world.execution("e1", NOW - 1_000, ExecutionStatus.INCIDENT)
    detail = world.api.queries.execution("e1")
    assert detail.execution.status is ExecutionStatus.INCIDENT
    assert [event.kind for event in detail.audit] == ["created", "status"]
    assert detail.chain.intact
    assert detail.resolution is None
    with pytest.raises(NotFoundError):
        world.api.queries.execution("e404")


def test_incidents_and_their_resolution(world: World) -> None:
    world.execution("e1", NOW - 2_000, ExecutionStatus.INCIDENT)
    world.execution("e2", NOW - 1_000, ExecutionStatus.INCIDENT)
    world.execution("e3", NOW - 500, ExecutionStatus.SETTLED)
    world.api.operations.resolve_incident(OPERATOR, "e1", "checked")
    listed = world.api.queries.incidents(None, None, None, 10)
    assert [(i.execution_id, i.resolved) for i in listed.items] == [("e2", False), ("e1", True)]
    open_only = world.api.queries.incidents(None, None, None, 10, resolved=False)
    assert [i.execution_id for i in open_only.items] == ["e2"]


def test_opportunities_filtered_and_paged(world: World) -> None:
    store = world.api.queries.opportunities
    assert isinstance(store, DynamoOpportunityStore)
    for n in range(5):
        store.put(opportunity(NOW - 1_000 * n, ("alpha", "gamma") if n == 2 else ("alpha", "beta")))
    queries = world.api.queries
    first = queries.list_opportunities(OpportunityFilter(), None, 2)
    rest = queries.list_opportunities(OpportunityFilter(), first.next_cursor, 10)
    assert [o.detected_at for o in first.items + rest.items] == [NOW - 1_000 * n for n in range(5)]
    assert rest.next_cursor is None
    gamma = queries.list_opportunities(OpportunityFilter(venue="gamma"), None, 10)
    assert [o.detected_at for o in gamma.items] == [NOW - 2_000]
    assert queries.list_opportunities(OpportunityFilter(min_profit=Decimal(2)), None, 10).items == []


def test_pnl_by_day_asset_and_venue(world: World) -> None:
    journal = world.stores.journal
    world.execution("e1", NOW - 1_000)
    world.execution("e2", NOW - 500)
    journal.record_pnl("e1", {"USDT": Decimal("1.5")}, NOW - 900)
    journal.record_pnl("e2", {"USDT": Decimal("-0.5"), "SOL": Decimal("0.01")}, NOW - 400)
    queries = world.api.queries
    by_day = queries.pnl(None, None, PnlGrouping.DAY)
    assert [(r.key, r.pnl, r.executions) for r in by_day.rows] == [
        ("2026-01-01", {"SOL": Decimal("0.01"), "USDT": Decimal("1.0")}, None)
    ]
    by_asset = queries.pnl(None, None, PnlGrouping.ASSET)
    assert {r.key: (r.pnl, r.executions) for r in by_asset.rows} == {
        "SOL": ({"SOL": Decimal("0.01")}, None),
        "USDT": ({"USDT": Decimal("1.0")}, None),
    }
    assert queries.pnl(None, None, PnlGrouping.VENUE).rows == []  # no order was recorded
    with pytest.raises(InvalidRequestError) as too_long:
        queries.pnl(NOW - 40 * 86_400_000, NOW, PnlGrouping.VENUE)
    assert too_long.value.field == "from"


def test_balances_carry_their_age(world: World) -> None:
    world.stores.verifications.put(
        VenueVerification(venue="alpha", verified_at_ms=NOW - 5_000, balances={"USDT": Decimal(10)})
    )
    listed = {v.venue: v for v in world.api.queries.balances().venues}
    assert listed["alpha"].age_ms == 5_000
    assert listed["alpha"].balances == {"USDT": Decimal(10)}
    assert listed["beta"].verified_at_ms is None


def test_health_names_what_it_cannot_read_and_reports_the_rest(world: World) -> None:
    world.execution("e1", NOW - 1_000, ExecutionStatus.INCIDENT)
    world.stores.kill_switch.engage("incident in execution e1", NOW)
    healthy = world.api.queries.health()
    assert healthy.trading == "halted"
    assert healthy.last_incident is not None
    assert healthy.last_incident.execution_id == "e1"
    assert healthy.missing == ["scanner_shards: this deployment records no scanner heartbeats"]

    class Down:
        def get(self, venue: str) -> object:
            raise ConnectionError(venue)

    world.api.queries.breakers = Down()  # type: ignore[assignment]
    degraded = world.api.queries.health()
    assert degraded.status == "degraded"
    assert "venues.alpha.breaker: ConnectionError" in degraded.missing
    assert degraded.kill_switch is not None
    assert degraded.kill_switch.engaged
    assert [v.breaker for v in degraded.venues] == [None, None]


def test_health_reports_scanner_heartbeats_when_the_deployment_has_them(world: World) -> None:
    store = InMemoryHeartbeatStore()
    feed = FeedHealth(
        venue="alpha",
        connected=False,
        last_message_age_ms=9_000,
        books=4,
        reconnects=3,
        resyncs=1,
        rest_snapshots=2,
        dropped=0,
    )
    store.beat(ShardHeartbeat(shard=shard_name(1, 2), owner="scanner-b", at_ms=NOW - 2_000, feeds=(feed,)))
    world.api.queries.heartbeats = DeployedHeartbeats(store, shards=2)
    report = world.api.queries.health()
    assert report.scanner_shards == {"shard-1-of-2": NOW - 2_000}  # shard 0 never beat: not listed
    assert report.scanner_feeds == {"shard-1-of-2": [feed]}
    assert report.missing == []
    assert report.status == "ok"


def test_outcomes_count_what_was_seen_how_it_ended_and_why_it_was_refused(world: World) -> None:
    from arbiter.models.events import RefusalReason, Refused

    store = world.api.queries.opportunities
    assert isinstance(store, DynamoOpportunityStore)
    for n in range(3):
        store.put(opportunity(NOW - 10_000 * n))
    world.execution("s1", NOW - 5_000, ExecutionStatus.SETTLED)
    for name, codes in (("r1", ("daily_loss", "stale_quote")), ("r2", ("daily_loss",)), ("r3", ())):
        world.execution(name, NOW - 4_000, ExecutionStatus.REFUSED)
        if codes:
            refusals = tuple(RefusalReason(code=code, detail="x") for code in codes)
            world.stores.journal.append_event(name, Refused(reason="; ".join(codes), refusals=refusals), NOW - 3_000)
    outcomes = world.api.queries.outcomes(None, None)
    assert outcomes.seen == 3
    assert outcomes.executions == {"refused": 3, "settled": 1}
    assert [(r.code, r.executions) for r in outcomes.refused_by_reason] == [
        ("daily_loss", 2),
        ("stale_quote", 1),
        ("unstated", 1),
    ]
