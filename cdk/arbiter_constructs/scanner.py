"""The scanner: one function, one EventBridge Scheduler schedule per shard (every minute), each run holding its
shard's lease. A run lasts past the next minute's invocation, which warms up and takes the lease over when the
run stops, so two runs of a shard may overlap briefly: reserved concurrency is two per shard.

Memory: 1,769 MB is one full vCPU on Lambda; the scanner is CPU-bound on one core (``scanner.updates_per_s`` is
measured on one core), so less memory would slow it down in proportion and more buys a second core it does not
use."""

from __future__ import annotations

import json

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from arbiter.settings import ScannerSettings
from cdk.arbiter_constructs.functions import acknowledge_function_findings, arbiter_function
from cdk.arbiter_constructs.schedules import SCHEDULED_FUNCTION_ACKNOWLEDGMENTS, minute_schedules
from cdk.config import DeploymentConfig

MEMORY_MB = 1_769
RUN_MS = ScannerSettings().run_ms
STOP_MARGIN_MS = ScannerSettings().stop_margin_ms
FUNCTION_TIMEOUT_SECONDS = (RUN_MS + STOP_MARGIN_MS) // 1000 + 15
"""A run's own length, its stop margin and time to close its streams and release its lease."""


class Scanner(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeploymentConfig,
        layers: list[lambda_.ILayerVersion],
        environment: dict[str, str],
        state_machine: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = arbiter_function(
            self,
            "Function",
            folder="scanner",
            config=config,
            layers=layers,
            environment={
                **environment,
                "ARBITER_SCANNER__STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "ARBITER_SCANNER__SHARDS": str(config.scanner_shards),
                "ARBITER_SCANNER__UNIVERSE": json.dumps(
                    {venue: list(symbols) for venue, symbols in config.scanner_universe.items()}
                ),
            },
            timeout_seconds=FUNCTION_TIMEOUT_SECONDS,
            service="scanner",
            description="Arbiter scanner: follows its shard's books, starts executions of the opportunities",
            reserved_concurrency=2 * config.scanner_shards,
            memory_size=MEMORY_MB,
        )
        # StartExecution on the arbitrage machine, nothing else of Step Functions.
        state_machine.grant_start_execution(self.function)
        self.dead_letters, self.schedules = minute_schedules(
            self,
            self.function,
            {
                f"Shard{shard}Schedule": (
                    {"source": "arbiter.scanner.schedule", "shard": shard},
                    f"Arbiter scanner, shard {shard} of {config.scanner_shards}",
                )
                for shard in range(config.scanner_shards)
            },
        )
        acknowledge_function_findings(self, [self.function], "The schedules", SCHEDULED_FUNCTION_ACKNOWLEDGMENTS)
