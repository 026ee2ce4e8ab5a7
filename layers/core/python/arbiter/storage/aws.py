"""boto3 clients with Arbiter's failure policy for AWS calls.

botocore's "standard" retry mode retries throttling, transient 5xx and connection errors with exponential
backoff and jitter, up to ``max_attempts`` in total; after that the error reaches the caller (a saga task
fails and the state machine's Retry/Catch decide). Conditional-check failures are never retried: they are
answers, handled where they happen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_stepfunctions import SFNClient

AWS_RETRY_POLICY = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10)


def dynamodb_client(region: str | None = None) -> DynamoDBClient:
    return boto3.client("dynamodb", region_name=region, config=AWS_RETRY_POLICY)


def sns_client(region: str | None = None) -> SNSClient:
    return boto3.client("sns", region_name=region, config=AWS_RETRY_POLICY)


def s3_client(region: str | None = None) -> S3Client:
    return boto3.client("s3", region_name=region, config=AWS_RETRY_POLICY)


def ssm_client(region: str | None = None) -> SSMClient:
    return boto3.client("ssm", region_name=region, config=AWS_RETRY_POLICY)


def stepfunctions_client(region: str | None = None) -> SFNClient:
    return boto3.client("stepfunctions", region_name=region, config=AWS_RETRY_POLICY)


def is_conditional_check_failure(error: Exception) -> bool:
    response: Any = getattr(error, "response", None)
    return bool(response) and response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def is_transaction_cancelled(error: Exception) -> bool:
    """A TransactWriteItems that wrote nothing: a condition failed or another transaction held an item."""
    response: Any = getattr(error, "response", None)
    return bool(response) and response.get("Error", {}).get("Code") == "TransactionCanceledException"


def is_lost_race(error: Exception) -> bool:
    return is_conditional_check_failure(error) or is_transaction_cancelled(error)


def query_items(client: DynamoDBClient, page_size: int | None = None, **query: Any) -> Iterator[dict[str, Any]]:
    """Every item a query matches, across DynamoDB's 1 MB pages (``page_size`` items per page when given)."""
    if page_size:
        query = {**query, "PaginationConfig": {"PageSize": page_size}}
    for page in client.get_paginator("query").paginate(**query):
        yield from page.get("Items", [])


def put_versioned(client: DynamoDBClient, table: str, item: dict[str, Any], version: int) -> bool:
    """Put ``item`` as ``version`` only over version ``version - 1`` (or nothing); False when another writer won."""
    try:
        client.put_item(
            TableName=table,
            Item={**item, "version": {"N": str(version)}},
            ConditionExpression="attribute_not_exists(pk) OR version = :previous",
            ExpressionAttributeValues={":previous": {"N": str(version - 1)}},
        )
    except Exception as error:
        if is_conditional_check_failure(error):
            return False
        raise
    return True
