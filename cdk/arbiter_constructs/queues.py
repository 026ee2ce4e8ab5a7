"""Dead-letter queues: where an undeliverable scheduled run or alert is kept (14 days, encrypted, TLS only), not
dropped. Each one's depth is alarmed (``monitoring.py``)."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def dead_letter_queue(scope: Construct, construct_id: str, holds: str) -> sqs.Queue:
    """``holds`` says what lands there (the reason cdk-nag's own-DLQ findings are acknowledged with)."""
    queue = sqs.Queue(
        scope,
        construct_id,
        retention_period=Duration.days(14),
        enforce_ssl=True,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
    )
    reason = f"This queue is itself a dead-letter queue ({holds})."
    for rule in ("AwsSolutions::AwsSolutions-SQS3", "Serverless::Serverless-SQSRedrivePolicy"):
        Validations.of(queue).acknowledge(Acknowledgment(id=rule, reason=reason))
    return queue
