"""The saga's Lambda tasks: one source for the function folders CDK deploys, the ``${...FunctionArn}``
substitutions in ``statemachines/arbitrage.asl.json`` and the handlers the local runtime registers."""

from __future__ import annotations

from dataclasses import dataclass

SAGA_DEFINITION = "statemachines/arbitrage.asl.json"
ALERT_TOPIC_SUBSTITUTION = "AlertTopicArn"
SAGA_TIMEOUT_SECONDS = 3_600
"""The whole execution's ``TimeoutSeconds``, written in the ASL file itself: CDK drops a construct's ``timeout``
when the definition comes from a file, and a Standard workflow would otherwise run for up to a year. An hour
covers the worst case: every compensation round (sent and unsent) waiting out a venue outage of about a minute
in each of Compensate's and Reconcile's retries. An execution the machine stopped (timed out, failed) is found by
the reconciler (``ReconcileSettings.stuck_after_ms``) and becomes an incident."""
FUNCTION_TIMEOUT_MARGIN_SECONDS = 15
"""How much sooner a task's Lambda stops than its state's ``TimeoutSeconds`` (cold start is not in the Lambda's
clock): a state must never time out while its function still runs, or a step that still sends orders would
overlap the compensation that follows."""


@dataclass(frozen=True)
class SagaTask:
    state: str
    """The ASL state name; the definition refers to the function as ``${<state>FunctionArn}``."""
    folder: str
    """The function's folder under ``functions/``; its ``handler.py`` exposes ``handler``."""
    timeout_seconds: int = 60
    """The state's ``TimeoutSeconds`` in the ASL definition."""
    sends_orders: bool = False
    """Whether the step sends orders to venues (placements, cancels, flattening): its function's reserved
    concurrency bounds how many run at once, whatever Prepare decided."""

    @property
    def function_timeout_seconds(self) -> int:
        return self.timeout_seconds - FUNCTION_TIMEOUT_MARGIN_SECONDS

    @property
    def substitution(self) -> str:
        return f"{self.state}FunctionArn"


SAGA_TASKS: tuple[SagaTask, ...] = (
    SagaTask("Prepare", "saga_prepare"),
    SagaTask("PlaceLegs", "saga_place_legs", sends_orders=True),
    SagaTask("PollFills", "saga_poll_fills"),
    SagaTask("Settle", "saga_settle"),
    SagaTask("Compensate", "saga_compensate", timeout_seconds=120, sends_orders=True),
    SagaTask("Reconcile", "saga_reconcile", timeout_seconds=120),
    SagaTask("Incident", "saga_incident"),
)
