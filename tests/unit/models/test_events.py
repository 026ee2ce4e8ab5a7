"""The saga's vocabulary: every event kind has a detail model, and a stored detail reads back as it was."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arbiter.models import CompensationStrategy, ExecutionStatus, OrderIntent, Side
from arbiter.models.events import (
    CompensationPlanned,
    EventDetail,
    EventKind,
    IncidentRaised,
    PlannedOrder,
    RefusalReason,
    Refused,
    StatusChanged,
    StepFailure,
    event_json,
    kind_of,
    read_event,
)


def _kinds_with_models() -> set[str]:
    pending, kinds = list(EventDetail.__subclasses__()), set()
    while pending:
        model = pending.pop()
        kinds.add(str(model.kind))
        pending.extend(model.__subclasses__())
    return kinds | {EventKind.ORDER_INTENT, EventKind.ORDER_STATE}


def test_every_event_kind_has_a_detail_model() -> None:
    assert {kind.value for kind in EventKind} <= _kinds_with_models()


@pytest.mark.parametrize(
    "detail",
    [
        StatusChanged(from_=ExecutionStatus.COMPENSATING, to=ExecutionStatus.COMPENSATED, strategy="unwind"),
        Refused(reason="stale_quote: 5000 ms old", refusals=(RefusalReason(code="stale_quote", detail="5000 ms"),)),
        CompensationPlanned(
            round=1,
            strategy=CompensationStrategy.UNWIND,
            orders=(
                PlannedOrder(
                    venue="kraken",
                    symbol="SOL/USDT",
                    side=Side.SELL,
                    amount=Decimal(1),
                    limit_price=Decimal(149),
                    slot=2,
                ),
            ),
            expected_residual={},
        ),
        IncidentRaised(
            execution_id="e1",
            opportunity_id="o1",
            unverified_orders=("cid-1",),
            open_orders=1,
            residual={"SOL": Decimal("0.5")},
            error=StepFailure(error="OrdersStillOpenError", cause="1 order(s) still open"),
        ),
        OrderIntent(
            execution_id="e1",
            slot=0,
            attempt=0,
            client_order_id="cid-1",
            venue="kraken",
            symbol="SOL/USDT",
            side=Side.BUY,
            amount=Decimal(1),
            limit_price=Decimal(150),
        ),
    ],
)
def test_a_stored_detail_reads_back_as_the_model_it_was(detail: EventDetail | OrderIntent) -> None:
    stored = event_json(detail)
    assert read_event(kind_of(detail), stored) == detail


def test_step_functions_field_names_and_the_status_change_keep_their_stored_names() -> None:
    change = event_json(StatusChanged(from_=ExecutionStatus.PENDING, to=ExecutionStatus.PLACING))
    assert change["from"] == "pending"
    failure = event_json(StepFailure(error="States.Timeout"))
    assert failure == {"Error": "States.Timeout", "Cause": None}


def test_a_kind_outside_the_vocabulary_reads_as_nothing() -> None:
    assert read_event("no_such_kind", {"n": 1}) is None


def test_a_detail_that_contradicts_its_model_is_refused_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="round"):
        read_event(EventKind.COMPENSATION_STARTED, {"round": 0, "cause": "legs_not_filled"})
