"""The operators' console (console/dist, built by `make`), served by the local server over a seeded demo.

console.first_view_kb_gz: what the first view loads, gzipped (level 9): index.html and every script and style
sheet it names (vite emits one of each; nothing loads later), in kB of 1,000 bytes. Target <= 80 (half of
FreqUI's entry bundle, 168 kB gzipped).
console.update_latency_ms: from a change through the API (pause, then resume, each with its own reason) to the
overview in headless Chromium showing it, median over ARBITER_BENCH_CONSOLE_CHANGES changes (default 20); the
page polls every second with If-None-Match, so about half a poll plus a read and a render is expected. Each
change waits a random 0-1.5 s first (seeded): a change made right after the page saw the last one would always
wait a whole period, which is not how changes arrive. Target <= 2,000.
console.update_latency_max_ms: the slowest of those changes."""

from __future__ import annotations

import gzip
import os
import random
import re
import statistics
import time
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

from arbiter.local.api_demo import CONSOLE_DIST, built_console, demo_api
from arbiter.settings import load_settings
from benchmarks.figures import Figure
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS, DESKTOP

WARMUP = 2


def first_view_bytes(dist: Path) -> int:
    """Gzipped bytes of index.html and the scripts and style sheets it references."""
    index = dist / "index.html"
    html = index.read_text(encoding="utf-8")
    referenced = re.findall(r'(?:src|href)="/?(assets/[^"]+\.(?:js|css))"', html)
    if not referenced:
        raise RuntimeError(f"{index} names no script or style sheet")
    files = [index, *(dist / name for name in referenced)]
    return sum(len(gzip.compress(f.read_bytes(), compresslevel=9)) for f in files)


def run() -> list[Figure]:
    dist = built_console()
    if dist is None:
        raise RuntimeError(f"{CONSOLE_DIST} is not built: `make console`")
    changes = int(os.environ.get("ARBITER_BENCH_CONSOLE_CHANGES", "20"))
    samples: list[float] = []
    with demo_api(load_settings(), ticks=6, console=dist) as demo, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS))
        try:
            page = browser.new_context(viewport=DESKTOP).new_page()
            page.goto(f"{demo.server.url}/#/")
            page.wait_for_selector("#pause-state")
            session = requests.Session()
            pauses = random.Random(15)
            for n in range(WARMUP + changes):
                page.wait_for_timeout(pauses.uniform(0, 1500))
                paused = n % 2 == 0
                reason = f"bench change {n}"
                started = time.perf_counter()
                answer = session.request(
                    "POST" if paused else "DELETE", f"{demo.server.url}/v1/pause", json={"reason": reason}, timeout=10
                )
                if answer.status_code != 200:
                    raise RuntimeError(f"pause answered {answer.status_code}: {answer.text[:200]}")
                expected = reason if paused else "running"
                page.wait_for_function(
                    "text => document.querySelector('#pause-state')?.textContent.includes(text)",
                    arg=expected,
                    polling="raf",
                    timeout=10_000,
                )
                if n >= WARMUP:
                    samples.append((time.perf_counter() - started) * 1000)
        finally:
            browser.close()
    return [
        Figure("console.first_view_kb_gz", first_view_bytes(dist) / 1000, "kB"),
        Figure("console.update_latency_ms", statistics.median(samples), "ms"),
        Figure("console.update_latency_max_ms", max(samples), "ms"),
    ]
