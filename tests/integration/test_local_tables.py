from __future__ import annotations

import boto3
from moto import mock_aws

from arbiter.local import create_local_tables
from arbiter.storage import TABLES


@mock_aws
def test_local_tables_follow_the_shared_layouts() -> None:
    client = boto3.client("dynamodb", region_name="eu-west-1")
    names = create_local_tables(client)
    assert set(names) == {spec.key for spec in TABLES}
    for spec in TABLES:
        described = client.describe_table(TableName=names[spec.key])["Table"]
        keys = {k["KeyType"]: k["AttributeName"] for k in described["KeySchema"]}
        assert keys["HASH"] == spec.partition_key
        assert keys.get("RANGE") == spec.sort_key
        ttl = client.describe_time_to_live(TableName=names[spec.key])["TimeToLiveDescription"]
        assert ttl.get("AttributeName") == spec.ttl_attribute
