"""The local server serves the built console beside /v1: its files with the security headers CloudFront sets in
AWS, hashed assets cached for good and index.html revalidated, nothing outside the build, and /v1 untouched."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from arbiter.local.api_server import CONSOLE_HEADERS, LocalApiServer, console_file
from tests.integration.api.test_cli_api import _serve


def _api(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"path": event["path"]}),
    }


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>console</title>", encoding="utf-8")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)", encoding="utf-8")
    (tmp_path.parent / "secret.txt").write_text("not served", encoding="utf-8")
    return tmp_path


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, dict(answer.headers.items()), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def test_the_console_and_the_api_share_the_origin(dist: Path) -> None:
    with LocalApiServer(_api, console=dist) as server:
        status, headers, body = _get(f"{server.url}/")
        assert status == 200
        assert body.startswith(b"<!doctype html>")
        assert headers["Content-Type"].startswith("text/html")
        assert headers["Cache-Control"] == "no-cache"
        for name, value in CONSOLE_HEADERS.items():
            assert headers[name] == value
        status, headers, _ = _get(f"{server.url}/assets/index-abc123.js")
        assert status == 200
        assert "javascript" in headers["Content-Type"]
        assert "immutable" in headers["Cache-Control"]
        status, _, body = _get(f"{server.url}/v1/health")
        assert status == 200
        assert body == b'{"path": "/v1/health"}'


def test_nothing_outside_the_build_is_served(dist: Path) -> None:
    assert console_file(dist, "/../secret.txt") is None
    assert console_file(dist, "/assets/../../secret.txt") is None
    assert console_file(dist, "/missing.js") is None
    assert console_file(dist, "/") == (dist / "index.html").resolve()
    with LocalApiServer(_api, console=dist) as server:
        assert _get(f"{server.url}/..%2fsecret.txt")[0] == 404
        assert _get(f"{server.url}/missing.js")[0] == 404


def test_without_a_console_the_api_answers_everything(dist: Path) -> None:
    with LocalApiServer(_api) as server:
        status, _, body = _get(f"{server.url}/")
        assert status == 200
        assert body == b'{"path": "/"}'


def test_arbiter_api_serves_the_built_console() -> None:
    process, url = _serve("--ticks", "1")
    try:
        status, headers, body = _get(f"{url}/")
        assert status == 200
        assert b'<div id="app">' in body
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    finally:
        process.terminate()
        process.wait(timeout=10)
