"""A real browser for what a person looks at: Debian's chromium driven by Playwright, headless, offline.

Playwright's own browser download cannot work on a closed network, so the launch names the system chromium
(installed by the Makefile) and the flags that keep it from reaching for Google's hosts at every start.
Screenshots go to ``test-artifacts/screenshots/`` (git-ignored) so a person can look at them after a run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=390, height=844)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make install` (or `make browser`) installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS))
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class OpenedPage:
    """A page in its own context, with the script errors it raised (a check fails on any of them)."""

    page: Page
    errors: list[str] = field(default_factory=list)


def open_page(browser: Browser, viewport: ViewportSize) -> OpenedPage:
    context = browser.new_context(viewport=viewport)
    opened = OpenedPage(context.new_page())
    opened.page.on("pageerror", lambda error: opened.errors.append(str(error)))
    opened.page.set_default_timeout(10_000)
    return opened


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artefact and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
