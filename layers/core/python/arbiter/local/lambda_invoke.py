"""In-process Lambda: a botocore ``before-call.lambda.Invoke`` hook that runs registered Python handlers.

moto's Step Functions interpreter invokes Lambda tasks through a fresh boto3 client each time, and
``mock_aws`` replaces boto3's default session, so the hook is registered in botocore's BUILTIN_HANDLERS,
which every new session installs. The response has the shape of a real Invoke response: a failed handler
gives ``FunctionError: "Unhandled"`` and ``{"errorType": <exception class name>, ...}``, so ASL Retry and
Catch match exception class names exactly as they do on AWS.
"""

from __future__ import annotations

import io
import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.handlers
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.response import StreamingBody

LambdaHandler = Callable[[dict[str, Any], Any], Any]
LOCAL_ACCOUNT = "123456789012"


@dataclass
class LocalLambdaContext:
    """The attributes Powertools and our handlers read from a Lambda context."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_ms: int = 60_000
    region: str = "eu-west-1"
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.timeout_ms - int((time.monotonic() - self.started) * 1000))


def function_arn(name: str, region: str = "eu-west-1") -> str:
    return f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT}:function:{name}"


def _function_name(reference: str) -> str:
    # Accepts a name, a full ARN, or either with a ":qualifier".
    if reference.startswith("arn:"):
        return reference.split(":")[6]
    return reference.split(":", 1)[0]


class LocalLambdas:
    """The registry of in-process functions and the botocore hook that invokes them."""

    CAPTURE_EVENT = "before-parameter-build.lambda.Invoke"
    EVENT = "before-call.lambda.Invoke"

    def __init__(self, region: str = "eu-west-1") -> None:
        self.region = region
        self._handlers: dict[str, LambdaHandler] = {}
        self._lock = threading.Lock()
        self.invocations: list[tuple[str, float]] = []
        """(function name, perf_counter at invocation) for every call: counts Lambda hops in benchmarks."""
        self.duplicated: dict[str, float] = {}
        """Function name -> lead in seconds: each invocation is delivered twice, as Lambda's at-least-once
        delivery may; the earlier delivery runs in the background and the caller gets the later one's answer."""
        self.background: list[threading.Thread] = []

    def register(self, name: str, handler: LambdaHandler) -> str:
        self._handlers[name] = handler
        return function_arn(name, self.region)

    def _hooks(self) -> list[tuple[str, Callable[..., Any]]]:
        return [(self.CAPTURE_EVENT, self._capture_params), (self.EVENT, self._on_invoke)]

    def install(self) -> None:
        for entry in self._hooks():
            if entry not in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.append(entry)

    def uninstall(self) -> None:
        for entry in self._hooks():
            while entry in botocore.handlers.BUILTIN_HANDLERS:
                botocore.handlers.BUILTIN_HANDLERS.remove(entry)

    @staticmethod
    def _capture_params(params: dict[str, Any], context: dict[str, Any], **_kwargs: Any) -> None:
        # before-call only sees the serialised request; keep the API parameters for it in the request context.
        context["local_lambda_params"] = dict(params)

    def _on_invoke(self, context: dict[str, Any], **_kwargs: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        params = context.get("local_lambda_params")
        if params is None:
            return None
        name = _function_name(str(params["FunctionName"]))
        if name not in self._handlers:
            return None  # not ours: let moto answer (it reports the function as missing)
        raw = params.get("Payload") or b"{}"
        event = json.loads(raw.read() if hasattr(raw, "read") else raw)
        payload, failed = self.invoke(name, event)
        body = json.dumps(payload, default=str).encode()
        parsed: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(body), len(body)),
            "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}},
        }
        if failed:
            parsed["FunctionError"] = "Unhandled"
        return AWSResponse("local://lambda", 200, HTTPHeaders(), None), parsed

    def invoke(self, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Run a registered handler; ``(payload, failed)`` where a failure payload is Lambda's error JSON."""
        handler = self._handlers.get(name)
        if handler is None:
            raise KeyError(f"no local function named {name!r} (registered: {', '.join(sorted(self._handlers))})")
        with self._lock:
            self.invocations.append((name, time.perf_counter()))
        lead = self.duplicated.get(name)
        if lead is not None:
            earlier = threading.Thread(target=self._deliver, args=(handler, name, event), daemon=True)
            earlier.start()
            self.background.append(earlier)
            time.sleep(lead)
        return self._deliver(handler, name, event)

    def join_background(self, timeout_s: float = 30.0) -> None:
        """Wait for every earlier delivery still running (what it sent counts as much as the caller's)."""
        while self.background:
            self.background.pop().join(timeout_s)

    def _deliver(self, handler: LambdaHandler, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        try:
            result = handler(event, LocalLambdaContext(function_name=name, region=self.region))
        except Exception as error:  # noqa: BLE001 - reported to the state machine exactly as Lambda would
            return {
                "errorType": type(error).__name__,
                "errorMessage": str(error),
                "stackTrace": traceback.format_exception(error)[-5:],
            }, True
        return result, False
