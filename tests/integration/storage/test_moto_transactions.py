"""The local runtime's TransactWriteItems rollback (arbiter.local.moto_support): all-or-nothing as on AWS,
without copying whole tables (moto's own way, which made long local runs slow down and balloon)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from arbiter.local import create_local_tables
from arbiter.local.moto_support import serialise_moto_requests


@pytest.fixture
def executions(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    serialise_moto_requests()

    def refuse(self: Table, memo: dict[int, Any]) -> Table:
        raise AssertionError("a transaction copied a whole table")

    monkeypatch.setattr(Table, "__deepcopy__", refuse, raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        yield client, create_local_tables(client)["executions"]


def put(table: str, sk: str, value: str, condition: str | None = None) -> dict[str, Any]:
    item = {"pk": {"S": "p"}, "sk": {"S": sk}, "v": {"S": value}}
    return {"Put": {"TableName": table, "Item": item, **({"ConditionExpression": condition} if condition else {})}}


def values(client: Any, table: str) -> dict[str, str]:
    items = client.query(
        TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}
    )["Items"]
    return {i["sk"]["S"]: i["v"]["S"] for i in items}


def test_a_cancelled_transaction_leaves_every_item_as_it_was(executions: tuple[Any, str]) -> None:
    client, table = executions
    client.transact_write_items(TransactItems=[put(table, "a", "1"), put(table, "b", "1")])
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "p"}, "sk": {"S": "a"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "1"}},
    )
    update = {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": "p"}, "sk": {"S": "a"}},
            "UpdateExpression": "SET v = :v ADD n :one",
            "ExpressionAttributeValues": {":v": {"S": "2"}, ":one": {"N": "1"}},
        }
    }
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[update, put(table, "new", "2"), put(table, "b", "2", "attribute_not_exists(sk)")]
        )
    assert values(client, table) == {"a": "1", "b": "1"}
    a = client.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "a"}})["Item"]
    assert a["n"] == {"N": "1"}
    client.transact_write_items(TransactItems=[update, put(table, "new", "2")])
    assert values(client, table) == {"a": "2", "b": "1", "new": "2"}
