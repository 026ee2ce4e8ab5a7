"""Listing executions newest first with a cursor: the same contract in memory and on DynamoDB (moto), across
UTC days and several index pages."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

import boto3
import pytest
from moto import mock_aws

from arbiter.local import create_local_tables
from arbiter.models import Execution, ExecutionStatus
from arbiter.storage.journal import DynamoExecutionJournal, InMemoryExecutionJournal
from tests.integration.storage.test_journal_contract import OPPORTUNITY

DAY_MS = 86_400_000
START = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.fixture(params=["memory", "dynamodb"])
def journal(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryExecutionJournal()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        tables = create_local_tables(client)
        yield DynamoExecutionJournal(client, tables["executions"], tables["orders"], page_size=3)


def _fill(journal: Any) -> list[str]:
    """Ten executions over three days (ids e0..e9, oldest first); e3 and e7 end in an incident."""
    ids = []
    for n in range(10):
        at = START + n * DAY_MS // 4
        journal.create(Execution(execution_id=f"e{n}", opportunity=OPPORTUNITY, created_at=at, updated_at=at))
        if n in (3, 7):
            journal.set_status(f"e{n}", ExecutionStatus.INCIDENT, at + 1, reason="test")
        ids.append(f"e{n}")
    return ids


def test_newest_first_across_days(journal: Any) -> None:
    ids = _fill(journal)
    listed = [e.execution_id for _, e in journal.executions_between(START, START + 3 * DAY_MS)]
    assert listed == list(reversed(ids))


def test_a_cursor_resumes_after_the_last_one_shown(journal: Any) -> None:
    ids = _fill(journal)
    first = list(islice(journal.executions_between(START, START + 3 * DAY_MS), 4))
    cursor = first[-1][0]
    rest = [e.execution_id for _, e in journal.executions_between(START, START + 3 * DAY_MS, before=cursor)]
    assert [e.execution_id for _, e in first] + rest == list(reversed(ids))


def test_the_time_range_and_status_filter(journal: Any) -> None:
    _fill(journal)
    window = [e.execution_id for _, e in journal.executions_between(START + DAY_MS // 4, START + DAY_MS)]
    assert window == ["e4", "e3", "e2", "e1"]
    incidents = [
        e.execution_id
        for _, e in journal.executions_between(START, START + 3 * DAY_MS, status=ExecutionStatus.INCIDENT)
    ]
    assert incidents == ["e7", "e3"]
