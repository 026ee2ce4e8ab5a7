"""What each saga step, the reconciler, the retraining's export and the scanner really call on DynamoDB (moto),
recorded while fault scenarios run through the real ASL and handlers and the scheduled scanner runs its shards,
is what cdk/arbiter_constructs/access.py grants them, and never what its audit guard denies. (The saga's venue
state is not exercised here: the local venues keep their state in memory.)"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from fnmatch import fnmatch
from typing import Any

import botocore.handlers
import pytest

import arbiter.local.platform as platform_module
from arbiter.local import retraining as retraining_module
from arbiter.local import scanning as scanning_module
from arbiter.local.scanning import LocalScanning
from arbiter.local.scenarios import ScenarioRunner
from arbiter.models.time import ManualClock
from arbiter.settings import ScannerSettings, Settings, SimulationSettings
from arbiter.storage.journal import DynamoExecutionJournal
from arbiter.storage.opportunities import DynamoOpportunityStore
from cdk.arbiter_constructs.access import AUDITED_TABLE, FUNCTION_ACCESS, ONLY_ON_PARTITIONS, QUERY
from tests.integration.saga.test_saga_matrix import CASES, LOST_FOR_GOOD
from tests.support.scoring_history import write_history

# Transaction items are authorised as the single-item action of the same kind.
TRANSACT_ACTION = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
Call = tuple[str, str, str, str]
"""(IAM action, table key, index, partition key)"""


class CallRecorder:
    """Attributes every DynamoDB call to the function whose handler is running in that thread (or started it)."""

    def __init__(self, table_keys: dict[str, str]) -> None:
        self.table_keys = table_keys
        self.current = threading.local()
        self.calls: dict[str, set[Call]] = defaultdict(set)

    def named(self, folder: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(event: Any, context: Any) -> Any:
            self.current.name = folder
            try:
                return handler(event, context)
            finally:
                self.current.name = None

        return run

    def on_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        function = getattr(self.current, "name", None)
        if function is None:
            return  # the test's own set-up and checks
        if model.name == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                self._add(function, TRANSACT_ACTION[kind], body["TableName"], "", body.get("Key") or body["Item"])
        else:
            key = params.get("Key") or params.get("Item") or {}
            self._add(function, model.name, params["TableName"], params.get("IndexName", ""), key)

    def _add(self, function: str, action: str, table: str, index: str, key: dict[str, Any]) -> None:
        partition = next((v.get("S", "") for k, v in key.items() if k in ("pk", "id", "client_order_id")), "")
        self.calls[function].add((action, self.table_keys.get(table, table), index, partition))


def _inherit_attribution(recorder: CallRecorder) -> Callable[..., None]:
    """A thread a step starts (the desk places legs concurrently) works for that step."""
    start = threading.Thread.start

    def started(thread: threading.Thread) -> None:
        owner, run = getattr(recorder.current, "name", None), thread.run

        def attributed() -> None:
            recorder.current.name = owner
            run()

        thread.run = attributed  # type: ignore[method-assign]
        start(thread)

    return started


@pytest.fixture(scope="module")
def recorded() -> dict[str, set[Call]]:
    recorder = CallRecorder({})
    load = platform_module.load_handler
    hook = ("before-parameter-build.dynamodb", recorder.on_call)
    with pytest.MonkeyPatch.context() as patch:
        for module in (platform_module, retraining_module, scanning_module):
            patch.setattr(module, "load_handler", lambda folder: recorder.named(folder, load(folder)))
        patch.setattr(threading.Thread, "start", _inherit_attribution(recorder))
        botocore.handlers.BUILTIN_HANDLERS.append(hook)
        try:
            with ScenarioRunner() as runner:
                recorder.table_keys.update({name: key for key, name in runner.platform.aws.tables.items()})
                for scenario in [*(case for case, _ in CASES[:10]), LOST_FOR_GOOD]:
                    runner.run(scenario)
                _retrain_once(runner)
            _scan_once(recorder)
        finally:
            botocore.handlers.BUILTIN_HANDLERS.remove(hook)
    return recorder.calls


SCANNER = Settings(
    simulation=SimulationSettings(seed=11, symbols_per_venue=10, dislocation_probability=0.2, levels=10),
    scanner=ScannerSettings(shards=2, run_ms=8_000, stop_margin_ms=0, route_cooldown_ms=5_000, depth=10),
)


def _scan_once(recorder: CallRecorder) -> None:
    """Three scheduled minutes of two shards on the local platform: leases, heartbeats, the views it reads, the
    opportunities it stores (the executions it starts run the saga's steps, recorded as theirs)."""
    with LocalScanning(SCANNER) as local:
        recorder.table_keys.update({name: key for key, name in local.platform.aws.tables.items()})
        machines = local.platform.aws.state_machines()
        arn = local.platform.state_machine_arn.replace(":stateMachine:", ":execution:")
        # Three minutes: the later ones read the outcomes (and orders) of the executions the earlier ones started.
        started = []
        for _ in range(3):
            results = local.scheduled_minute()
            assert all(r["ran"] for r in results), results
            for name in (name for r in results for name in r["started"]):
                machines.wait(f"{arn}:{name}", timeout_s=60)
                started.append(name)
        assert started


def _retrain_once(runner: ScenarioRunner) -> None:
    """The retraining over a recorded history (its export reads the journal and the opportunities)."""
    aws = runner.platform.aws
    tables = aws.tables
    journal = DynamoExecutionJournal(aws.dynamodb, tables["executions"], tables["orders"])
    opportunities = DynamoOpportunityStore(aws.dynamodb, tables["opportunities"], 30)
    start = runner.clock.now_ms() + 40 * 86_400_000  # (the scenarios' executions, stored without features, before)
    last = write_history(journal, opportunities, 120, start_ms=start)
    settings = retraining_module.local_scoring_settings(min_training_rows=60)
    with retraining_module.LocalRetraining(aws, ManualClock(last + 60_000), settings) as retraining:
        assert retraining.run().status == "SUCCEEDED"


# Not run here: the API's row comes from reading its code (its own tests run it on moto, without recording calls
# yet). The retraining's evaluation and promotion touch no table.
NOT_RECORDED_HERE = {"api", "retrain_evaluate", "retrain_promote"}


def test_the_scenarios_reach_every_step_and_the_reconciler(recorded: dict[str, set[Call]]) -> None:
    assert set(recorded) == set(FUNCTION_ACCESS) - NOT_RECORDED_HERE


def _granted(function: str, action: str, table: str, index: str) -> bool:
    access = FUNCTION_ACCESS[function].get(table)
    if access is None:
        return False
    if index:
        return index in access.indexes and f"dynamodb:{action}" == QUERY
    return f"dynamodb:{action}" in access.actions


# The scanner's grants for what its recorded run does not reach: reading who holds a lease it could not take, and
# the risk engine engaging the kill switch (a loss limit crossed).
SCANNER_UNREACHED = {("venue_state", "dynamodb:GetItem"), ("configuration", "dynamodb:PutItem")}


def test_the_scanner_is_granted_nothing_beyond_what_it_calls(recorded: dict[str, set[Call]]) -> None:
    used = {(table, f"dynamodb:{action}") for action, table, index, _ in recorded["scanner"] if not index}
    granted = {(table, action) for table, access in FUNCTION_ACCESS["scanner"].items() for action in access.actions}
    assert granted - used == SCANNER_UNREACHED


def test_every_recorded_call_is_granted(recorded: dict[str, set[Call]]) -> None:
    refused = [
        (function, action, table, index)
        for function, calls in recorded.items()
        for action, table, index, _ in sorted(calls)
        if not _granted(function, action, table, index)
    ]
    assert refused == []


def test_no_recorded_call_is_one_the_audit_guard_denies(recorded: dict[str, set[Call]]) -> None:
    denied = [
        (function, action, partition)
        for function, calls in recorded.items()
        for action, table, _, partition in calls
        if table == AUDITED_TABLE
        and f"dynamodb:{action}" in ONLY_ON_PARTITIONS
        and not any(fnmatch(partition, p) for p in ONLY_ON_PARTITIONS[f"dynamodb:{action}"])
    ]
    assert denied == []
    # The guard is not vacuous: the saga does delete and update on the executions table, where it allows.
    actions = {action for calls in recorded.values() for action, table, _, _ in calls if table == AUDITED_TABLE}
    assert {"DeleteItem", "UpdateItem", "PutItem"} <= actions
