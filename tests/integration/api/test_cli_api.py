"""``arbiter api`` serves the operators' API on 127.0.0.1 over a local run, as a separate process would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

from tests.conftest import REPO_ROOT


def _serve(*options: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'layers' / 'core' / 'python'}:{REPO_ROOT}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "arbiter.cli.app", "api", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"operators' API on (http://127\.0\.0\.1:\d+)/v1", line)
        if found:
            return process, found.group(1)
    process.kill()
    raise AssertionError("the server never said where it listens")


def _post(url: str, body: dict[str, str]) -> int:
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_the_api_serves_health_and_an_operator_can_pause() -> None:
    process, url = _serve("--ticks", "1")
    try:
        with urllib.request.urlopen(f"{url}/v1/health", timeout=10) as answer:
            health = json.loads(answer.read())
        assert health["trading"] == "active"
        assert _post(f"{url}/v1/pause", {"reason": "from the test"}) == 200
        with urllib.request.urlopen(f"{url}/v1/pause", timeout=10) as answer:
            assert json.loads(answer.read())["by"] == "local"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_read_only_server_refuses_changes() -> None:
    process, url = _serve("--ticks", "0", "--read-only")
    try:
        assert _post(f"{url}/v1/kill-switch", {"reason": "from the test"}) == 403
    finally:
        process.terminate()
        process.wait(timeout=10)
