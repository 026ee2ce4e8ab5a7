"""What a saga task tells CloudWatch after its step ran, read from the state it returns (the steps themselves
know nothing of metrics): an execution started, how it ended, what it realised in USD, how much of the daily
loss limit is used, how long the legs took and how old the quotes were. The names are the catalog's.

An execution ends where the state machine ends it: a flat Reconcile (every saga passes there, Settle included)
or Incident. A task Lambda runs twice (at-least-once delivery) counts twice: metrics are not the journal."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from arbiter.execution.state import SagaState
from arbiter.execution.steps import SagaDependencies
from arbiter.models import ExecutionStatus
from arbiter.models.time import utc_day
from arbiter.monitoring.catalog import (
    DAILY_LOSS_LIMIT_USED,
    EXECUTIONS_COMPENSATED,
    EXECUTIONS_INCIDENT,
    EXECUTIONS_SETTLED,
    EXECUTIONS_STARTED,
    PLACE_LEGS_LATENCY,
    PREDICTION_ERROR_USD,
    QUOTE_AGE_AT_PREPARE,
    REALISED_PNL_USD,
    Metric,
)
from arbiter.risk.engine import daily_loss_usd, usd_rate
from arbiter_handlers.metrics import emit

logger = logging.getLogger(__name__)


def record_step(step: str, state: SagaState, result: dict[str, Any], deps: SagaDependencies, elapsed_ms: float) -> None:
    """``state`` is the step's input, ``result`` its serialised output."""
    if step == "prepare":
        emit(QUOTE_AGE_AT_PREPARE, state.opportunity.quote_age_ms(deps.clock.now_ms()))
        if result.get("accepted"):
            emit(EXECUTIONS_STARTED, 1)
    elif step == "place_legs":
        emit(PLACE_LEGS_LATENCY, elapsed_ms)
    elif step == "reconcile" and (result.get("reconciliation") or {}).get("flat"):
        # Flat: the saga ends here ("Closed"), settled or compensated as the journal recorded it. A Reconcile
        # after a Prepare that failed before the record existed traded nothing and ends nothing.
        try:
            status = deps.journal.get(state.execution_id).status
        except KeyError:
            return
        outcome = {ExecutionStatus.SETTLED: EXECUTIONS_SETTLED, ExecutionStatus.COMPENSATED: EXECUTIONS_COMPENSATED}
        if status in outcome:
            _ended(outcome[status], state, deps)
    elif step == "incident":
        _ended(EXECUTIONS_INCIDENT, state, deps)


def _ended(outcome: Metric, state: SagaState, deps: SagaDependencies) -> None:
    emit(outcome, 1)
    journal = deps.journal
    if isinstance(journal, RecordedPnl) and callable(journal.pnl):
        realised = _realised(journal.pnl(state.execution_id), deps)
        if state.predicted_pnl_usd is not None:
            # The model's drift: its alarm starts a retraining (cdk/arbiter_constructs/retraining.py).
            emit(PREDICTION_ERROR_USD, realised - state.predicted_pnl_usd)
    used = _daily_loss_limit_used(deps)
    if used is not None:
        emit(DAILY_LOSS_LIMIT_USED, used)


@runtime_checkable
class RecordedPnl(Protocol):
    """The deployed journal's read of one execution's recorded P&L (not part of the saga's journal port)."""

    def pnl(self, execution_id: str) -> dict[str, Decimal]: ...


def _realised(pnl: dict[str, Decimal], deps: SagaDependencies) -> float:
    value = deps.usd_value or (lambda _asset: None)
    realised, unvalued = Decimal(0), []
    for currency, amount in pnl.items():
        rate = usd_rate(currency, value)
        if rate is None:
            unvalued.append(currency)
        else:
            realised += amount * rate
    if unvalued:
        logger.warning("P&L not valued in USD: %s", ", ".join(sorted(unvalued)))
    emit(REALISED_PNL_USD, float(realised))
    return float(realised)


def _daily_loss_limit_used(deps: SagaDependencies) -> float | None:
    """Today's loss over the daily loss limit, measured as the risk engine measures it; None without limits."""
    portfolio = deps.risk.portfolio if deps.risk is not None else None
    if portfolio is None:
        return None
    loss, _ = daily_loss_usd(portfolio.pnl.realised(utc_day(deps.clock.now_ms())), portfolio.usd_value)
    return max(0.0, float(loss / portfolio.limits().daily_loss_limit))
