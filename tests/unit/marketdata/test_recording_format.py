"""The recording format: what is written reads back the same, and a line that breaks the format is refused with
its line number and field."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from arbiter.marketdata import BookUpdate
from arbiter.marketdata.recording import RecordingError, RecordingHeader, RecordingWriter, read_recording
from arbiter.models import PrecisionMode

MARKET = {"symbol": "BTC/USDT", "base": "BTC", "quote": "USDT"}
HEADER = RecordingHeader({"binance": {"BTC/USDT": MARKET}}, {"binance": PrecisionMode.TICK_SIZE}, 1_000, 5)


def update(arrived: int, bid: float = 100.0) -> BookUpdate:
    return BookUpdate("binance", "BTC/USDT", [[bid, 1.5]], [[bid + 1, 2.0]], arrived - 3, arrived)


def test_books_read_back_as_written_first_as_a_snapshot_then_as_updates(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl.gz"
    writer = RecordingWriter.open(path, HEADER)
    writer.write([update(1_000), update(1_500, 101.0)])
    writer.close()
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    assert [json.loads(line).get("type") for line in lines[1:]] == ["snapshot", "update"]
    header, books = read_recording(path)
    assert header == HEADER
    read = list(books)
    assert [(u.arrived_ms, u.venue_ms, list(map(list, u.bids))) for u in read] == [
        (1_000, 997, [[100.0, 1.5]]),
        (1_500, 1_497, [[101.0, 1.5]]),
    ]


def write_lines(path: Path, *lines: object) -> None:
    with gzip.open(path, "wt") as stream:
        stream.write(json.dumps(HEADER.to_json()) + "\n")
        for line in lines:
            stream.write((line if isinstance(line, str) else json.dumps(line)) + "\n")


GOOD = {"type": "update", "venue": "binance", "symbol": "BTC/USDT", "venue_ms": None, "arrived_ms": 5,
        "bids": [[1, 1]], "asks": [[2, 1]]}  # fmt: skip


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({**GOOD, "type": "trade"}, "line 2: type: 'trade'"),
        ({**GOOD, "symbol": "ETH/USDT"}, "line 2: binance ETH/USDT: not among the header's markets"),
        ({**GOOD, "bids": [[1]]}, "line 2: bids: each level is [price, amount]"),
        ({**GOOD, "asks": [[-1, 1]]}, "line 2: asks: price and amount are non-negative numbers"),
        ({k: v for k, v in GOOD.items() if k != "arrived_ms"}, "line 2: arrived_ms: missing"),
        ("{not json", "line 2: not JSON"),
    ],
)
def test_a_broken_line_is_refused_naming_its_line_and_field(tmp_path: Path, line: object, message: str) -> None:
    path = tmp_path / "bad.jsonl.gz"
    write_lines(path, line)
    _, books = read_recording(path)
    with pytest.raises(RecordingError, match=message.replace("[", r"\[").replace("]", r"\]")):
        list(books)


def test_arrivals_never_go_back(tmp_path: Path) -> None:
    path = tmp_path / "back.jsonl.gz"
    write_lines(path, GOOD, {**GOOD, "arrived_ms": 4})
    _, books = read_recording(path)
    with pytest.raises(RecordingError, match="line 3: arrived_ms: 4 goes back in time"):
        list(books)


def test_a_file_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl"
    path.write_text("{}\n")
    with pytest.raises(RecordingError, match="not a gzip-compressed recording"):
        read_recording(path)
    other = tmp_path / "other.jsonl.gz"
    with gzip.open(other, "wt") as stream:
        stream.write(json.dumps({"format": "something-else"}) + "\n")
    with pytest.raises(RecordingError, match="line 1: format"):
        read_recording(other)
