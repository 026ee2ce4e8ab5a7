"""A small two-venue world for the saga's steps on paper venues, in memory: shared by the step and the
reconciler tests."""

from __future__ import annotations

from decimal import Decimal

from arbiter.execution.state import SagaState
from arbiter.execution.steps import SagaDependencies, SagaSteps
from arbiter.gateway.paper import PaperVenue, VenueFaults
from arbiter.models import ExecutionStatus, Leg, Opportunity, QuoteStamp, Side
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
    def __init__(self, faults: dict[str, VenueFaults] | None = None, settings: ExecutionSettings | None = None) -> None:
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
                settings=settings or ExecutionSettings(poll_seconds=0),
            )
        )

    def start(self, opp: Opportunity | None = None) -> SagaState:
        return SagaState(execution_id="exec-1", opportunity=opp or opportunity())

    def status(self) -> ExecutionStatus:
        return self.journal.get("exec-1").status

    def open_orders(self) -> int:
        return len(self.alpha.fetch_open_orders()) + len(self.beta.fetch_open_orders())
