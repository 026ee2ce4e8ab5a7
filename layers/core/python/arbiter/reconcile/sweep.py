"""The scheduled reconciler: what the venues hold, checked again after the sagas end (invariant 8).

Every sweep:
- reads again, by clientOrderId, the orders of every execution that ended within the window, once it is about
  1 minute, 10 minutes and 1 hour old (``ReconcileSettings.reread_ages_ms``), and compares them with the
  journal: a difference is recorded (the venue's word is evidence, added to the journal, never overwriting it)
  and opens an incident on the execution;
- per venue with no execution running, compares the balances it holds (free and in orders) with what the last
  verified balances plus the fills and fees the journal recorded since explain, per asset, valued in USD, and
  lists the open orders that carry a clientOrderId the journal never recorded. Any difference above dust opens a
  venue incident: an audit event on the venue's own trail, an SNS alert naming venue, asset, amount and the
  executions involved, and the kill switch;
- sums per venue and asset what it lets pass as dust (balance differences below dust, executions' leftovers
  below their tolerance) and alerts once a running total is worth more than ``dust_alert_usd``;
- records each step as an audit event. A venue that cannot be read is retried by the next sweep and reported,
  never marked verified.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import ValidationError

from arbiter.execution.exposure import net_exposure, residual_exposure
from arbiter.execution.ports import AlertPublisher, VenueGateway
from arbiter.markets import UsdValue
from arbiter.models import Execution, ExecutionStatus, Order, OrderIntent
from arbiter.models.events import (
    DustAccrued,
    ExecutionStuck,
    Reread,
    Swept,
    VenueIncident,
    event_json,
    read_event,
)
from arbiter.models.time import Clock, utc_day
from arbiter.models.verification import VenueVerification
from arbiter.reconcile.ports import ReconciledJournal, VerificationStore
from arbiter.risk.ports import KillSwitch
from arbiter.settings import ReconcileSettings

logger = logging.getLogger(__name__)
DAY_MS = 86_400_000


Ended = Mapping[str, tuple[Execution, Sequence[OrderIntent]]]
"""The executions ended within the window, by id, with their order intents (read once per sweep)."""


def venue_trail(venue: str) -> str:
    """The audit trail of a venue's sweeps and incidents (beside the executions' own trails)."""
    return f"venue-{venue}"


@dataclass
class SweepReport:
    reread: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Execution id -> the differences its re-read found (empty: it agreed)."""
    verified: list[str] = field(default_factory=list)
    incidents: list[VenueIncident] = field(default_factory=list)
    execution_incidents: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    """Venue -> why its balances were not compared (running execution, unreachable, malformed answer)."""
    dust_alerts: list[tuple[str, str]] = field(default_factory=list)
    """(venue, asset) whose running dust total crossed the alert threshold in this sweep."""

    @property
    def clean(self) -> bool:
        return not self.incidents and not self.execution_incidents


@dataclass
class Reconciler:
    journal: ReconciledJournal
    gateways: Mapping[str, VenueGateway]
    verifications: VerificationStore
    kill_switch: KillSwitch
    alerts: AlertPublisher
    clock: Clock
    usd_value: UsdValue
    settings: ReconcileSettings

    def sweep(self) -> SweepReport:
        now, report = self.clock.now_ms(), SweepReport()
        for execution in self.journal.active_executions():
            if now - execution.created_at >= self.settings.stuck_after_ms:
                self._stuck(execution, now, report)
        ended = {e.execution_id: (e, list(self.journal.intents(e.execution_id))) for e in self._ended(now)}
        for execution, intents in ended.values():
            self._reread(execution, intents, now, report)
        running = {leg.venue for e in self.journal.active_executions() for leg in e.opportunity.legs}
        for venue in sorted(self.gateways):
            if venue in running:
                report.skipped[venue] = "an execution is running on it"
                self.journal.append_event(venue_trail(venue), Swept(venue=venue, verified=False,
                                                                     skipped=report.skipped[venue]), now)  # fmt: skip
                continue
            self._balances(venue, ended, now, report)
        return report

    # -- executions -------------------------------------------------------------------------------------
    def _ended(self, now: int) -> list[Execution]:
        since = now - self.settings.window_ms
        days = sorted({utc_day(max(since, 0) + offset) for offset in range(0, now - since + DAY_MS, DAY_MS)})
        found = {e.execution_id: e for day in days for e in self.journal.executions_on(day)}
        return [
            e
            for e in found.values()
            if e.status.is_terminal and e.status is not ExecutionStatus.REFUSED and e.updated_at >= since
        ]

    def _reread(self, execution: Execution, intents: Sequence[OrderIntent], now: int, report: SweepReport) -> None:
        age = now - execution.updated_at
        due = [k for k, threshold in enumerate(self.settings.reread_ages_ms) if age >= threshold]
        done = {
            detail.age_index
            for event in self.journal.events(execution.execution_id)
            if isinstance(detail := read_event(event.kind, event.detail), Reread) and not detail.unreachable
        }
        if not due or max(due) in done:
            return
        differences: list[str] = []
        unreachable: set[str] = set()
        for intent in intents:
            gateway = self.gateways.get(intent.venue)
            if gateway is None:
                unreachable.add(intent.venue)
                continue
            try:
                seen = gateway.find_order(intent.client_order_id, intent.symbol)
            except Exception as error:  # noqa: BLE001 - read again by the next sweep
                logger.warning("reconciler: %s unreadable: %s", intent.venue, type(error).__name__)
                unreachable.add(intent.venue)
                continue
            recorded = self.journal.order(intent.client_order_id)
            if not _agree(seen, recorded):
                differences.append(f"{intent.client_order_id}: journal {_word(recorded)}, venue {_word(seen)}")
                if seen is not None:  # the venue's word joins the journal as evidence; the old state stays in it
                    self.journal.record_order(execution.execution_id, seen, now)
        event = Reread(age_index=max(due), differences=tuple(differences), unreachable=tuple(sorted(unreachable)))
        self.journal.append_event(execution.execution_id, event, now)
        report.reread[execution.execution_id] = tuple(differences)
        if not done and not differences and not unreachable and execution.status is not ExecutionStatus.INCIDENT:
            for venue, leftover in leftovers(execution, self._recorded(intents)).items():
                self._accrue(venue, leftover, execution.execution_id, now, report)
        if differences:
            # The venue's word is now in the journal: the P&L follows it (the old booking stays in the trail).
            self.journal.correct_pnl(execution.execution_id, net_exposure(self._recorded(intents)), now)
            reason = f"reconciler: the venues disagree with the journal on {len(differences)} order(s)"
            self.journal.set_status(execution.execution_id, ExecutionStatus.INCIDENT, now, reason=reason)
            self.kill_switch.engage(f"{reason} of execution {execution.execution_id}", now)
            self.alerts.publish(f"Arbiter incident: {execution.execution_id}", event_json(event))
            report.execution_incidents.append(execution.execution_id)

    def _stuck(self, execution: Execution, now: int, report: SweepReport) -> None:
        """An execution the state machine stopped before it ended: an incident, so its orders are re-read and its
        venues' balances checked from now on (a running execution keeps them from being compared)."""
        event = ExecutionStuck(
            status=execution.status, created_at_ms=execution.created_at, stuck_after_ms=self.settings.stuck_after_ms
        )
        self.journal.append_event(execution.execution_id, event, now)
        reason = f"reconciler: the saga stopped in {execution.status} without ending (timed out or failed)"
        self.journal.set_status(execution.execution_id, ExecutionStatus.INCIDENT, now, reason=reason)
        self.kill_switch.engage(f"{reason}: execution {execution.execution_id}", now)
        self.alerts.publish(f"Arbiter incident: {execution.execution_id}", event_json(event))
        report.execution_incidents.append(execution.execution_id)

    def _recorded(self, intents: Sequence[OrderIntent]) -> list[Order]:
        return [order for i in intents if (order := self.journal.order(i.client_order_id)) is not None]

    # -- balances ---------------------------------------------------------------------------------------
    def _balances(self, venue: str, ended: Ended, now: int, report: SweepReport) -> None:
        previous = self.verifications.get(venue) or VenueVerification(venue=venue)
        try:
            held = self._held(venue)
            unknown = self._unknown_orders(venue)
        except Exception as error:  # noqa: BLE001 - unreachable or malformed: retried next sweep, never verified
            self._unreadable(venue, _why(error), previous, ended, now, report)
            return
        effects, involved = self._effects(venue, ended, previous)
        if previous.verified_at_ms is None:
            unexplained: dict[str, Decimal] = {}  # the first sweep: what the venue holds is the baseline
        else:
            expected: dict[str, Decimal] = defaultdict(Decimal, previous.balances)
            for cid, effect in effects.items():
                before = previous.effects.get(cid, {})
                for asset in {*effect, *before}:
                    expected[asset] += effect.get(asset, Decimal(0)) - before.get(asset, Decimal(0))
            unexplained = {
                asset: held.get(asset, Decimal(0)) - expected[asset]
                for asset in sorted({*held, *expected})
                if held.get(asset, Decimal(0)) != expected[asset]
            }
            dust = {asset: amount for asset, amount in unexplained.items() if self._dust(asset, amount)}
            unexplained = {asset: amount for asset, amount in unexplained.items() if asset not in dust}
            if dust:
                previous = self._accrue(venue, dust, "balances", now, report)
        executions = tuple(sorted(involved))
        if (unexplained or unknown) and unexplained == previous.open_incident and not unknown:
            skipped = "the unexplained difference is an open incident"
            report.skipped[venue] = skipped
            self.verifications.put(previous.model_copy(update={"attempted_at_ms": now, "unreadable_since_ms": None}))
            self.journal.append_event(
                venue_trail(venue),
                Swept(venue=venue, verified=False, unexplained=unexplained, executions=executions, skipped=skipped),
                now,
            )
            return
        if unexplained or unknown:
            incident = VenueIncident(
                venue=venue,
                unexplained=unexplained,
                unexplained_usd={asset: self._usd(asset, amount) for asset, amount in unexplained.items()},
                executions=executions,
                unknown_orders=unknown,
            )
            self._raise(incident, now)
            report.incidents.append(incident)
            self.verifications.put(
                previous.model_copy(
                    update={
                        "attempted_at_ms": now,
                        "error": "unexplained difference",
                        "open_incident": unexplained,
                        "unreadable_since_ms": None,
                    }
                )
            )
            return
        verified = VenueVerification(
            venue=venue,
            verified_at_ms=now,
            balances=held,
            effects=effects,
            attempted_at_ms=now,
            dust=previous.dust,
            dust_alerted=previous.dust_alerted,
        )
        self.verifications.put(verified)
        self.journal.append_event(venue_trail(venue), Swept(venue=venue, verified=True, executions=executions), now)
        report.verified.append(venue)

    def _unreadable(
        self, venue: str, reason: str, previous: VenueVerification, ended: Ended, now: int, report: SweepReport
    ) -> None:
        """Reported and retried next sweep. Once it has stayed unreadable for ``unreadable_incident_ms`` while
        executions traded on it since its last verification, nobody can tell what it holds: an incident, once."""
        report.skipped[venue] = reason
        since = previous.unreadable_since_ms if previous.unreadable_since_ms is not None else now
        _, involved = self._effects(venue, ended, previous)
        overdue = now - since >= self.settings.unreadable_incident_ms and bool(involved)
        raised = previous.unreadable_raised or overdue
        self.verifications.put(
            previous.model_copy(
                update={"attempted_at_ms": now, "error": reason, "unreadable_since_ms": since,
                        "unreadable_raised": raised}
            )
        )  # fmt: skip
        self.journal.append_event(venue_trail(venue), Swept(venue=venue, verified=False, skipped=reason), now)
        if overdue and not previous.unreadable_raised:
            incident = VenueIncident(
                venue=venue,
                unexplained={},
                unexplained_usd={},
                executions=tuple(sorted(involved)),
                unreadable=f"{reason}, for {(now - since) // 1000} s",
            )
            self._raise(incident, now)
            report.incidents.append(incident)

    def _held(self, venue: str) -> dict[str, Decimal]:
        balances = self.gateways[venue].fetch_balances()
        return {asset: b.free + b.used for asset, b in balances.balances.items() if b.free + b.used}

    def _unknown_orders(self, venue: str) -> tuple[str, ...]:
        """Open orders with a clientOrderId of our scheme (a UUID) that the journal never recorded."""
        return tuple(
            sorted(
                order.client_order_id
                for order in self.gateways[venue].fetch_open_orders()
                if order.client_order_id is not None
                and _ours(order.client_order_id)
                and self.journal.order(order.client_order_id) is None
            )
        )

    def _effects(
        self, venue: str, ended: Ended, previous: VenueVerification
    ) -> tuple[dict[str, dict[str, Decimal]], set[str]]:
        """What each recorded order on the venue changed in its account, and the executions whose orders
        changed since the last verification."""
        effects = dict(previous.effects)
        involved: set[str] = set()
        for execution, intents in ended.values():
            for intent in intents:
                if intent.venue != venue:
                    continue
                order = self.journal.order(intent.client_order_id)
                effect = net_exposure([order]) if order is not None else {}
                if effect != previous.effects.get(intent.client_order_id, {}):
                    involved.add(execution.execution_id)
                effects[intent.client_order_id] = effect
        return effects, involved

    def _accrue(
        self, venue: str, added: Mapping[str, Decimal], source: str, now: int, report: SweepReport
    ) -> VenueVerification:
        """Add to the venue's running dust totals (an audit event on its trail); a total that has come to be worth
        more than ``dust_alert_usd`` is alerted, once per asset. No kill switch: nothing is at risk yet."""
        previous = self.verifications.get(venue) or VenueVerification(venue=venue)
        totals: dict[str, Decimal] = defaultdict(Decimal, previous.dust)
        for asset, amount in added.items():
            totals[asset] += amount
        usd = {asset: self._usd(asset, amount) for asset, amount in totals.items()}
        detail = DustAccrued(venue=venue, added=dict(added), source=source, totals=dict(totals), totals_usd=usd)
        self.journal.append_event(venue_trail(venue), detail, now)
        crossed = sorted(
            asset
            for asset, value in usd.items()
            if value is not None and abs(value) > self.settings.dust_alert_usd and asset not in previous.dust_alerted
        )
        if crossed:
            self.alerts.publish(f"Arbiter dust on {venue}: {', '.join(crossed)}", event_json(detail))
            report.dust_alerts += [(venue, asset) for asset in crossed]
        updated = previous.model_copy(update={"dust": dict(totals), "dust_alerted": (*previous.dust_alerted, *crossed)})
        self.verifications.put(updated)
        return updated

    def _usd(self, asset: str, amount: Decimal) -> Decimal | None:
        rate = self.usd_value(asset)
        return None if rate is None else amount * rate

    def _dust(self, asset: str, amount: Decimal) -> bool:
        value = self._usd(asset, amount)
        return value is not None and abs(value) <= self.settings.dust_usd

    def _raise(self, incident: VenueIncident, now: int) -> None:
        reason = f"reconciler: {incident.venue} holds what the journal does not explain"
        self.journal.append_event(venue_trail(incident.venue), incident, now)
        self.kill_switch.engage(reason, now)
        self.alerts.publish(f"Arbiter venue incident: {incident.venue}", event_json(incident))


def leftovers(execution: Execution, orders: Sequence[Order]) -> dict[str, dict[str, Decimal]]:
    """Per venue and asset, what an ended execution left behind (below its tolerance, or it would be an incident):
    its net position in each traded asset but the profit currency. Which venue of a cross-venue execution holds
    a net leftover no read can tell, so it is counted against each venue in proportion to what the execution
    moved there."""
    residual = residual_exposure(net_exposure(orders), execution.opportunity, {})
    moved = {venue: net_exposure([o for o in orders if o.venue == venue]) for venue in {o.venue for o in orders}}
    found: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for asset, amount in residual.items():
        weights = {venue: abs(held.get(asset, Decimal(0))) for venue, held in moved.items()}
        total = sum(weights.values(), Decimal(0))
        for venue, weight in weights.items():
            if weight:
                found[venue][asset] = amount * weight / total
    return dict(found)


def _agree(seen: Order | None, recorded: Order | None) -> bool:
    if seen is None or recorded is None:
        return seen is recorded
    return (seen.status, seen.filled, seen.fees) == (recorded.status, recorded.filled, recorded.fees)


def _word(order: Order | None) -> str:
    return "no order" if order is None else f"{order.status.value} filled {order.filled}"


def _ours(client_order_id: str) -> bool:
    try:
        return uuid.UUID(client_order_id).version == 5
    except ValueError:
        return False


def _why(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors(include_url=False, include_input=False)[0]
        return f"malformed balances: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return f"unreadable: {type(error).__name__}: {error}"
