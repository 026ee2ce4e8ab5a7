from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arbiter.local.runtime import LocalAws
from arbiter.local.stepfunctions import ExecutionTimeoutError, substitute

TOY = Path(__file__).parent / "asl" / "toy.asl.json"


class FlakyError(Exception):
    pass


class BrokenError(Exception):
    pass


@pytest.fixture
def aws() -> Iterator[LocalAws]:
    with LocalAws() as local:
        yield local


def toy_machine(aws: LocalAws, first: Any, second: Any) -> str:
    return aws.state_machines().create(
        "toy",
        TOY,
        {
            "FirstFunctionArn": aws.register_function("first", first),
            "SecondFunctionArn": aws.register_function("second", second),
            "TopicArn": aws.alert_topic_arn,
        },
    )


def counting(event: dict[str, Any], context: Any) -> dict[str, Any]:
    assert context.function_name == "arbiter-local-first"
    assert context.get_remaining_time_in_millis() > 0
    return {**event, "count": event["count"] + 1, "thread": threading.current_thread() is threading.main_thread()}


def test_tasks_run_in_process_through_a_choice_and_wait_loop(aws: LocalAws) -> None:
    machine = toy_machine(aws, counting, lambda event, _: {**event, "done": True})
    machines = aws.state_machines()
    arn = machines.start(machine, "loop-1", {"count": 0, "wait": 0})
    described = machines.wait(arn)
    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output["count"] == 3
    assert output["done"] is True
    assert output["thread"] is False  # handlers run on moto's worker threads
    history = machines.history(arn)
    # First x3, Loop x3, Pause x2, Second x1
    assert machines.state_transitions(history) == 9
    names = [n for n, _ in aws.lambdas.invocations]
    assert names == ["arbiter-local-first"] * 3 + ["arbiter-local-second"]


def test_retry_matches_the_exception_class_name_and_is_instant_locally(aws: LocalAws) -> None:
    calls: list[int] = []

    def flaky(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        calls.append(1)
        if len(calls) < 3:
            raise FlakyError("try again")
        return {**event, "count": 3}

    machine = toy_machine(aws, flaky, lambda event, _: event)
    started = time.perf_counter()
    described = aws.state_machines().wait(aws.state_machines().start(machine, "retry-1", {"count": 0, "wait": 0}))
    assert described["status"] == "SUCCEEDED"
    assert len(calls) == 3
    assert time.perf_counter() - started < 5  # the declared 5 s + 10 s of backoff did not happen


def test_catch_routes_other_errors_to_the_fallback_which_publishes(aws: LocalAws) -> None:
    def broken(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
        raise BrokenError("cannot")

    machine = toy_machine(aws, broken, lambda event, _: event)
    described = aws.state_machines().wait(aws.state_machines().start(machine, "catch-1", {"count": 0, "wait": 0}))
    assert described["status"] == "FAILED"
    assert described.get("error") == "ToyFailed"
    alerts = aws.alerts()
    assert len(alerts) == 1
    assert alerts[0]["Error"] == "BrokenError"


def test_a_repeated_execution_name_does_not_run_twice(aws: LocalAws) -> None:
    runs: list[int] = []

    def once(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        runs.append(1)
        return {**event, "count": 3}

    machine = toy_machine(aws, once, lambda event, _: event)
    machines = aws.state_machines()
    first = machines.start(machine, "same-name", {"count": 0, "wait": 0})
    machines.wait(first)
    with pytest.raises(aws.stepfunctions.exceptions.ExecutionAlreadyExists):
        machines.start(machine, "same-name", {"count": 1, "wait": 0})
    assert len(runs) == 1


def test_the_poller_times_out(aws: LocalAws) -> None:
    def slow(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        time.sleep(0.5)
        return {**event, "count": 3}

    machine = toy_machine(aws, slow, lambda event, _: event)
    machines = aws.state_machines()
    arn = machines.start(machine, "slow-1", {"count": 0, "wait": 0})
    with pytest.raises(ExecutionTimeoutError):
        machines.wait(arn, timeout_s=0.05)
    assert machines.wait(arn)["status"] == "SUCCEEDED"


def test_substitution_refuses_a_placeholder_without_value() -> None:
    with pytest.raises(KeyError, match=r"\$\{Missing\}"):
        substitute('{"a": "${Missing}"}', {})
