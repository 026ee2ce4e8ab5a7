"""The demo report states every amount with its currency and never hides what an incident left open."""

from __future__ import annotations

from decimal import Decimal

from arbiter.cli.report import render_execution, render_summary
from arbiter.local.scenarios import cross_venue, cross_venue_btc
from arbiter.local.session import ExecutionReport, SessionSummary
from arbiter.monitoring.evaluator import AlarmHistory, Transition

NOON = 1_767_268_800_000


def test_an_incident_shows_what_it_left_open_and_the_summary_totals_it() -> None:
    left = {"SOL": Decimal("0.5"), "USDT": Decimal("-75.25")}
    incident = ExecutionReport(opportunity=cross_venue(), outcome="incident", realised={}, left_open=left)
    settled = ExecutionReport(opportunity=cross_venue_btc(), outcome="completed", realised={"BTC": Decimal("0.00002")})
    line = render_execution(incident)
    assert "left open (kill switch engaged): +0.5 SOL, -75.25 USDT" in line
    summary = SessionSummary(
        ticks=1, detected=[cross_venue(), cross_venue_btc()], executions=[incident, settled], most_dislocations=1
    )
    text = render_summary(summary, venues=2, markets=3)
    # each expected profit with its own currency
    assert "1.0000 USDT" in text
    assert "0.0000 BTC" in text
    assert "realised P&L: 0.0000 BTC, 0.0000 USDT" in text
    assert "left open by incidents (to resolve by hand): +0.5 SOL, -75.25 USDT" in text


def test_a_report_without_incidents_mentions_nothing_left_open() -> None:
    settled = ExecutionReport(opportunity=cross_venue(), outcome="completed", realised={"USDT": Decimal(1)})
    text = render_summary(SessionSummary(ticks=1, executions=[settled]), venues=2, markets=3)
    assert "left open" not in text
    assert "realised P&L: 1.0000 USDT" in text


def test_the_report_lists_the_alarms_that_fired_when_and_why() -> None:
    incident = AlarmHistory("Incident", "Money may be at risk.")
    incident.transitions.append(Transition(NOON + 60_000, "ALARM", "Sum 1 >= 1", NOON))
    incident.transitions.append(Transition(NOON + 120_000, "OK", "Sum 0 >= 1", NOON + 60_000))
    summary = SessionSummary(
        ticks=1, sweeps=2, alarms={"Incident": incident, "KillSwitchEngaged": AlarmHistory("KillSwitchEngaged", "")}
    )
    text = render_summary(summary, venues=2, markets=3)
    assert "FIRED Incident in the period 12:00:00-12:01:00: Sum 1 >= 1. Money may be at risk." in text
    assert "quiet: KillSwitchEngaged" in text


def test_a_quiet_run_says_no_alarm_fired() -> None:
    summary = SessionSummary(ticks=1, sweeps=1, alarms={"Incident": AlarmHistory("Incident", "")})
    assert "none would have fired" in render_summary(summary, venues=2, markets=3)
