"""Step Functions in-process: moto's interpreter runs the real ASL files (the ones CDK deploys)."""

from __future__ import annotations

import json
import re
import time
import types
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moto.stepfunctions.parser import utils as parser_utils
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

from arbiter.models.time import Pause

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.type_defs import DescribeExecutionOutputTypeDef, HistoryEventTypeDef

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def substitute(definition: str, substitutions: Mapping[str, str]) -> str:
    """Replace ``${Name}`` placeholders as CloudFormation's DefinitionSubstitutions does; refuse leftovers."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in substitutions:
            raise KeyError(f"definition placeholder ${{{name}}} has no substitution")
        return substitutions[name]

    return _PLACEHOLDER.sub(replace, definition)


def scale_retry_intervals(scale: float, simulated: Pause | None = None) -> None:
    """Make ASL Retry intervals ``scale`` times their declared length (0: instant) for local runs, and let each
    wait its declared length on the simulated clock (``simulated``), so a retry budget means the same time
    locally as on AWS (a venue outage of a few seconds is waited out, not retried through in no time).

    moto's retrier sleeps for real; tests and the demo would otherwise wait out every backoff."""

    def sleep(seconds: float) -> None:
        if simulated is not None:
            simulated(round(seconds * 1000))
        time.sleep(seconds * scale)

    retrier_decl.time = types.SimpleNamespace(sleep=sleep)  # type: ignore[assignment,attr-defined]


class ExecutionTimeoutError(TimeoutError):
    pass


class LocalStateMachines:
    def __init__(self, client: SFNClient, role_arn: str) -> None:
        self.client = client
        self.role_arn = role_arn

    def create(self, name: str, definition_path: Path, substitutions: Mapping[str, str]) -> str:
        definition = substitute(definition_path.read_text(encoding="utf-8"), substitutions)
        json.loads(definition)  # a broken file fails here, with the JSON error, not deep inside moto
        created = self.client.create_state_machine(
            name=name, definition=definition, roleArn=self.role_arn, type="STANDARD"
        )
        return created["stateMachineArn"]

    def start(self, state_machine_arn: str, name: str, payload: Mapping[str, Any]) -> str:
        started = self.client.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload, default=str)
        )
        return started["executionArn"]

    def wait(self, execution_arn: str, timeout_s: float = 30.0, poll_s: float = 0.01) -> DescribeExecutionOutputTypeDef:
        """Poll until the execution is terminal (StartExecution returns at once; the machine runs in threads)."""
        deadline = time.monotonic() + timeout_s
        while True:
            described = self.client.describe_execution(executionArn=execution_arn)
            if described["status"] in TERMINAL:
                self._forget_finished_threads()
                return described
            if time.monotonic() > deadline:
                raise ExecutionTimeoutError(f"{execution_arn} still {described['status']} after {timeout_s} s")
            time.sleep(poll_s)

    def history(self, execution_arn: str) -> list[HistoryEventTypeDef]:
        events: list[HistoryEventTypeDef] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = self.client.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    @staticmethod
    def state_transitions(history: list[HistoryEventTypeDef]) -> int:
        """States entered, as AWS bills them for Standard workflows."""
        return sum(1 for event in history if event["type"].endswith("StateEntered"))

    @staticmethod
    def _forget_finished_threads() -> None:
        # moto keeps every worker thread it started; a long local run must let finished ones go.
        parser_utils.TMP_THREADS[:] = [t for t in parser_utils.TMP_THREADS if t.is_alive()]
