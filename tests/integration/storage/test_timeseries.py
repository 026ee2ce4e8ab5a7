from __future__ import annotations

from decimal import Decimal

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.timestreamwrite.models import timestreamwrite_backends

from arbiter.local import create_local_tables
from arbiter.settings import StorageSettings
from arbiter.storage.timeseries import DynamoTimeSeries, Point, TimestreamTimeSeries, time_series_store

AT = 1_767_225_600_000
POINTS = [
    Point(series="pnl:USDT", at_ms=AT + n * 1000, values={"realised": Decimal(n), "count": Decimal(1)})
    for n in range(5)
]


@mock_aws
def test_dynamodb_series_round_trip_with_retention_by_ttl() -> None:
    client = boto3.client("dynamodb", region_name="eu-west-1")
    tables = create_local_tables(client)
    store = time_series_store(StorageSettings(time_series_retention_days=7), tables, "eu-west-1")
    assert isinstance(store, DynamoTimeSeries)
    store.put(POINTS)
    assert store.query("pnl:USDT", AT + 1000, AT + 3000) == POINTS[1:4]
    item = client.get_item(TableName=tables["timeseries"], Key={"pk": {"S": "pnl:USDT"}, "sk": {"S": f"{AT:015d}"}})
    assert int(item["Item"]["expires_at"]["N"]) == (AT + 7 * 86_400_000) // 1000


@mock_aws
def test_timestream_writes_are_accepted_by_the_service_api() -> None:
    writer = boto3.client("timestream-write", region_name="eu-west-1")
    writer.create_database(DatabaseName="arbiter")
    writer.create_table(DatabaseName="arbiter", TableName="series")
    store = TimestreamTimeSeries(writer, boto3.client("timestream-query", region_name="eu-west-1"), "arbiter", "series")
    store.put(POINTS * 30)  # 150 records: two WriteRecords calls
    backend = timestreamwrite_backends["123456789012"]["eu-west-1"]
    records = backend.databases["arbiter"].tables["series"].records
    assert len(records) == 150
    assert records[0]["MeasureValues"][0] == {"Name": "realised", "Value": "0", "Type": "DOUBLE"}


def test_timestream_reads_parse_the_documented_query_response() -> None:
    reader = boto3.client("timestream-query", region_name="eu-west-1")
    response = {
        "QueryId": "q1",
        "ColumnInfo": [
            {"Name": "series", "Type": {"ScalarType": "VARCHAR"}},
            {"Name": "measure_name", "Type": {"ScalarType": "VARCHAR"}},
            {"Name": "time", "Type": {"ScalarType": "TIMESTAMP"}},
            {"Name": "realised", "Type": {"ScalarType": "DOUBLE"}},
        ],
        "Rows": [
            {
                "Data": [
                    {"ScalarValue": "pnl:USDT"},
                    {"ScalarValue": "values"},
                    {"ScalarValue": "2026-01-01 00:00:01.250000000"},
                    {"ScalarValue": "1.5"},
                ]
            },
        ],
    }
    with Stubber(reader) as stub:
        stub.add_response("query", response)
        store = TimestreamTimeSeries(
            boto3.client("timestream-write", region_name="eu-west-1"), reader, "arbiter", "series"
        )
        points = store.query("pnl:USDT", AT, AT + 5000)
    assert points == [Point(series="pnl:USDT", at_ms=AT + 1250, values={"realised": Decimal("1.5")})]
    with pytest.raises(ValueError, match="quotes"):
        store.query("x' OR '1'='1", AT, AT + 1)
