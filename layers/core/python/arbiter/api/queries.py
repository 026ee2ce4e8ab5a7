"""The operators' reads: health, executions, opportunities, incidents, balances and P&L, each page a cursor's
worth. Health never fails as a whole: a part that cannot be read is named under ``missing`` and the rest is
still reported."""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import Any, Literal, TypeVar

from arbiter.api.errors import InvalidRequestError, NotFoundError
from arbiter.api.ports import Breakers, Heartbeats, Opportunities, ReadJournal, Verifications
from arbiter.api.views import (
    BalanceList,
    ChainVerdict,
    ExecutionDetail,
    ExecutionPage,
    ExecutionSummary,
    Health,
    Incident,
    IncidentPage,
    OpportunityOutcomes,
    OpportunityPage,
    OrderView,
    PnlGrouping,
    PnlReport,
    PnlRow,
    RefusalCount,
    Resolution,
    VenueBalances,
    VenueHealth,
)
from arbiter.execution.exposure import net_exposure
from arbiter.models import Execution, ExecutionStatus, OpportunityKind
from arbiter.models.controls import route_of
from arbiter.models.events import IncidentResolved, Refused, read_event
from arbiter.models.time import Clock, utc_day
from arbiter.risk.ports import KillSwitch
from arbiter.storage.controls import TradingControlsStore
from arbiter.storage.errors import ExecutionNotFoundError

DAY_MS = 86_400_000
DEFAULT_WINDOW_MS = 7 * DAY_MS
"""A listing without a time range covers the last seven days."""
MAX_WINDOW_MS = 366 * DAY_MS
MAX_VENUE_PNL_DAYS = 31
T = TypeVar("T")


def encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, prefix: str) -> str | None:
    """The position a cursor names; anything but a position this listing gave is refused naming the cursor."""
    if cursor is None:
        return None
    try:
        position = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        position = ""
    if not re.fullmatch(rf"{prefix}[0-9]{{15}}#[A-Za-z0-9_-]{{1,80}}", position):
        raise InvalidRequestError("cursor", "not a cursor this listing gave")
    return position


def window(from_ms: int | None, to_ms: int | None, now_ms: int) -> tuple[int, int]:
    end = now_ms if to_ms is None else to_ms
    start = end - DEFAULT_WINDOW_MS if from_ms is None else from_ms
    if start > end:
        raise InvalidRequestError("from", f"{start} is after to ({end})")
    if end - start > MAX_WINDOW_MS:
        raise InvalidRequestError("from", f"the range may cover {MAX_WINDOW_MS // DAY_MS} days at most")
    return max(start, 0), end


def page(found: Iterator[tuple[str, T]], limit: int) -> tuple[list[T], str | None]:
    """Up to ``limit`` items and the cursor after the last one (None when nothing follows)."""
    taken = list(islice(found, limit + 1))
    items = [item for _, item in taken[:limit]]
    return items, encode_cursor(taken[limit - 1][0]) if len(taken) > limit else None


@dataclass(frozen=True)
class ExecutionFilter:
    from_ms: int | None = None
    to_ms: int | None = None
    status: ExecutionStatus | None = None
    route: str | None = None
    venue: str | None = None


@dataclass(frozen=True)
class OpportunityFilter:
    from_ms: int | None = None
    to_ms: int | None = None
    kind: OpportunityKind | None = None
    venue: str | None = None
    min_profit: Decimal | None = None


def summary(execution: Execution) -> ExecutionSummary:
    return ExecutionSummary(
        execution_id=execution.execution_id,
        status=execution.status,
        kind=execution.opportunity.kind.value,
        route=route_of(execution.opportunity),
        created_at=execution.created_at,
        updated_at=execution.updated_at,
        expected_profit=execution.opportunity.expected_profit,
        profit_currency=execution.opportunity.profit_currency,
        reason=execution.reason,
    )


@dataclass
class Queries:
    journal: ReadJournal
    kill_switch: KillSwitch
    controls: TradingControlsStore
    opportunities: Opportunities
    verifications: Verifications
    breakers: Breakers
    venues: Sequence[str]
    clock: Clock
    heartbeats: Heartbeats | None = None
    """The scanner's heartbeats; None: this deployment records none, and health says so."""

    # -- executions -----------------------------------------------------------------------------------------
    def executions(self, where: ExecutionFilter, cursor: str | None, limit: int) -> ExecutionPage:
        start, end = window(where.from_ms, where.to_ms, self.clock.now_ms())
        found = self.journal.executions_between(start, end, before=decode_cursor(cursor, "EXEC#"), status=where.status)
        matching = (
            (position, summary(e))
            for position, e in found
            if (where.route is None or route_of(e.opportunity) == where.route)
            and (where.venue is None or any(leg.venue == where.venue for leg in e.opportunity.legs))
        )
        items, next_cursor = page(matching, limit)
        return ExecutionPage(items=items, next_cursor=next_cursor)

    def execution(self, execution_id: str) -> ExecutionDetail:
        try:
            execution = self.journal.get(execution_id)
        except ExecutionNotFoundError:
            raise NotFoundError(f"execution {execution_id} not found") from None
        orders = [
            OrderView(intent=i, order=self.journal.order(i.client_order_id)) for i in self.journal.intents(execution_id)
        ]
        fees: dict[str, Decimal] = defaultdict(Decimal)
        for view in orders:
            for fee in view.order.fees if view.order else ():
                fees[fee.currency] += fee.cost
        events = list(self.journal.events(execution_id))
        report = self.journal.verify(execution_id)
        return ExecutionDetail(
            execution=execution,
            orders=orders,
            fees=dict(fees),
            pnl=dict(self.journal.pnl(execution_id)),
            audit=events,
            chain=ChainVerdict(
                intact=report.intact,
                events=report.events,
                first_broken_link=report.first_broken_link,
                truncated=report.truncated,
            ),
            resolution=self._resolution(execution_id),
        )

    def _resolution(self, execution_id: str) -> Resolution | None:
        for event in self.journal.events(execution_id):
            if isinstance(done := read_event(event.kind, event.detail), IncidentResolved):
                return Resolution(note=done.note, by=done.by, at_ms=event.at_ms)
        return None

    # -- incidents ------------------------------------------------------------------------------------------
    def incidents(
        self, from_ms: int | None, to_ms: int | None, cursor: str | None, limit: int, resolved: bool | None = None
    ) -> IncidentPage:
        start, end = window(from_ms, to_ms, self.clock.now_ms())
        found = self.journal.executions_between(
            start, end, before=decode_cursor(cursor, "EXEC#"), status=ExecutionStatus.INCIDENT
        )
        incidents = ((position, self._incident(e)) for position, e in found)
        matching = ((p, i) for p, i in incidents if resolved is None or i.resolved is resolved)
        items, next_cursor = page(matching, limit)
        return IncidentPage(items=items, next_cursor=next_cursor)

    def _incident(self, execution: Execution) -> Incident:
        resolution = self._resolution(execution.execution_id)
        return Incident(
            execution_id=execution.execution_id,
            reason=execution.reason,
            route=route_of(execution.opportunity),
            created_at=execution.created_at,
            updated_at=execution.updated_at,
            resolved=resolution is not None,
            resolution=resolution,
        )

    # -- opportunities --------------------------------------------------------------------------------------
    def list_opportunities(self, where: OpportunityFilter, cursor: str | None, limit: int) -> OpportunityPage:
        start, end = window(where.from_ms, where.to_ms, self.clock.now_ms())
        before = decode_cursor(cursor, "OPP#")
        found = sorted(
            ((f"OPP#{o.detected_at:015d}#{o.id}", o) for o in self.opportunities.between(start, end)),
            key=lambda pair: pair[0],
            reverse=True,
        )
        matching = (
            (position, o)
            for position, o in found
            if (before is None or position < before)
            and (where.kind is None or o.kind is where.kind)
            and (where.venue is None or any(leg.venue == where.venue for leg in o.legs))
            and (where.min_profit is None or o.expected_profit >= where.min_profit)
        )
        items, next_cursor = page(matching, limit)
        return OpportunityPage(items=items, next_cursor=next_cursor)

    def outcomes(self, from_ms: int | None, to_ms: int | None) -> OpportunityOutcomes:
        """Opportunities seen, executions per status, and refusals per code: one refused execution counts once
        under each code its Refused event names (a refusal can break several rules)."""
        start, end = window(from_ms, to_ms, self.clock.now_ms())
        seen = len(self.opportunities.between(start, end))
        statuses: dict[str, int] = defaultdict(int)
        refusals: dict[str, int] = defaultdict(int)
        for _, execution in self.journal.executions_between(start, end):
            statuses[execution.status.value] += 1
            if execution.status is ExecutionStatus.REFUSED:
                for code in self._refusal_codes(execution):
                    refusals[code] += 1
        ranked = sorted(refusals.items(), key=lambda pair: (-pair[1], pair[0]))
        return OpportunityOutcomes(
            from_ms=start,
            to_ms=end,
            seen=seen,
            executions=dict(sorted(statuses.items())),
            refused_by_reason=[RefusalCount(code=code, executions=count) for code, count in ranked],
        )

    def _refusal_codes(self, execution: Execution) -> list[str]:
        for event in self.journal.events(execution.execution_id):
            if isinstance(refused := read_event(event.kind, event.detail), Refused):
                codes = sorted({refusal.code for refusal in refused.refusals})
                return codes or ["unstated"]
        return ["unstated"]  # refused before its trail said why: counted, never dropped

    # -- balances and P&L -----------------------------------------------------------------------------------
    def balances(self) -> BalanceList:
        now = self.clock.now_ms()
        venues = []
        for venue in self.venues:
            verified = self.verifications.get(venue)
            at = verified.verified_at_ms if verified else None
            venues.append(
                VenueBalances(
                    venue=venue,
                    balances=dict(verified.balances) if verified else {},
                    verified_at_ms=at,
                    age_ms=None if at is None else max(now - at, 0),
                    attempted_at_ms=verified.attempted_at_ms if verified else None,
                    error=verified.error if verified else None,
                )
            )
        return BalanceList(venues=venues)

    def pnl(self, from_ms: int | None, to_ms: int | None, by: PnlGrouping) -> PnlReport:
        """By day and by asset from the journal's daily totals (one read per day); by venue from each execution's
        orders (what they changed in each venue's account), over at most ``MAX_VENUE_PNL_DAYS``."""
        start, end = window(from_ms, to_ms, self.clock.now_ms())
        days = [utc_day(index * DAY_MS) for index in range(start // DAY_MS, end // DAY_MS + 1)]
        totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        counts: dict[str, set[str]] = defaultdict(set)
        if by is PnlGrouping.VENUE:
            if len(days) > MAX_VENUE_PNL_DAYS:
                raise InvalidRequestError("from", f"by venue, the range may cover {MAX_VENUE_PNL_DAYS} days at most")
            for day in days:
                for execution_id in self.journal.pnl_on(day):
                    for venue, flows in self._venue_flows(execution_id).items():
                        _add(totals[venue], flows)
                        counts[venue].add(execution_id)
        else:
            for day in days:
                realised = self.journal.realised(day)
                for key in [day] if by is PnlGrouping.DAY else list(realised):
                    _add(totals[key], realised if by is PnlGrouping.DAY else {key: realised[key]})
        rows = [
            PnlRow(
                key=key,
                pnl={a: v for a, v in sorted(values.items()) if v},
                executions=len(counts[key]) if by is PnlGrouping.VENUE else None,
            )
            for key, values in sorted(totals.items())
            if any(values.values())
        ]
        return PnlReport(from_ms=start, to_ms=end, by=by, rows=rows)

    def _venue_flows(self, execution_id: str) -> dict[str, dict[str, Decimal]]:
        """Per venue, what the execution's orders changed in its account (fills and fees, per asset)."""
        by_venue: dict[str, list[Any]] = defaultdict(list)
        for intent in self.journal.intents(execution_id):
            order = self.journal.order(intent.client_order_id)
            if order is not None:
                by_venue[intent.venue].append(order)
        return {venue: net_exposure(orders) for venue, orders in by_venue.items()}

    # -- health ---------------------------------------------------------------------------------------------
    def health(self) -> Health:
        missing: list[str] = []

        def read(part: str, what: Callable[[], T]) -> T | None:
            try:
                return what()
            except Exception as error:  # noqa: BLE001 - a part that cannot be read is reported, not raised
                missing.append(f"{part}: {type(error).__name__}")
                return None

        kill_switch = read("kill_switch", self.kill_switch.state)
        pause = read("pause", self.controls.pause_state)
        now = self.clock.now_ms()
        locks = read("locks", lambda: [lock for lock in self.controls.locks() if lock.active(now)])
        venues = [self._venue_health(venue, read) for venue in self.venues]
        attempts = [v.last_attempt_ms for v in venues if v.last_attempt_ms is not None]
        incidents = read("last_incident", lambda: self.incidents(None, None, None, 1).items)
        heartbeats = self.heartbeats
        if heartbeats is None:
            missing.append("scanner_shards: this deployment records no scanner heartbeats")
            beats = None
        else:
            beats = read("scanner_shards", lambda: list(heartbeats.latest()))
        trading: Literal["active", "paused", "halted", "unknown"] = "unknown"
        if kill_switch is not None and pause is not None:
            trading = "halted" if kill_switch.engaged else "paused" if pause.paused else "active"
        return Health(
            status="degraded" if missing else "ok",
            as_of_ms=now,
            trading=trading,
            kill_switch=kill_switch,
            pause=pause,
            active_locks=None if locks is None else len(locks),
            venues=venues,
            reconciler_last_sweep_ms=max(attempts) if attempts else None,
            last_incident=incidents[0] if incidents else None,
            scanner_shards=None if beats is None else {beat.shard: beat.at_ms for beat in beats},
            scanner_feeds=None if beats is None else {beat.shard: list(beat.feeds) for beat in beats},
            scanner_scoring=None if beats is None else {beat.shard: beat.scoring for beat in beats},
            missing=missing,
        )

    def _venue_health(self, venue: str, read: Callable[[str, Callable[[], Any]], Any]) -> VenueHealth:
        breaker = read(f"venues.{venue}.breaker", lambda: self.breakers.get(venue))
        verified = read(f"venues.{venue}.reconciler", lambda: self.verifications.get(venue))
        return VenueHealth(
            venue=venue,
            breaker=breaker.position if breaker else None,
            breaker_failures=breaker.failures if breaker else None,
            verified_at_ms=verified.verified_at_ms if verified else None,
            last_attempt_ms=verified.attempted_at_ms if verified else None,
            error=verified.error if verified else None,
            unreadable_since_ms=verified.unreadable_since_ms if verified else None,
        )


def _add(total: dict[str, Decimal], amounts: Any) -> None:
    for asset, amount in amounts.items():
        total[asset] += amount
