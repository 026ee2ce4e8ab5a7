"""The API against its own contract: schemathesis generates requests from the OpenAPI document the API serves,
sends them to the local server, and checks every answer (no 5xx, a documented status code and content type, a
body that matches the documented schema). A bounded number of examples per operation, derandomized, so a run is
repeatable and its length known."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
"""No 5xx, and every answer as documented. Left out: schemathesis' "schema-valid request rejected", since some
rules relate fields to each other or to the present (a range of at most a year, a lock ending in the future), which
a JSON schema cannot say: such a request is answered 422 naming the field, as documented."""


@dataclass
class ContractReport:
    cases: int = 0
    failures: list[str] = field(default_factory=list)
    """One line per failing case: the operation and what was wrong."""
    by_status: dict[int, int] = field(default_factory=dict)


def check_contract(base_url: str, max_examples: int) -> ContractReport:
    with urllib.request.urlopen(f"{base_url}/v1/openapi.json", timeout=10) as answer:  # noqa: S310 - 127.0.0.1 only
        document: dict[str, Any] = json.loads(answer.read())
    schema = schemathesis.openapi.from_dict(document)
    report = ContractReport()
    session = requests.Session()
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # an operation the document describes wrongly is a failure of the contract
            report.failures.append(f"invalid operation: {result.err()}")
            continue
        _check_operation(result.ok(), base_url, session, max_examples, report)
    return report


def _check_operation(
    operation: Any, base_url: str, session: requests.Session, max_examples: int, report: ContractReport
) -> None:
    label = operation.label

    @settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: schemathesis.Case[Any]) -> None:
        report.cases += 1
        response = case.call(base_url=base_url, session=session)
        answered = f"{response.status_code} {' '.join(response.text.split())[:300]}"
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as failures:
            report.failures += [f"{label}: {_first_line(failure)} -> {answered}" for failure in failures.exceptions]
        except Failure as failure:
            report.failures.append(f"{label}: {_first_line(failure)} -> {answered}")
        report.by_status[response.status_code] = report.by_status.get(response.status_code, 0) + 1

    run()


def _first_line(failure: Failure) -> str:
    return f"{failure.title}: {' '.join(failure.message.split())[:200]}"


__all__ = ["ContractReport", "check_contract"]
