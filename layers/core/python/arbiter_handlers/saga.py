"""One factory for the saga's task handlers: parse the state, run the step, return the state.

Powertools: JSON logs with the execution id as correlation id, X-Ray tracing, EMF metrics (``saga_metrics``), and
idempotency (DynamoDB) for the steps that send orders, keyed on the execution, the step and the round, so a
Lambda retry of the same task returns the first result instead of running again. The steps are safe to rerun
even without it: orders are looked up by their deterministic clientOrderId before anything is sent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential

from arbiter.execution.state import SagaState
from arbiter.execution.steps import STEPS, SagaSteps
from arbiter.monitoring.catalog import EXECUTIONS_REFUSED
from arbiter_handlers.metrics import emit
from arbiter_handlers.saga_metrics import record_step
from arbiter_handlers.wiring import saga_dependencies

logger = Logger()
tracer = Tracer()

SagaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]
# Steps that send orders are made idempotent; the others only read, and PollFills must run on every loop.
IDEMPOTENT_STEPS = frozenset({"prepare", "place_legs", "compensate", "incident"})


def _run(step: str, state: SagaState) -> dict[str, Any]:
    result = STEPS[step](SagaSteps(saga_dependencies()), state)
    return result.model_dump(mode="json", by_alias=True)


def _idempotent_runner(step: str, config: IdempotencyConfig) -> Callable[[SagaState], dict[str, Any]]:
    table = os.environ.get("ARBITER_TABLES__IDEMPOTENCY")
    if step not in IDEMPOTENT_STEPS or not table:
        return lambda state: _run(step, state)

    @idempotent_function(  # type: ignore[untyped-decorator]  # Powertools types it loosely
        data_keyword_argument="state",
        persistence_store=DynamoDBPersistenceLayer(table_name=table),
        config=config,
        key_prefix=f"saga.{step}",
    )
    def run(state: SagaState) -> dict[str, Any]:
        return _run(step, state)

    return lambda state: run(state=state)


IN_FLIGHT_MARGIN_MS = 5_000
"""Time left in the invocation when waiting for another delivery of the same task stops (then it fails)."""


def _wait_for_a_delivery_in_flight(
    runner: Callable[[SagaState], dict[str, Any]], state: SagaState, context: LambdaContext
) -> dict[str, Any]:
    """Run the step; when another delivery of the same task is still running it (Lambda delivers at least
    once), wait with backoff for its result instead of failing: the state machine's Catch would send the saga
    to Compensate while that delivery may still be sending orders. Bounded by this invocation's own time."""

    def out_of_time(_: RetryCallState) -> bool:
        return context.get_remaining_time_in_millis() < IN_FLIGHT_MARGIN_MS

    retrying = Retrying(
        retry=retry_if_exception_type(IdempotencyAlreadyInProgressError),
        wait=wait_exponential(multiplier=0.05, max=2),
        stop=out_of_time,
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            if attempt.retry_state.attempt_number > 1:
                logger.info("another delivery of this task is in flight: waited for it")
            return runner(state)
    raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover


def saga_task(step: str) -> SagaHandler:
    if step not in STEPS:
        raise ValueError(f"step: the saga has no step {step!r} (one of {', '.join(STEPS)})")
    runner: Callable[[SagaState], dict[str, Any]] | None = None
    config = IdempotencyConfig(event_key_jmespath="[execution_id, compensation_rounds]", expires_after_seconds=3600)

    @logger.inject_lambda_context(correlation_id_path="execution_id", clear_state=True)
    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        nonlocal runner
        if runner is None:  # built on first use: the persistence layer opens its AWS client then
            runner = _idempotent_runner(step, config)
        config.register_lambda_context(context)
        try:
            state = SagaState.model_validate(event)
        except ValidationError as error:
            if step != "prepare":
                raise  # later steps only ever see states the earlier ones produced
            first = error.errors(include_url=False, include_input=False)[0]
            reason = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
            logger.warning("refusing an invalid execution input", extra={"reason": reason})
            emit(EXECUTIONS_REFUSED, 1, reason="invalid_input")
            refused = SagaSteps(saga_dependencies()).refuse_input(str(event.get("execution_id") or "unnamed"), reason)
            return refused.model_dump(mode="json")
        started = time.perf_counter()
        result = _wait_for_a_delivery_in_flight(runner, state, context)
        try:
            record_step(step, state, result, saga_dependencies(), (time.perf_counter() - started) * 1000)
        except Exception:  # the step ran: a metric that cannot be read must not fail it into Compensate
            logger.exception("the step's metrics were not recorded")
        return result

    return handler
