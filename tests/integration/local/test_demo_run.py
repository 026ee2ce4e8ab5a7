"""The demo's run on the local platform: its settings are the loaded ones, its outcome labels say what the journal
shows happened, and its report adds up. The full run through the console script is tests/e2e/test_demo.py."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from arbiter.gateway.paper import PlaceFault
from arbiter.local.demo import FAULT_PROFILES, DemoRun
from arbiter.local.report.build import fills_minus_fees, usd
from arbiter.local.report.outcome import outcome_of
from arbiter.local.scenarios import PRICES_USD, Scenario, ScenarioRunner
from arbiter.models.events import read_event
from arbiter.settings import load_settings


@pytest.fixture(scope="module")
def runner() -> Iterator[ScenarioRunner]:
    with ScenarioRunner() as started:
        yield started


def label(runner: ScenarioRunner, scenario: Scenario) -> tuple[str, str, dict[str, Decimal]]:
    result = runner.run(scenario)
    journal, execution_id = runner.platform.journal, result.outcome.execution_id
    details = [d for e in journal.events(execution_id) if (d := read_event(e.kind, e.detail)) is not None]
    intents = list(journal.intents(execution_id))
    orders = {i.client_order_id: journal.order(i.client_order_id) for i in intents}
    pnl = journal.pnl(execution_id)
    assert {a: v for a, v in pnl.items() if v} == fills_minus_fees([o for o in orders.values() if o is not None])

    def value(amounts: dict[str, Decimal]) -> Decimal | None:
        total, missing = usd(amounts, PRICES_USD)
        return None if missing else total

    outcome = outcome_of(journal.get(execution_id), details, intents, orders, pnl, value)
    return outcome.label, outcome.reason, pnl


def test_a_completion_at_the_expected_profit_is_not_called_slippage(runner: ScenarioRunner) -> None:
    outcome, reason, _ = label(runner, Scenario())
    assert outcome == "completed"
    assert "every leg filled" in reason


def test_a_rejected_leg_is_labelled_by_what_compensation_traded(runner: ScenarioRunner) -> None:
    outcome, reason, pnl = label(runner, Scenario(leg_faults={1: PlaceFault.REJECT}))
    # alpha's buy filled, beta's sell was rejected: compensation either sells the SOL back (an unwind) or sends the
    # sell again (a completion); the label follows the order that filled, whichever the books chose.
    assert outcome in ("unwound", "completed by compensation")
    assert reason.startswith("legs not filled")
    assert pnl.get("SOL", Decimal(0)) == 0


def test_nothing_filled_is_said_so(runner: ScenarioRunner) -> None:
    outcome, _, _ = label(runner, Scenario(leg_faults={0: PlaceFault.REJECT, 1: PlaceFault.REJECT}))
    assert outcome == "canceled, nothing to trade back"


def test_every_arbiter_setting_applies_to_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARBITER_EXECUTION__MAX_COMPENSATION_ROUNDS", "1")
    monkeypatch.setenv("ARBITER_EXECUTION__SLIPPAGE_CAP", "0.002")
    monkeypatch.setenv("ARBITER_RECONCILE__DUST_USD", "3")
    run = DemoRun(load_settings(), profile=FAULT_PROFILES["none"])
    assert run.platform.settings.max_compensation_rounds == 1
    assert run.platform.settings.slippage_cap == Decimal("0.002")
    assert run.platform.reconcile.dust_usd == Decimal(3)
    # only the waits moto would sit through for real are local
    assert run.platform.settings.poll_seconds == 0


def test_the_default_fault_profile_has_the_post_trade_faults() -> None:
    run = DemoRun(load_settings())
    faults = run.platform.faults
    assert any(f.fee_currency for f in faults.values())
    assert any(f.read_lag_ms and f.fill_at_cancel for f in faults.values())
    assert any(f.fee_in_received for f in faults.values())
    assert all(f.fault_rates.get(PlaceFault.TIMEOUT_AFTER_ACCEPT) for f in faults.values())
