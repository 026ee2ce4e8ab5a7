"""``LocalAws``: the platform's AWS in one process (moto), with Lambda tasks run in-process."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3
from moto import mock_aws

from arbiter.local.lambda_invoke import LambdaHandler, LocalLambdas
from arbiter.local.moto_support import serialise_moto_requests
from arbiter.local.resources import LOCAL_PREFIX, create_local_tables
from arbiter.local.stepfunctions import LocalStateMachines, scale_retry_intervals
from arbiter.models.time import Pause

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient


@dataclass
class LocalAws:
    region: str = "eu-west-1"
    prefix: str = LOCAL_PREFIX
    retry_scale: float = 0.0
    """Declared ASL retry intervals are multiplied by this (0: retries are instant)."""
    simulated_waits: Pause | None = None
    """Advances the simulated clock by each ASL retry interval as declared (the platform's clock)."""
    execute_state_machines: bool = True
    """False: StartExecution is answered as AWS answers it but nothing runs the execution here (as on AWS, where
    it runs outside the caller), for measuring a caller without the sagas sharing its process."""
    lambdas: LocalLambdas = field(init=False)
    tables: dict[str, str] = field(init=False, default_factory=dict)
    alert_topic_arn: str = field(init=False, default="")
    _alert_queue_url: str = field(init=False, default="")
    _mock: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.lambdas = LocalLambdas(self.region)

    def start(self) -> LocalAws:
        serialise_moto_requests()
        # moto's ASL interpreter logs every failed execution as an error; a saga ending in a Fail state (an
        # incident) is an outcome the platform records and reports itself, not an interpreter fault.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        os.environ.setdefault("AWS_DEFAULT_REGION", self.region)  # clients made inside tasks find the region
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": self.execute_state_machines}})
        self._mock.start()
        self.lambdas.install()
        scale_retry_intervals(self.retry_scale, self.simulated_waits)
        self.tables = create_local_tables(self.dynamodb, self.prefix)
        self.alert_topic_arn = self.sns.create_topic(Name=f"{self.prefix}-alerts")["TopicArn"]
        # A queue subscribed to the alert topic lets tests and the demo read what was published.
        self._alert_queue_url = self.sqs.create_queue(QueueName=f"{self.prefix}-alerts-inbox")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self._alert_queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.sns.subscribe(
            TopicArn=self.alert_topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
        )
        return self

    def stop(self) -> None:
        self.lambdas.uninstall()
        scale_retry_intervals(1.0)
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region)  # type: ignore[call-overload]

    @property
    def dynamodb(self) -> DynamoDBClient:
        return boto3.client("dynamodb", region_name=self.region)

    @property
    def sns(self) -> SNSClient:
        return boto3.client("sns", region_name=self.region)

    @property
    def sqs(self) -> SQSClient:
        return boto3.client("sqs", region_name=self.region)

    @property
    def stepfunctions(self) -> SFNClient:
        return boto3.client("stepfunctions", region_name=self.region)

    def state_machines(self) -> LocalStateMachines:
        role = f"arn:aws:iam::123456789012:role/{self.prefix}-states"
        return LocalStateMachines(self.stepfunctions, role)

    def register_function(self, name: str, handler: LambdaHandler) -> str:
        """Register an in-process handler under a function name; returns the ARN the ASL refers to."""
        return self.lambdas.register(f"{self.prefix}-{name}", handler)

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert published so far (drains the inbox queue)."""
        received: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self._alert_queue_url, MaxNumberOfMessages=10)
            messages = batch.get("Messages", [])
            if not messages:
                return received
            for message in messages:
                body = message["Body"]
                try:
                    received.append(json.loads(body))
                except json.JSONDecodeError:
                    received.append({"message": body})
                self.sqs.delete_message(QueueUrl=self._alert_queue_url, ReceiptHandle=message["ReceiptHandle"])
