"""The api function's handler on API Gateway REST proxy events: answers and their status codes, errors that name
the fields and never carry a stack trace, and an authorization check for every route."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from arbiter.api.identity import OPERATOR_GROUP, READ_ONLY_GROUP
from arbiter.local.api_server import cognito_claims, iam_identity, proxy_event
from arbiter.local.lambda_invoke import LocalLambdaContext
from arbiter.local.platform import load_handler
from arbiter.models import ExecutionStatus
from arbiter.models.controls import Lock, LockScope
from arbiter_handlers import wiring
from tests.integration.api.conftest import NOW, World

OPERATOR = {"authorizer": cognito_claims("alice", OPERATOR_GROUP)}
READER = {"authorizer": cognito_claims("bob", READ_ONLY_GROUP)}
IAM = {"identity": iam_identity("arn:aws:iam::123456789012:role/arbiter-operator")}
NOBODY: dict[str, Any] = {}

# A REST proxy event as API Gateway delivers it to the function (IAM authorization), trimmed of nothing but noise.
RECORDED_IAM_EVENT: dict[str, Any] = {
    "resource": "/v1/kill-switch",
    "path": "/v1/kill-switch",
    "httpMethod": "POST",
    "headers": {
        "Authorization": "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20260101/eu-west-1/execute-api/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0000",
        "Content-Type": "application/json",
        "Host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "X-Amz-Date": "20260101T030000Z",
        "X-Amzn-Trace-Id": "Root=1-6955e5a0-0123456789abcdef01234567",
    },
    "multiValueHeaders": {},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {
        "resourceId": "a1b2c3",
        "resourcePath": "/v1/kill-switch",
        "httpMethod": "POST",
        "extendedRequestId": "Xy1AbCdEfGhIjKl=",
        "requestTime": "01/Jan/2026:03:00:00 +0000",
        "path": "/v1/v1/kill-switch",
        "accountId": "123456789012",
        "protocol": "HTTP/1.1",
        "stage": "v1",
        "domainPrefix": "abc123",
        "requestTimeEpoch": 1767236400000,
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": "123456789012",
            "cognitoIdentityId": None,
            "caller": "AROAEXAMPLE:alice",
            "sourceIp": "203.0.113.7",
            "principalOrgId": None,
            "accessKey": "ASIAEXAMPLE",
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": "arn:aws:sts::123456789012:assumed-role/arbiter-operator/alice",
            "userAgent": "aws-cli/2.22",
            "user": "AROAEXAMPLE:alice",
        },
        "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
        "apiId": "abc123",
    },
    "body": '{"reason": "exchange outage announced"}',
    "isBase64Encoded": False,
}


@pytest.fixture
def api(world: World) -> Iterator[Any]:
    wiring.install_api(world.api)
    yield load_handler("api")
    wiring.install_api(None)


def call(api: Any, method: str, path: str, who: dict[str, Any], body: Any = None, **query: str) -> tuple[int, Any]:
    text = None if body is None else body if isinstance(body, str) else json.dumps(body)
    event = proxy_event(method, path, query=query or None, body=text, **who)
    response = api(event, LocalLambdaContext(function_name="api"))
    content = response["body"]
    return response["statusCode"], json.loads(content) if content and content.startswith(("{", "[")) else content


def test_a_recorded_iam_event_engages_the_kill_switch_as_its_caller(api: Any, world: World) -> None:
    response = api(RECORDED_IAM_EVENT, LocalLambdaContext(function_name="api"))
    assert response["statusCode"] == 200
    state = json.loads(response["body"])
    assert state["engaged"] is True
    assert "arn:aws:sts::123456789012:assumed-role/arbiter-operator/alice" in state["reason"]
    assert world.stores.kill_switch.is_engaged()


def test_executions_page_through_the_api(api: Any, world: World) -> None:
    for n in range(5):
        world.execution(f"e{n}", NOW - 1_000 * n, ExecutionStatus.SETTLED)
    status, first = call(api, "GET", "/v1/executions", READER, limit="2")
    assert status == 200
    assert [i["execution_id"] for i in first["items"]] == ["e0", "e1"]
    seen = [i["execution_id"] for i in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        status, page = call(api, "GET", "/v1/executions", READER, limit="2", cursor=cursor)
        seen += [i["execution_id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [f"e{n}" for n in range(5)]
    status, detail = call(api, "GET", "/v1/executions/e3", READER)
    assert status == 200
    assert detail["chain"]["intact"] is True
    assert [e["kind"] for e in detail["audit"]] == ["created", "status"]
    assert detail["execution"]["opportunity"]["expected_profit"] == "1.6"  # money stays a decimal string


@pytest.mark.parametrize(
    ("method", "path", "body", "query", "fields"),
    [
        ("POST", "/v1/kill-switch", {}, {}, ["body.reason"]),
        ("POST", "/v1/kill-switch", {"reason": ""}, {}, ["body.reason"]),
        ("DELETE", "/v1/kill-switch", {"reason": "x"}, {}, ["body.version"]),
        ("GET", "/v1/executions", None, {"limit": "0"}, ["query.limit"]),
        ("GET", "/v1/executions", None, {"status": "lost"}, ["query.status"]),
        ("GET", "/v1/executions", None, {"cursor": "bm9wZQ"}, ["cursor"]),
        ("GET", "/v1/pnl", None, {"by": "month"}, ["query.by"]),
        ("GET", "/v1/incidents", None, {"to": "9999999999999999"}, ["query.to"]),
        ("PUT", "/v1/config/risk", {"version": 1, "risk_limits": {"daily_loss_limit": "-1"}}, {}, None),
        ("POST", "/v1/locks", {"scope": "venue", "target": "beta", "until_ms": 1, "reason": "r"}, {}, ["until_ms"]),
    ],
)
def test_bad_input_is_a_422_naming_the_fields(
    api: Any, method: str, path: str, body: Any, query: dict[str, str], fields: list[str] | None
) -> None:
    status, answer = call(api, method, path, OPERATOR, body, **query)
    assert status == 422, answer
    assert answer["error"] == "invalid_request"
    if fields is None:
        assert any(f.startswith("body.risk_limits.daily_loss_limit") for f in answer["fields"]), answer
    else:
        assert answer["fields"] == fields
    assert "Traceback" not in json.dumps(answer)


def test_a_body_that_is_not_json_is_refused_naming_the_body(api: Any) -> None:
    status, answer = call(api, "POST", "/v1/pause", OPERATOR, "{not json")
    assert status == 422
    assert answer["fields"] == ["body"]


def test_unknown_ids_and_routes_are_404(api: Any) -> None:
    assert call(api, "GET", "/v1/executions/e404", READER)[0] == 404
    assert call(api, "POST", "/v1/incidents/e404/resolve", OPERATOR, {"note": "n"})[0] == 404
    assert call(api, "DELETE", "/v1/locks/lock-404", OPERATOR, {"reason": "r"})[0] == 404
    status, answer = call(api, "GET", "/v2/health", READER)
    assert status == 404
    assert answer["error"] == "not_found"


def test_a_stale_version_is_a_409_with_the_current_one(api: Any) -> None:
    changed = {"version": 1, "risk_limits": {"daily_loss_limit": "250"}}
    assert call(api, "PUT", "/v1/config/risk", OPERATOR, changed)[0] == 200
    status, answer = call(api, "PUT", "/v1/config/risk", OPERATOR, changed)
    assert status == 409
    assert answer["current"]["version"] == 2
    status, answer = call(api, "DELETE", "/v1/kill-switch", OPERATOR, {"reason": "r", "version": 5})
    assert status == 409
    assert answer["current"]["version"] == 0


def test_an_unexpected_failure_is_a_500_without_a_stack_trace(api: Any, world: World) -> None:
    class Broken:
        def executions_between(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret-looking internals at /opt/python/arbiter/storage/journal.py")

    world.api.queries.journal = Broken()  # type: ignore[assignment]
    status, answer = call(api, "GET", "/v1/executions", READER)
    assert status == 500
    assert answer == {
        "error": "internal",
        "message": "internal error; see the api function's logs",
        "fields": [],
        "current": None,
        "detail": [],
    }


def test_health_is_partial_not_a_5xx_when_a_store_is_down(api: Any, world: World) -> None:
    class Down:
        def state(self) -> Any:
            raise ConnectionError("dynamodb unreachable")

    world.api.queries.kill_switch = Down()  # type: ignore[assignment]
    status, answer = call(api, "GET", "/v1/health", READER)
    assert status == 200
    assert answer["status"] == "degraded"
    assert answer["trading"] == "unknown"
    assert "kill_switch: ConnectionError" in answer["missing"]
    assert [v["venue"] for v in answer["venues"]] == ["alpha", "beta"]


def test_the_contract_and_its_documentation_are_served(api: Any) -> None:
    status, document = call(api, "GET", "/v1/openapi.json", NOBODY)
    assert status == 200
    assert document["openapi"].startswith("3.1")
    assert "/v1/executions/{execution_id}" in document["paths"]
    status, page = call(api, "GET", "/v1/docs", NOBODY)
    assert status == 200
    assert "swagger" in page.lower()


# -- authorization, route by route --------------------------------------------------------------------------
READS = [
    ("GET", "/v1/health", None),
    ("GET", "/v1/opportunities", None),
    ("GET", "/v1/opportunities/outcomes", None),
    ("GET", "/v1/executions", None),
    ("GET", "/v1/executions/e1", None),
    ("GET", "/v1/balances", None),
    ("GET", "/v1/pnl", None),
    ("GET", "/v1/incidents", None),
    ("GET", "/v1/config/risk", None),
    ("GET", "/v1/config/strategies", None),
    ("GET", "/v1/kill-switch", None),
    ("GET", "/v1/pause", None),
    ("GET", "/v1/locks", None),
]
CHANGES = [
    ("POST", "/v1/incidents/e1/resolve", {"note": "checked"}),
    ("PUT", "/v1/config/risk", {"version": 1, "risk_limits": {"daily_loss_limit": "250"}}),
    ("PUT", "/v1/config/strategies", {"version": 1, "parameters": {"cycles": "off"}}),
    ("POST", "/v1/kill-switch", {"reason": "r"}),
    ("DELETE", "/v1/kill-switch", {"reason": "r", "version": 0}),
    ("POST", "/v1/pause", {"reason": "r"}),
    ("DELETE", "/v1/pause", {"reason": "r"}),
    ("POST", "/v1/locks", {"scope": "venue", "target": "beta", "until_ms": NOW + 60_000, "reason": "r"}),
    ("DELETE", "/v1/locks/lock-1", {"reason": "r"}),
]


def test_every_route_is_covered_by_the_authorization_tests(api: Any) -> None:
    _, document = call(api, "GET", "/v1/openapi.json", NOBODY)
    declared = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    tested = {(m, p.replace("/e1", "/{execution_id}").replace("/lock-1", "/{lock_id}")) for m, p, _ in READS + CHANGES}
    assert declared == tested


@pytest.mark.parametrize(("method", "path", "body"), READS)
def test_a_reader_may_read(api: Any, world: World, method: str, path: str, body: Any) -> None:
    world.execution("e1", NOW - 1_000, ExecutionStatus.INCIDENT)
    assert call(api, method, path, READER, body)[0] == 200
    assert call(api, method, path, NOBODY, body)[0] == 401


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_a_reader_cannot_change_anything(api: Any, world: World, method: str, path: str, body: Any) -> None:
    world.execution("e1", NOW - 1_000, ExecutionStatus.INCIDENT)
    before = _state(world)
    status, answer = call(api, method, path, READER, body)
    assert status == 403, answer
    assert answer["error"] == "forbidden"
    assert call(api, method, path, NOBODY, body)[0] == 401
    assert call(api, method, path, {"authorizer": cognito_claims("eve", "someone-else")}, body)[0] == 403
    assert _state(world) == before


@pytest.mark.parametrize("who", ["cognito", "iam"])
@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_an_operator_may_change_it(api: Any, world: World, method: str, path: str, body: Any, who: str) -> None:
    world.execution("e1", NOW - 1_000, ExecutionStatus.INCIDENT)
    world.stores.controls.add_lock(
        Lock(
            lock_id="lock-1",
            scope=LockScope.VENUE,
            target="alpha",
            until_ms=NOW + 1,
            reason="r",
            by="x",
            created_at_ms=1,
        )
    )
    before = _state(world)
    status, answer = call(api, method, path, OPERATOR if who == "cognito" else IAM, body)
    assert status == 200, answer
    assert _state(world) != before


def _state(world: World) -> tuple[Any, ...]:
    stores = world.stores
    return (
        stores.kill_switch.state(),
        stores.controls.pause_state(),
        tuple(stores.controls.locks()),
        stores.configuration.current(),
        len(stores.journal.events("e1")),
        len(stores.journal.events("operator")),
    )


def test_answers_name_the_console_origin_and_no_other(api: Any) -> None:
    from arbiter_handlers.api import LOCAL_ORIGIN

    for origin, allowed in ((LOCAL_ORIGIN, True), ("https://evil.example.com", False)):
        event = proxy_event("GET", "/v1/health", headers={"Origin": origin}, **READER)
        response = api(event, LocalLambdaContext(function_name="api"))
        headers = {
            **response.get("headers", {}),
            **{k: v[-1] for k, v in response.get("multiValueHeaders", {}).items()},
        }
        assert response["statusCode"] == 200
        assert (headers.get("Access-Control-Allow-Origin") == origin) is allowed, headers


def _headers(response: dict[str, Any]) -> dict[str, str]:
    return {**response.get("headers", {}), **{k: v[-1] for k, v in response.get("multiValueHeaders", {}).items()}}


def test_a_read_asked_again_with_its_etag_is_a_304_until_it_changes(api: Any, world: World) -> None:
    context = LocalLambdaContext(function_name="api")
    first = api(proxy_event("GET", "/v1/health", **READER), context)
    tag = _headers(first)["ETag"]
    assert first["statusCode"] == 200
    assert tag.startswith('"')
    assert first["body"]
    again = api(proxy_event("GET", "/v1/health", headers={"If-None-Match": tag}, **READER), context)
    assert again["statusCode"] == 304
    assert again["body"] == ""
    assert _headers(again)["ETag"] == tag
    assert call(api, "POST", "/v1/kill-switch", OPERATOR, {"reason": "checking"})[0] == 200
    changed = api(proxy_event("GET", "/v1/health", headers={"If-None-Match": tag}, **READER), context)
    assert changed["statusCode"] == 200
    assert _headers(changed)["ETag"] != tag
    assert json.loads(changed["body"])["kill_switch"]["engaged"] is True


def test_changes_and_errors_carry_no_etag(api: Any) -> None:
    context = LocalLambdaContext(function_name="api")
    engaged = api(proxy_event("POST", "/v1/kill-switch", body='{"reason": "r"}', **OPERATOR), context)
    missing = api(proxy_event("GET", "/v1/executions/nope", **READER), context)
    assert engaged["statusCode"] == 200
    assert "ETag" not in _headers(engaged)
    assert missing["statusCode"] == 404
    assert "ETag" not in _headers(missing)


def test_the_console_may_send_if_none_match_and_read_the_etag(api: Any) -> None:
    from arbiter_handlers.api import LOCAL_ORIGIN

    event = proxy_event("GET", "/v1/health", headers={"Origin": LOCAL_ORIGIN}, **READER)
    headers = _headers(api(event, LocalLambdaContext(function_name="api")))
    assert "ETag" in headers["Access-Control-Expose-Headers"]
