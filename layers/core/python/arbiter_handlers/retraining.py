"""The retraining's Lambda tasks (``statemachines/retrain.asl.json``): each parses its input into the step's
model, runs the step of ``arbiter.scoring.retraining`` and returns its model. A step that stops raises: the
state machine catches it, alerts with the reason and leaves the live model in place.

None of them loads numpy at import (the evaluation scores with it, loaded when it runs)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from arbiter.scoring.retraining import (
    Evaluation,
    EvaluationRequest,
    ExportRequest,
    evaluate_candidate,
    export_training_set,
    promote,
    summary,
)
from arbiter_handlers import wiring

logger = Logger(service="retraining")
tracer = Tracer(service="retraining")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def export(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = ExportRequest.model_validate(event)
    deps = wiring.retraining()
    exported = export_training_set(deps, request, deps.clock.now_ms())
    logger.info("training set exported", extra=exported.model_dump(mode="json", exclude={"features"}))
    return exported.model_dump(mode="json")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def evaluate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = EvaluationRequest.model_validate(event)
    evaluation = evaluate_candidate(wiring.retraining(), request)
    logger.info("candidate evaluated", extra=dict(summary(evaluation)))
    return evaluation.model_dump(mode="json")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def promote_candidate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    evaluation = Evaluation.model_validate(event)
    deps = wiring.retraining()
    record = promote(deps, evaluation, deps.clock.now_ms())
    logger.info("model promoted", extra={"version": record.version, "metrics": record.metrics})
    return record.model_dump(mode="json")
