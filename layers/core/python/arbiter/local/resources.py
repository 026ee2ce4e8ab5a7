"""Creates the AWS resources of local mode in moto, from the same layouts the CDK stacks deploy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arbiter.storage.schema import TABLES, table_name

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeDefinitionTypeDef,
        GlobalSecondaryIndexTypeDef,
        KeySchemaElementTypeDef,
    )

LOCAL_PREFIX = "arbiter-local"


def create_local_tables(client: DynamoDBClient, prefix: str = LOCAL_PREFIX) -> dict[str, str]:
    """Create every table (with its TTL and indexes) and return the physical name of each, by table key."""
    names: dict[str, str] = {}
    for spec in TABLES:
        name = table_name(prefix, spec)
        keys: list[KeySchemaElementTypeDef] = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
        attributes: list[AttributeDefinitionTypeDef] = [{"AttributeName": spec.partition_key, "AttributeType": "S"}]
        if spec.sort_key:
            keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
            attributes.append({"AttributeName": spec.sort_key, "AttributeType": "S"})
        indexes: list[GlobalSecondaryIndexTypeDef] = []
        for index in spec.indexes:
            indexes.append(
                {
                    "IndexName": index.name,
                    "KeySchema": [
                        {"AttributeName": index.partition_key, "KeyType": "HASH"},
                        {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            )
            attributes += [
                {"AttributeName": index.partition_key, "AttributeType": "S"},
                {"AttributeName": index.sort_key, "AttributeType": "S"},
            ]
        layout: dict[str, Any] = {"GlobalSecondaryIndexes": indexes} if indexes else {}
        client.create_table(
            TableName=name, KeySchema=keys, AttributeDefinitions=attributes, BillingMode="PAY_PER_REQUEST", **layout
        )
        if spec.ttl_attribute:
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )
        names[spec.key] = name
    return names
