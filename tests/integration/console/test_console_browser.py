"""The operators' console in headless Chromium (Playwright) against the local server over a seeded demo: what an
operator does by hand, checked on the page and through the API, with screenshots at desktop and phone widths
(test-artifacts/screenshots/console-*.png)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from arbiter.bootstrap.api import DeployedHeartbeats
from arbiter.models.heartbeat import FeedHealth, ShardHeartbeat, shard_name
from arbiter.storage.heartbeats import DynamoHeartbeatStore
from tests.integration.console.conftest import INCIDENT_REASON, Console
from tests.support.browser import DESKTOP, PHONE, OpenedPage, browser, open_page, screenshot

__all__ = ["browser"]  # the shared fixture, used by name
# As the pages' own timeout (tests/support/browser.py): `make test` runs beside other tests on two cores.
expect.set_options(timeout=10_000)


@pytest.fixture
def desktop(browser: Browser) -> Iterator[OpenedPage]:
    opened = open_page(browser, DESKTOP)
    yield opened
    opened.page.context.close()
    assert opened.errors == [], opened.errors


@pytest.fixture
def phone(browser: Browser) -> Iterator[OpenedPage]:
    opened = open_page(browser, PHONE)
    yield opened
    opened.page.context.close()
    assert opened.errors == [], opened.errors


def visit(page: Page, console: Console, view: str) -> None:
    page.goto(f"{console.url}/#{view}")
    expect(page.locator(".top .badge").first).to_be_visible()


def test_the_kill_switch_engages_with_a_reason_and_the_health_view_shows_it(
    console: Console, desktop: OpenedPage, phone: OpenedPage
) -> None:
    page = desktop.page
    visit(page, console, "/")
    page.get_by_role("button", name="Engage kill switch…").click()
    dialog = page.get_by_role("dialog", name="Engage the kill switch")
    dialog.get_by_role("button", name="Engage").click()
    expect(dialog.get_by_role("alert")).to_contain_text("a reason is required")
    dialog.locator("textarea").fill("venue latency spike, checking by hand")
    dialog.get_by_role("button", name="Engage").click()
    expect(dialog).to_be_hidden()
    state = page.locator("#kill-switch-state")
    expect(state).to_contain_text("engaged")
    expect(state).to_contain_text("venue latency spike, checking by hand")
    expect(page.locator(".top .badge").first).to_have_text("halted")
    status, health = console.call("GET", "/v1/health")
    assert status == 200
    assert health["kill_switch"]["engaged"] is True
    assert health["kill_switch"]["reason"].startswith("venue latency spike, checking by hand")
    assert health["trading"] == "halted"
    screenshot(page, "console-overview-halted-desktop")
    visit(phone.page, console, "/")
    expect(phone.page.locator("#kill-switch-state")).to_contain_text("engaged")
    expect(phone.page.locator("#pnl-asset")).to_be_visible()
    expect(phone.page.locator("#opportunities")).to_be_visible()
    screenshot(phone.page, "console-overview-halted-phone")

    page.get_by_role("button", name="Release kill switch…").click()
    page.get_by_role("dialog").locator("textarea").fill("latency back to normal")
    page.get_by_role("dialog").get_by_role("button", name="Release").click()
    expect(state).to_contain_text("released")
    assert console.call("GET", "/v1/kill-switch")[1]["engaged"] is False


def test_a_change_made_elsewhere_shows_without_a_reload(console: Console, desktop: OpenedPage) -> None:
    page = desktop.page
    visit(page, console, "/")
    expect(page.locator("#pause-state")).to_contain_text("running")
    assert console.call("POST", "/v1/pause", {"reason": "maintenance window"})[0] == 200
    try:
        expect(page.locator("#pause-state")).to_contain_text("maintenance window")
        expect(page.locator(".top .badge").first).to_have_text("paused")
    finally:
        assert console.call("DELETE", "/v1/pause", {"reason": "maintenance over"})[0] == 200
    expect(page.locator("#pause-state")).to_contain_text("running")


def test_the_overview_asks_the_same_urls_while_the_clock_moves(console: Console, desktop: OpenedPage) -> None:
    """So each poll can be answered 304: a range ending at the client's "now" would be a new URL every second."""
    page = desktop.page
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "/v1/" in request.url else None)
    visit(page, console, "/")
    expect(page.locator("#pnl-asset")).to_be_visible()
    clock = console.demo.session.platform.clock
    for _ in range(4):
        clock.advance(1_000)
        page.wait_for_timeout(600)
    paths = {url.split("?")[0] for url in asked}
    assert len(set(asked)) == len(paths) + 2  # three P&L groupings of one path, one URL each
    assert len([url for url in asked if url.endswith("/v1/health")]) >= 3


def test_an_invalid_limit_shows_the_field_s_error_and_the_old_value_stays(
    console: Console, desktop: OpenedPage
) -> None:
    page = desktop.page
    before = console.call("GET", "/v1/config/risk")[1]
    old = before["risk_limits"]["max_notional_per_execution"]
    visit(page, console, "/config")
    field = page.locator("#risk-max_notional_per_execution")
    expect(field).to_have_value(old)
    field.fill("-5")
    page.get_by_role("button", name="Save limits").click()
    error = page.locator("#risk-max_notional_per_execution-error")
    expect(error).to_contain_text("greater than 0")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator('.in-force[data-field="max_notional_per_execution"]')).to_have_text(f"in force: {old}")
    # Only the field at fault is marked; the others carry no error.
    expect(page.locator(".field.invalid")).to_have_count(1)
    after = console.call("GET", "/v1/config/risk")[1]
    assert after == before
    screenshot(page, "console-limits-invalid-desktop")


def test_a_version_conflict_is_explained_and_nothing_is_overwritten(
    console: Console, desktop: OpenedPage, phone: OpenedPage
) -> None:
    page = desktop.page
    visit(page, console, "/config")
    page.locator("#risk-daily_loss_limit").fill("400")
    seen = console.call("GET", "/v1/config/risk")[1]
    theirs = {**seen["risk_limits"], "min_profit_bps": "3"}
    status, saved = console.call("PUT", "/v1/config/risk", {"version": seen["version"], "risk_limits": theirs})
    assert status == 200
    page.get_by_role("button", name="Save limits").click()
    conflict = page.locator("#conflict")
    expect(conflict).to_contain_text(f"based on version {seen['version']}")
    expect(conflict).to_contain_text(f"now at version {saved['version']}")
    expect(conflict).to_contain_text("nothing was written")
    expect(conflict.locator(".changes")).to_have_text(f"min_profit_bps: {seen['risk_limits']['min_profit_bps']} → 3")
    current = console.call("GET", "/v1/config/risk")[1]
    assert current["version"] == saved["version"]
    assert current["risk_limits"]["daily_loss_limit"] == seen["risk_limits"]["daily_loss_limit"]
    assert current["risk_limits"]["min_profit_bps"] == "3"
    expect(page.locator("#risk-daily_loss_limit")).to_have_value("400")  # the operator's edit is kept
    screenshot(page, "console-limits-conflict-desktop")

    page.get_by_role("button", name=re.compile("Keep mine, save over version")).click()
    page.get_by_role("button", name="Save limits").click()
    expect(page.get_by_role("status")).to_contain_text(f"saved as version {saved['version'] + 1}")
    assert console.call("GET", "/v1/config/risk")[1]["risk_limits"]["daily_loss_limit"] == "400"
    visit(phone.page, console, "/config")
    expect(phone.page.locator("#risk-daily_loss_limit")).to_have_value("400")
    screenshot(phone.page, "console-limits-phone")


def test_a_strategy_parameter_is_set_and_a_bad_one_is_named(console: Console, desktop: OpenedPage) -> None:
    page = desktop.page
    visit(page, console, "/config")
    form = page.locator("#strategy-form")
    form.get_by_role("button", name="Add parameter").click()
    form.get_by_label("parameter name").last.fill("cycles")
    form.get_by_label("value of cycles").fill("off")
    form.get_by_role("button", name="Save parameters").click()
    expect(form.get_by_role("status")).to_contain_text("saved as version")
    expect(form.locator(".in-force").first).to_have_text("in force: off")
    assert console.call("GET", "/v1/config/strategies")[1]["parameters"]["cycles"] == "off"
    form.get_by_label("value of cycles").fill("x" * 300)
    form.get_by_role("button", name="Save parameters").click()
    expect(form.locator(".field.invalid .field-error")).to_contain_text("at most 256 characters")
    expect(form.locator(".in-force").first).to_have_text("in force: off")
    assert console.call("GET", "/v1/config/strategies")[1]["parameters"]["cycles"] == "off"


def test_an_execution_s_audit_trail_renders_with_its_chain_verdict(
    console: Console, desktop: OpenedPage, phone: OpenedPage
) -> None:
    listing = (
        console.call("GET", "/v1/executions?status=compensated")[1]["items"]
        or (console.call("GET", "/v1/executions")[1]["items"])
    )
    execution_id = listing[0]["execution_id"]
    detail = console.call("GET", f"/v1/executions/{execution_id}")[1]
    assert detail["chain"]["intact"] is True
    page = desktop.page
    visit(page, console, "/executions")
    page.locator(f'a[href="#/executions/{execution_id}"]').click()
    verdict = page.locator("#chain-verdict")
    expect(verdict).to_have_text(f"hash chain intact ({detail['chain']['events']} events)")
    expect(page.locator("#audit li")).to_have_count(len(detail["audit"]))
    expect(page.locator("#audit li").first).to_contain_text(detail["audit"][0]["kind"])
    expect(page.locator("#orders tbody tr")).to_have_count(len(detail["orders"]))
    screenshot(page, "console-execution-desktop")
    visit(phone.page, console, f"/executions/{execution_id}")
    expect(phone.page.locator("#chain-verdict")).to_contain_text("intact")
    screenshot(phone.page, "console-execution-phone")


def test_an_incident_is_resolved(console: Console, desktop: OpenedPage) -> None:
    page = desktop.page
    visit(page, console, "/incidents")
    incident = page.locator(f'li[data-execution="{console.incident_id}"]')
    expect(incident).to_contain_text(INCIDENT_REASON)
    expect(incident).to_contain_text("open")
    screenshot(page, "console-incidents-open-desktop")
    incident.get_by_role("button", name="Resolve…").click()
    dialog = page.get_by_role("dialog", name="Resolve the incident")
    dialog.locator("textarea").fill("sold the 0.4 SOL by hand on binance; balances reconciled")
    dialog.get_by_role("button", name="Resolve").click()
    expect(incident).to_be_hidden()  # the open list no longer holds it
    page.get_by_label("which incidents").select_option("true")
    expect(page.locator(f'li[data-execution="{console.incident_id}"] .resolution')).to_contain_text(
        "sold the 0.4 SOL by hand"
    )
    resolved = console.call("GET", "/v1/incidents?resolved=true")[1]["items"]
    assert [i["execution_id"] for i in resolved] == [console.incident_id]
    screenshot(page, "console-incidents-resolved-desktop")


def test_a_lock_is_added_with_a_reason_and_removed(console: Console, desktop: OpenedPage) -> None:
    page = desktop.page
    visit(page, console, "/locks")
    page.locator("#lock-target").fill("kraken")
    page.get_by_role("button", name="Add lock").click()
    expect(page.locator("#lock-form .field-error")).to_contain_text("at least 1 character")  # no reason given
    assert console.call("GET", "/v1/locks")[1]["locks"] == []
    page.locator("#lock-reason").fill("kraken withdrawals suspended")
    page.get_by_role("button", name="Add lock").click()
    row = page.locator("#locks tbody tr", has_text="kraken withdrawals suspended")
    expect(row).to_contain_text("venue")
    (lock,) = console.call("GET", "/v1/locks")[1]["locks"]
    assert (lock["scope"], lock["target"], lock["reason"]) == ("venue", "kraken", "kraken withdrawals suspended")
    expect(page.locator(".top .badge").first).to_have_text("active")  # a lock blocks routes, not trading
    row.get_by_role("button", name="Remove…").click()
    page.get_by_role("dialog").locator("textarea").fill("withdrawals back")
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    expect(page.locator("#locks")).to_have_count(0)
    assert console.call("GET", "/v1/locks")[1]["locks"] == []


def test_a_stale_data_banner_while_the_api_is_unreachable(console: Console, desktop: OpenedPage) -> None:
    page = desktop.page
    visit(page, console, "/")
    expect(page.locator("#stale-banner")).to_have_count(0)
    page.route("**/v1/**", lambda route: route.abort("connectionrefused"))
    banner = page.locator("#stale-banner")
    expect(banner).to_contain_text("the API cannot be reached")
    expect(banner).to_contain_text(re.compile(r"last read [1-9][0-9]* s ago and may no longer be true"))
    expect(page.locator("#venues")).to_be_visible()  # the last data stays, marked stale
    expect(page.locator("body")).to_have_class("data-stale")
    screenshot(page, "console-stale-desktop")
    page.unroute("**/v1/**")
    expect(banner).to_have_count(0)
    expect(page.locator("body")).not_to_have_class("data-stale")


@pytest.mark.parametrize("view", ["/", "/executions", "/incidents", "/config", "/locks"])
def test_every_view_fits_a_phone(console: Console, phone: OpenedPage, view: str) -> None:
    page = phone.page
    visit(page, console, view)
    expect(page.get_by_text("loading…")).to_have_count(0)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{view}: {width} px wide at {PHONE['width']} px"
    screenshot(page, f"console-{view.strip('/') or 'overview'}-phone")


def test_each_shards_heartbeat_and_feeds_show_on_the_overview(console: Console, desktop: OpenedPage) -> None:
    platform = console.demo.session.platform
    store = DynamoHeartbeatStore(platform.aws.dynamodb, platform.aws.tables["venue_state"])
    now = platform.clock.now_ms()
    feeds = (
        FeedHealth(venue="binance", connected=True, last_message_age_ms=40, books=12, reconnects=0, resyncs=1,
                   rest_snapshots=0, dropped=0),
        FeedHealth(venue="kraken", connected=False, last_message_age_ms=9_500, books=12, reconnects=3, resyncs=0,
                   rest_snapshots=2, dropped=0, failed_symbols=("XYZ/USDT",)),
    )  # fmt: skip
    store.beat(ShardHeartbeat(shard=shard_name(0, 2), owner="scanner-a", at_ms=now - 2_000, feeds=feeds))
    queries = console.demo.api.queries
    before, queries.heartbeats = queries.heartbeats, DeployedHeartbeats(store, shards=2)
    try:
        page = desktop.page
        visit(page, console, "/")
        shards = page.locator("#shards")
        expect(shards).to_contain_text("shard-0-of-2")
        expect(shards).to_contain_text("binance connected")
        expect(shards).to_contain_text("kraken down")
        expect(shards).to_contain_text("3 reconnects")
        expect(shards).to_contain_text("refused: XYZ/USDT")
        expect(shards).not_to_contain_text("shard-1-of-2")  # it never beat: not listed as alive
        screenshot(page, "console-shards-desktop")
    finally:
        queries.heartbeats = before
