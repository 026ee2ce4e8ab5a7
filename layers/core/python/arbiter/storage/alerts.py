"""Alerts to people, through the SNS alert topic."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


class SnsAlertPublisher:
    def __init__(self, client: SNSClient, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def publish(self, subject: str, message: Mapping[str, Any]) -> None:
        # SNS subjects are limited to 100 printable characters.
        self.client.publish(
            TopicArn=self.topic_arn,
            Subject=subject[:100],
            Message=json.dumps(dict(message), default=str, sort_keys=True),
        )
