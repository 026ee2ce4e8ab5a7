"""Starting an execution of the arbitrage state machine, named by the opportunity's id: a second start of the
same name (``ExecutionAlreadyExists``) is the de-duplication working, answered as "already started", never an
error. Step Functions on AWS (moto locally), memory in tests."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


class ExecutionStarter(Protocol):
    def start(self, name: str, input_json: str) -> bool:
        """True when this call started the execution, False when one of that name already existed."""
        ...


class InMemoryExecutionStarter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started: dict[str, str] = {}

    def start(self, name: str, input_json: str) -> bool:
        with self._lock:
            if name in self.started:
                return False
            self.started[name] = input_json
            return True


class StepFunctionsStarter:
    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self.client, self.state_machine_arn = client, state_machine_arn

    def start(self, name: str, input_json: str) -> bool:
        try:
            self.client.start_execution(stateMachineArn=self.state_machine_arn, name=name, input=input_json)
        except Exception as error:
            response: Any = getattr(error, "response", None)
            if response and response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False
            raise
        return True
