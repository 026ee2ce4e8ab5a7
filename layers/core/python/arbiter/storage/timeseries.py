"""Time series (market snapshots, opportunity statistics, P&L): DynamoDB by default, with retention by TTL;
Amazon Timestream for LiveAnalytics as an option for accounts that still have it (AWS closed it to new
customers in 2025, so nothing may depend on it)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from pydantic import Field

from arbiter.models.common import TimestampMs, ValueModel
from arbiter.settings import StorageSettings
from arbiter.storage.aws import AWS_RETRY_POLICY, dynamodb_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_timestream_query import TimestreamQueryClient
    from mypy_boto3_timestream_write import TimestreamWriteClient

DAY_MS = 86_400_000


class Point(ValueModel):
    series: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:/#-]+$")
    at_ms: TimestampMs
    values: dict[str, Decimal] = Field(min_length=1)


class TimeSeriesStore(Protocol):
    def put(self, points: list[Point]) -> None: ...

    def query(self, series: str, start_ms: int, end_ms: int) -> list[Point]: ...


class DynamoTimeSeries:
    """``pk = series``, ``sk = at_ms`` zero-padded, ``expires_at`` (seconds) for DynamoDB's TTL."""

    def __init__(self, client: DynamoDBClient, table: str, retention_days: int) -> None:
        self.client, self.table, self.retention_ms = client, table, retention_days * DAY_MS

    def put(self, points: list[Point]) -> None:
        for point in points:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": point.series},
                    "sk": {"S": f"{point.at_ms:015d}"},
                    "values": {"M": {k: {"N": str(v)} for k, v in point.values.items()}},
                    "expires_at": {"N": str((point.at_ms + self.retention_ms) // 1000)},
                },
            )

    def query(self, series: str, start_ms: int, end_ms: int) -> list[Point]:
        points: list[Point] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :start AND :end",
            "ExpressionAttributeValues": {
                ":pk": {"S": series},
                ":start": {"S": f"{start_ms:015d}"},
                ":end": {"S": f"{end_ms:015d}"},
            },
        }
        while True:
            page = self.client.query(**kwargs)
            for item in page.get("Items", []):
                values = {k: Decimal(v["N"]) for k, v in item["values"]["M"].items()}
                points.append(Point(series=series, at_ms=int(item["sk"]["S"]), values=values))
            if "LastEvaluatedKey" not in page:
                return points
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class TimestreamTimeSeries:
    """One multi-measure record per point: dimension ``series``, one DOUBLE measure per value."""

    def __init__(self, writer: TimestreamWriteClient, reader: TimestreamQueryClient, database: str, table: str) -> None:
        self.writer, self.reader, self.database, self.table = writer, reader, database, table

    def put(self, points: list[Point]) -> None:
        for start in range(0, len(points), 100):  # WriteRecords takes at most 100 records
            self.writer.write_records(
                DatabaseName=self.database,
                TableName=self.table,
                Records=[
                    {
                        "Dimensions": [{"Name": "series", "Value": p.series}],
                        "MeasureName": "values",
                        "MeasureValueType": "MULTI",
                        "MeasureValues": [{"Name": k, "Value": str(v), "Type": "DOUBLE"} for k, v in p.values.items()],
                        "Time": str(p.at_ms),
                        "TimeUnit": "MILLISECONDS",
                    }
                    for p in points[start : start + 100]
                ],
            )

    def query(self, series: str, start_ms: int, end_ms: int) -> list[Point]:
        if "'" in series:
            raise ValueError(f"series: {series!r} must not contain quotes")
        sql = (
            f'SELECT * FROM "{self.database}"."{self.table}" WHERE series = \'{series}\' '  # noqa: S608 - checked above
            f"AND time BETWEEN from_milliseconds({int(start_ms)}) AND from_milliseconds({int(end_ms)}) ORDER BY time"
        )
        points: list[Point] = []
        kwargs: dict[str, Any] = {"QueryString": sql}
        while True:
            page = self.reader.query(**kwargs)
            names = [column["Name"] for column in page["ColumnInfo"]]
            for row in page["Rows"]:
                cells = dict(zip(names, (d.get("ScalarValue") for d in row["Data"]), strict=True))
                values = {
                    n: Decimal(str(v)) for n, v in cells.items() if n not in {"series", "time", "measure_name"} and v
                }
                points.append(Point(series=series, at_ms=_timestream_ms(str(cells["time"])), values=values))
            if not page.get("NextToken"):
                return points
            kwargs["NextToken"] = page["NextToken"]


def _timestream_ms(text: str) -> int:
    """Timestream returns times as '2026-01-01 00:00:00.123000000' (UTC)."""
    whole, _, fraction = text.partition(".")
    moment = datetime.strptime(whole, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000) + int((fraction or "0")[:3].ljust(3, "0"))


def time_series_store(settings: StorageSettings, tables: dict[str, str], region: str | None = None) -> TimeSeriesStore:
    """The store the settings select."""
    if settings.time_series_backend == "timestream":
        return TimestreamTimeSeries(
            boto3.client("timestream-write", region_name=region, config=AWS_RETRY_POLICY),
            boto3.client("timestream-query", region_name=region, config=AWS_RETRY_POLICY),
            settings.timestream_database,
            settings.timestream_table,
        )
    return DynamoTimeSeries(dynamodb_client(region), tables["timeseries"], settings.time_series_retention_days)
