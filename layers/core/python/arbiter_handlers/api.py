"""The operators' REST API: Powertools' REST resolver with validation, every route under ``/v1``, the OpenAPI 3.1
document generated from the pydantic models (``/v1/openapi.json``) and Swagger UI (``/v1/docs``).

A route parses (the resolver validates query, path and body against the models), names the caller from the
request context, and calls one use case of ``arbiter.api``; that use case checks the caller's role. Errors
answer with ``ErrorBody``: 422 naming the fields, 401/403, 404, 409 with the current version; anything
unexpected is logged with its stack and answered 500 without one."""

from __future__ import annotations

import hashlib
import os
from decimal import Decimal
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from arbiter.api import CORS_ORIGIN_VARIABLE
from arbiter.api.errors import ApiError
from arbiter.api.identity import Caller, caller_from_request_context
from arbiter.api.queries import ExecutionFilter, OpportunityFilter
from arbiter.api.views import (
    BalanceList,
    ErrorBody,
    ExecutionDetail,
    ExecutionPage,
    Health,
    IncidentPage,
    LockList,
    LockRequest,
    OpportunityOutcomes,
    OpportunityPage,
    PnlGrouping,
    PnlReport,
    ReasonRequest,
    ReleaseRequest,
    Resolution,
    ResolveRequest,
    RiskConfig,
    RiskLimitsUpdate,
    StrategiesConfig,
    StrategiesUpdate,
)
from arbiter.models import ExecutionStatus, OpportunityKind
from arbiter.models.controls import Lock, PauseState
from arbiter.models.risk import KillSwitchState
from arbiter_handlers.wiring import operator_api

API_VERSION = "1.0.0"
TITLE = "Arbiter operator API"
logger = Logger(service="api")
tracer = Tracer(service="api")
LOCAL_ORIGIN = "http://127.0.0.1:8080"
# API Gateway answers the preflight; the answers themselves must name the origin too (a proxy integration).
cors = CORSConfig(
    allow_origin=os.environ.get(CORS_ORIGIN_VARIABLE, LOCAL_ORIGIN),
    allow_headers=["Authorization", "X-Amz-Date", "X-Amz-Security-Token", "If-None-Match"],
    expose_headers=["ETag"],
    max_age=3600,
)
app = APIGatewayRestResolver(enable_validation=True, cors=cors)

ExecutionId = Annotated[str, Path(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")]
LockId = Annotated[str, Path(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_-]+$")]
LATEST_MS = 4_102_444_800_000
"""2100-01-01T00:00Z: later times are typing errors, not ranges."""
From = Annotated[int | None, Query(alias="from", ge=0, le=LATEST_MS, description="start, ms since the epoch (UTC)")]
To = Annotated[int | None, Query(alias="to", ge=0, le=LATEST_MS, description="end, ms since the epoch (UTC)")]
CursorQuery = Annotated[str | None, Query(min_length=1, max_length=400, description="next_cursor of the last page")]
Limit = Annotated[int, Query(ge=1, le=200, description="items per page")]
VenueQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]


def _error(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


READ: dict[int, OpenAPIResponse] = {
    200: {"description": "OK; its ETag header names this answer"},
    304: {"description": "not modified: the answer is still the one the If-None-Match header names"},
    401: _error("no caller identity"),
    403: _error("the caller may not do this"),
    422: _error("invalid input; the fields at fault are named"),
}
READ_ONE: dict[int, OpenAPIResponse] = {**READ, 404: _error("unknown id")}
CHANGE: dict[int, OpenAPIResponse] = {
    **READ,
    409: _error("a stale version or a state that forbids the change; the current state is given"),
}
CHANGE_ONE: dict[int, OpenAPIResponse] = {**CHANGE, 404: _error("unknown id")}


def caller() -> Caller:
    return caller_from_request_context(app.current_event.raw_event.get("requestContext") or {})


def _respond(status: int, body: ErrorBody) -> Response[str]:
    return Response(status_code=status, content_type="application/json", body=body.model_dump_json())


@app.exception_handler(ApiError)  # type: ignore[untyped-decorator]  # Powertools leaves it untyped
def _api_error(error: ApiError) -> Response[str]:
    fields = [error.field] if hasattr(error, "field") else []
    current = getattr(error, "current", None)
    detail: list[dict[str, object]] = [
        {"loc": ["request", field], "msg": error.message, "type": error.code} for field in fields
    ]
    body = ErrorBody(error=error.code, message=error.message, fields=fields, current=current, detail=detail)
    return _respond(error.status, body)


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def _invalid(error: RequestValidationError) -> Response[str]:
    # A body that is not JSON at all is located at the body, not at a character of it.
    problems = [
        {**problem, "loc": ("body",)} if problem.get("type") == "json_invalid" else problem
        for problem in error.errors()
    ]
    # Only where and what: the input itself may be a secret someone pasted in the wrong field.
    fields = [".".join(str(part) for part in problem.get("loc", ())) for problem in problems]
    detail: list[dict[str, object]] = [
        {"loc": list(problem.get("loc", ())), "msg": str(problem.get("msg", "invalid")), "type": problem.get("type")}
        for problem in problems
    ]
    message = "; ".join(f"{field}: {d['msg']}" for field, d in zip(fields, detail, strict=True))
    return _respond(422, ErrorBody(error="invalid_request", message=message, fields=fields, detail=detail))


@app.not_found
def _no_route(error: RouteNotFoundError) -> Response[str]:
    return _respond(404, ErrorBody(error="not_found", message=f"no route {app.current_event.path}"))


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def _unexpected(error: Exception) -> Response[str]:
    logger.exception("api: unexpected error")
    return _respond(500, ErrorBody(error="internal", message="internal error; see the api function's logs"))


# -- reads --------------------------------------------------------------------------------------------------
@app.get("/v1/health", responses=READ, summary="health: a partial report names what it could not read")
def health() -> Health:
    caller()
    return operator_api().queries.health()


@app.get("/v1/opportunities", responses=READ)
def opportunities(
    from_ms: From = None,
    to_ms: To = None,
    kind: Annotated[OpportunityKind | None, Query()] = None,
    venue: VenueQuery = None,
    min_profit: Annotated[
        str | None, Query(pattern=r"^[0-9]{1,20}(\.[0-9]{1,18})?$", description="least expected profit, a decimal")
    ] = None,
    cursor: CursorQuery = None,
    limit: Limit = 50,
) -> OpportunityPage:
    caller()
    least = None if min_profit is None else Decimal(min_profit)  # money never travels as a float
    where = OpportunityFilter(from_ms=from_ms, to_ms=to_ms, kind=kind, venue=venue, min_profit=least)
    return operator_api().queries.list_opportunities(where, cursor, limit)


@app.get("/v1/opportunities/outcomes", responses=READ, summary="opportunities seen, executions per status, refusals")
def opportunity_outcomes(from_ms: From = None, to_ms: To = None) -> OpportunityOutcomes:
    caller()
    return operator_api().queries.outcomes(from_ms, to_ms)


@app.get("/v1/executions", responses=READ)
def executions(
    from_ms: From = None,
    to_ms: To = None,
    status: Annotated[ExecutionStatus | None, Query()] = None,
    route: Annotated[str | None, Query(min_length=1, max_length=400)] = None,
    venue: VenueQuery = None,
    cursor: CursorQuery = None,
    limit: Limit = 50,
) -> ExecutionPage:
    caller()
    where = ExecutionFilter(from_ms=from_ms, to_ms=to_ms, status=status, route=route, venue=venue)
    return operator_api().queries.executions(where, cursor, limit)


@app.get("/v1/executions/<execution_id>", responses=READ_ONE)
def execution(execution_id: ExecutionId) -> ExecutionDetail:
    caller()
    return operator_api().queries.execution(execution_id)


@app.get("/v1/balances", responses=READ)
def balances() -> BalanceList:
    caller()
    return operator_api().queries.balances()


@app.get("/v1/pnl", responses=READ)
def pnl(from_ms: From = None, to_ms: To = None, by: Annotated[PnlGrouping, Query()] = PnlGrouping.DAY) -> PnlReport:
    caller()
    return operator_api().queries.pnl(from_ms, to_ms, by)


@app.get("/v1/incidents", responses=READ)
def incidents(
    from_ms: From = None,
    to_ms: To = None,
    resolved: Annotated[bool | None, Query()] = None,
    cursor: CursorQuery = None,
    limit: Limit = 50,
) -> IncidentPage:
    caller()
    return operator_api().queries.incidents(from_ms, to_ms, cursor, limit, resolved)


@app.get("/v1/config/risk", responses=READ)
def risk_limits() -> RiskConfig:
    caller()
    return operator_api().operations.risk_limits()


@app.get("/v1/config/strategies", responses=READ)
def strategies() -> StrategiesConfig:
    caller()
    return operator_api().operations.strategies()


@app.get("/v1/kill-switch", responses=READ)
def kill_switch() -> KillSwitchState:
    caller()
    return operator_api().queries.kill_switch.state()


@app.get("/v1/pause", responses=READ)
def pause_state() -> PauseState:
    caller()
    return operator_api().queries.controls.pause_state()


@app.get("/v1/locks", responses=READ)
def locks(include_expired: Annotated[bool, Query()] = False) -> LockList:
    caller()
    return LockList(locks=operator_api().operations.locks(active_only=not include_expired))


# -- changes ------------------------------------------------------------------------------------------------
@app.post("/v1/incidents/<execution_id>/resolve", responses=CHANGE_ONE)
def resolve_incident(execution_id: ExecutionId, body: ResolveRequest) -> Resolution:
    return operator_api().operations.resolve_incident(caller(), execution_id, body.note)


@app.put("/v1/config/risk", responses=CHANGE)
def set_risk_limits(body: RiskLimitsUpdate) -> RiskConfig:
    return operator_api().operations.set_risk_limits(caller(), body.version, body.risk_limits)


@app.put("/v1/config/strategies", responses=CHANGE)
def set_strategies(body: StrategiesUpdate) -> StrategiesConfig:
    return operator_api().operations.set_strategies(caller(), body.version, dict(body.parameters))


@app.post("/v1/kill-switch", responses=CHANGE)
def engage_kill_switch(body: ReasonRequest) -> KillSwitchState:
    return operator_api().operations.engage_kill_switch(caller(), body.reason)


@app.delete("/v1/kill-switch", responses=CHANGE)
def release_kill_switch(body: ReleaseRequest) -> KillSwitchState:
    return operator_api().operations.release_kill_switch(caller(), body.reason, body.version)


@app.post("/v1/pause", responses=CHANGE)
def pause(body: ReasonRequest) -> PauseState:
    return operator_api().operations.pause(caller(), body.reason)


@app.delete("/v1/pause", responses=CHANGE)
def resume(body: ReasonRequest) -> PauseState:
    return operator_api().operations.resume(caller(), body.reason)


@app.post("/v1/locks", responses=CHANGE)
def add_lock(body: LockRequest) -> Lock:
    return operator_api().operations.add_lock(caller(), body)


@app.delete("/v1/locks/<lock_id>", responses=CHANGE_ONE)
def remove_lock(lock_id: LockId, body: ReasonRequest) -> Lock:
    return operator_api().operations.remove_lock(caller(), lock_id, body.reason)


# -- the contract -------------------------------------------------------------------------------------------
def openapi_document() -> str:
    return app.get_openapi_json_schema(title=TITLE, version=API_VERSION)


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    return Response(status_code=200, content_type="application/json", body=openapi_document())


app.enable_swagger(path="/v1/docs", title=TITLE, version=API_VERSION)


def entity_tag(body: str) -> str:
    """A strong validator of one answer's body: equal bodies, equal tags."""
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def conditional(event: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """A successful read carries its ETag; asked again with that tag (If-None-Match), it answers 304 without a
    body, so a console polling every second moves a few hundred bytes while nothing changes."""
    if event.get("httpMethod") != "GET" or response.get("statusCode") != 200 or response.get("isBase64Encoded"):
        return response
    tag = entity_tag(response.get("body") or "")
    headers = {**(response.get("headers") or {}), "ETag": tag, "Cache-Control": "no-cache"}
    multi = {k: v for k, v in (response.get("multiValueHeaders") or {}).items() if k.lower() not in {"etag"}}
    asked = _header(event, "if-none-match")
    if asked is not None and tag in {t.strip().removeprefix("W/") for t in asked.split(",")}:
        return {**response, "statusCode": 304, "body": "", "headers": headers, "multiValueHeaders": multi}
    return {**response, "headers": headers, "multiValueHeaders": multi}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return conditional(event, app.resolve(event, context))
