"""``report.html``: one self-contained page (inline CSS and SVG, no script, nothing fetched), readable on a phone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from arbiter.local.report.build import clock
from arbiter.local.report.charts import bar_chart, histogram, line_chart

STYLE = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2937;background:#f8fafc}
header{background:#0f172a;color:#f8fafc;padding:20px 16px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#cbd5e1;overflow-wrap:anywhere}
main{max-width:1040px;margin:0 auto;padding:8px 16px 40px}
section{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 16px;margin:16px 0}
h2{font-size:18px;margin:4px 0 10px}
h3{font-size:15px;margin:12px 0 6px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px}
.card{border:1px solid #e5e7eb;border-radius:6px;padding:8px 10px}
.card b{display:block;font-size:19px;white-space:nowrap}
.card span{color:#6b7280;font-size:13px}
.good{color:#15803d}.bad{color:#b91c1c}
.chart{width:100%;max-width:620px;height:auto;display:block}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));gap:12px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #f1f5f9;vertical-align:top}
th{background:#f8fafc;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-size:12px;overflow-wrap:anywhere}
ol.steps{padding-left:22px;margin:4px 0}
ol.steps li{margin:2px 0;overflow-wrap:anywhere}
.incident{border-left:4px solid #b91c1c}
.empty{color:#6b7280}
ul{padding-left:20px}
li{overflow-wrap:anywhere}
.bars{display:flex;flex-direction:column;gap:6px;margin:6px 0}
.bar{display:grid;grid-template-columns:minmax(90px,34%) 1fr 3.5em;gap:8px;align-items:center;font-size:14px}
.bar .label{text-align:right;overflow-wrap:anywhere}
.bar .track{background:#f1f5f9;border-radius:3px;height:16px;overflow:hidden}
.bar .fill{display:block;height:100%;background:#2563eb}
.bar .value{font-variant-numeric:tabular-nums}
@media (max-width:640px){
table.stacked thead{display:none}
table.stacked tr{display:block;border-bottom:1px solid #e5e7eb;padding:6px 0}
table.stacked td{display:flex;gap:8px;border:0;padding:2px 0;text-align:left}
table.stacked td::before{content:attr(data-label);flex:0 0 6.5em;font-weight:600;color:#6b7280}
}
footer{color:#6b7280;font-size:12px;text-align:center;padding:12px}
"""


def _e(value: object) -> str:
    return escape(str(value))


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (), stacked: bool = False
) -> str:
    """``stacked``: on a narrow screen each row becomes a card, every cell labelled with its column."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)

    def cell(index: int, content: str) -> str:
        kind = ' class="num"' if index in numeric else ""
        return f'<td data-label="{_e(headers[index])}"{kind}>{content}</td>'

    body = "".join("<tr>" + "".join(cell(i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    kind = ' class="stacked"' if stacked else ""
    return f'<div class="scroll"><table{kind}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _amounts(amounts: Mapping[str, str]) -> str:
    return ", ".join(f"{amount} {asset}" for asset, amount in amounts.items()) or "0"


def _cards(report: Mapping[str, Any]) -> str:
    summary, run = report["summary"], report["run"]
    pnl = float(summary["pnl_usd"])
    cards = [
        (f"{pnl:+.2f} USD", "realised P&L", "good" if pnl >= 0 else "bad"),
        (str(summary["opportunities_started"]), "executions started", ""),
        (str(summary["incidents"]), "incidents", "bad" if summary["incidents"] else "good"),
        (str(len(summary["alarms_fired"])), "alarms fired", "bad" if summary["alarms_fired"] else "good"),
        (str(run["books_followed"]), f"books on {len(run['venues'])} venues", ""),
        (f"{run['simulated_s']:.0f} s", f"simulated ({run['wall_s']:.1f} s wall)", ""),
    ]
    body = "".join(f'<div class="card"><b class="{cls}">{_e(v)}</b><span>{_e(k)}</span></div>' for v, k, cls in cards)
    return f'<div class="cards">{body}</div>'


def _pnl_section(report: Mapping[str, Any]) -> str:
    start = report["run"]["started_at_ms"]
    points = [((p["at_ms"] - start) / 1000, float(p["cumulative_usd"])) for p in report["pnl_timeline"]]
    summary = report["summary"]
    per_asset = _amounts(summary["pnl"])
    unvalued = summary["pnl_unvalued"]
    note = f" Not valued in USD: {_e(', '.join(unvalued))}." if unvalued else ""
    return (
        '<section id="pnl"><h2>P&amp;L over time</h2>'
        + line_chart(points, "cumulative realised P&L", "USD", (0.0, report["run"]["simulated_s"]))
        + f"<p>By asset: {_e(per_asset)} (USD at the simulation's reference prices).{note}</p></section>"
    )


def _outcomes_section(report: Mapping[str, Any]) -> str:
    outcomes = report["summary"]["outcomes"]
    bars = sorted(((k, float(v)) for k, v in outcomes.items()), key=lambda kv: -kv[1])
    return '<section id="outcomes"><h2>Outcomes</h2>' + bar_chart(bars, "executions by outcome", "count") + "</section>"


def _latency_section(report: Mapping[str, Any]) -> str:
    latency = report["latency_ms"]
    parts = []
    names = {
        "scan": "scan (one tick, scanner)",
        "leg_skew": "leg skew (first to last leg sent)",
        "end_to_end": "end to end (start to end of the saga)",
        "tick_to_start": "tick to start (book to StartExecution)",
    }
    for key, title in names.items():
        h = latency[key]
        stats = f"n={h['count']}, p50 {h['p50']} ms, p99 {h['p99']} ms, max {h['max']} ms" if h["count"] else "no data"
        parts.append(
            f"<div><h3>{_e(title)}</h3>{histogram(h['edges'], h['counts'], title, 'ms')}<p>{_e(stats)}</p></div>"
        )
    return (
        '<section id="latency"><h2>Latencies</h2><p>Wall time in this process (one machine, moto in place of AWS).'
        f'</p><div class="grid2">{"".join(parts)}</div></section>'
    )


def _book_age_section(report: Mapping[str, Any]) -> str:
    ages = report["book_age_ms"]
    start = report["run"]["started_at_ms"]
    rows = [[_e(v), _e(a["p50_median"]), _e(a["p99_max"])] for v, a in ages.items()]
    charts = "".join(
        f"<div><h3>{_e(venue)}</h3>"
        + line_chart(
            [((at - start) / 1000, p99) for at, _, p99 in a["series"]],
            f"{venue} book age p99",
            "ms",
            (0.0, report["run"]["simulated_s"]),
            step=False,
        )
        + "</div>"
        for venue, a in ages.items()
    )
    return (
        '<section id="book-age"><h2>Book age</h2><p>Age of the books the scanner judged (simulated time), per '
        "heartbeat.</p>"
        + _table(["venue", "median p50 (ms)", "worst p99 (ms)"], rows, numeric=(1, 2))
        + f'<div class="grid2">{charts}</div></section>'
    )


def _refusals_section(report: Mapping[str, Any]) -> str:
    bars = sorted(((k, float(v)) for k, v in report["refusals"].items()), key=lambda kv: -kv[1])
    return (
        '<section id="refusals"><h2>Refusals by reason</h2><p>Starts the scanner did not make, and the risk '
        "engine's refusals (in the scanner's checks and in the saga's Prepare).</p>"
        + bar_chart(bars, "refusals by reason", "count")
        + "</section>"
    )


def _alarms_section(report: Mapping[str, Any]) -> str:
    fired = [(a, t) for a in report["alarms"] if a["fired"] for t in a["fired"]]
    rows = [
        [_e(a["alarm"]), _e(f"{clock(t['period_start_ms'])[11:]}-{clock(t['at_ms'])[11:]}"), _e(t["reason"]),
         _e(a["description"])]
        for a, t in fired
    ]  # fmt: skip
    quiet = ", ".join(a["alarm"] for a in report["alarms"] if not a["fired"])
    headers = ["alarm", "period (UTC)", "why", "what it means"]
    table = _table(headers, rows, stacked=True) if rows else "<p>No alarm fired.</p>"
    return (
        '<section id="alarms"><h2>Alarms fired</h2><p>The deployed alarms\' rules, evaluated on the metrics this '
        f"run's handlers emitted.</p>{table}<p>Quiet: {_e(quiet or 'none')}.</p></section>"
    )


RETRAINING_METRICS = (
    ("rows", "ended executions"),
    ("started", "started by the selection"),
    ("pnl_usd", "realised P&L, USD"),
    ("pnl_per_start_usd", "realised P&L per start, USD"),
    ("auc", "AUC (completed or not)"),
    ("brier", "Brier score"),
)


def _retraining_section(report: Mapping[str, Any]) -> str:
    retraining = report.get("retraining") or {}
    if not retraining:
        return ""
    verdict = f"<p>{_e(retraining['verdict'])}</p>"
    candidate, live = retraining.get("candidate") or {}, retraining.get("live") or {}
    table = ""
    if candidate:
        rows = [
            [_e(label), _e(metric_text(candidate.get(key))), _e(metric_text(live.get(key)))]
            for key, label in RETRAINING_METRICS
        ]
        table = (
            "<p>On the held-out window (the latest executions, after every one trained on), selecting by the "
            "candidate against the live model (or expected profit alone when none is live):</p>"
            + _table(["held-out window", "candidate", "live"], rows, numeric=(1, 2))
        )
    seconds = retraining.get("training_s")
    job = f"<p>Training job {_e(retraining.get('run', ''))}: {seconds:.2f} s.</p>" if seconds is not None else ""
    return f'<section id="retraining"><h2>Retraining</h2>{verdict}{table}{job}</section>'


def metric_text(value: object) -> str:
    """A retraining metric as shown: 4 decimals, or - when there is none."""
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _incidents_section(report: Mapping[str, Any]) -> str:
    incidents = report["incidents"]
    if not incidents and not report["venue_incidents"]:
        return '<section id="incidents"><h2>Incidents</h2><p>None: every execution ended flat.</p></section>'
    start = report["run"]["started_at_ms"]
    parts = []
    for incident in incidents:
        line = next(e for e in report["executions"] if e["execution_id"] == incident["execution_id"])
        steps = "".join(
            f"<li><code>+{(s['at_ms'] - start) / 1000:.1f}s</code> {_e(s['text'])}</li>"
            for s in incident["what_happened"]
        )
        left = "".join(f"<li>{_e(item)}</li>" for item in incident["left_open"])
        todo = "".join(f"<li>{_e(item)}</li>" for item in incident["what_to_do"])
        parts.append(
            f'<div class="incident section"><h3>{_e(line["route"])} <code>{_e(line["execution_id"])}</code></h3>'
            f"<p><b>Why:</b> {_e(line['reason'])}</p>"
            f'<h3>What happened</h3><ol class="steps">{steps}</ol>'
            f"<h3>Left open</h3><ul>{left}</ul><h3>What to do</h3><ol>{todo}</ol></div>"
        )
    for venue_incident in report["venue_incidents"]:
        parts.append(f'<div class="incident"><h3>Venue incident</h3><pre>{_e(venue_incident)}</pre></div>')
    return f'<section id="incidents"><h2>Incidents ({len(incidents)})</h2>{"".join(parts)}</section>'


def _executions_section(report: Mapping[str, Any]) -> str:
    start = report["run"]["started_at_ms"]
    rows = [
        [
            _e(f"+{(line['created_at_ms'] - start) / 1000:.0f}s"),
            _e(line["route"]),
            _e(line["outcome"]),
            _e(line["reason"]),
            _e(f"{line['expected_profit']['amount']} {line['expected_profit']['currency']}"),
            _e(_amounts(line["pnl"])),
            _e(line["pnl_usd"]),
            "intact" if line["audit_chain"]["intact"] else '<b class="bad">broken</b>',
        ]
        for line in report["executions"]
    ]
    return (
        f'<section id="executions"><h2>Executions ({len(rows)})</h2>'
        + _table(
            ["at", "route", "outcome", "why", "expected", "realised", "USD", "audit chain"],
            rows,
            numeric=(6,),
            stacked=True,
        )
        + "<p>Every order, fill and fee: <code>executions.jsonl</code> beside this page.</p></section>"
    )


def _run_section(report: Mapping[str, Any]) -> str:
    run = report["run"]
    post = "".join(f"<li>{_e(v)}: {_e(what)}</li>" for v, what in run["post_trade_faults"].items())
    runs = [
        [_e(r["shard"]), "yes" if r["ran"] else "no", _e(r["reason"]), _e(r["ticks"]), _e(r["updates"])]
        for r in run["scanner_runs"]
    ]
    latency = f"; {run['added_latency_ms']} ms added latency" if run["added_latency_ms"] else ""
    return (
        '<section id="run"><h2>The run</h2>'
        f"<p>{_e(run['source'])}; seed {_e(run['seed'])}; {_e(run['shards'])} shards; fault profile "
        f"<b>{_e(run['fault_profile']['name'])}</b>: {_e(run['fault_profile']['description'])}{_e(latency)}.</p>"
        + (f"<ul>{post}</ul>" if post else "")
        + f"<p>{_e(run['reconciler_sweeps'])} reconciler sweeps; {_e(run['updates_processed'])} book updates.</p>"
        + "<h3>Scanner invocations</h3>"
        + _table(["shard", "ran", "why it stopped", "ticks", "updates"], runs, numeric=(3, 4))
        + "</section>"
    )


def render_html(report: Mapping[str, Any]) -> str:
    run = report["run"]
    title = f"Arbiter run {clock(run['started_at_ms'])} UTC"
    subtitle = (
        f"{run['source']} - {len(run['venues'])} venues ({', '.join(run['venues'])}), "
        f"{run['simulated_s']:.0f} s simulated"
    )
    sections = [
        f'<section id="summary"><h2>Summary</h2>{_cards(report)}</section>',
        _pnl_section(report),
        _outcomes_section(report),
        _incidents_section(report),
        _alarms_section(report),
        _latency_section(report),
        _book_age_section(report),
        _refusals_section(report),
        _retraining_section(report),
        _executions_section(report),
        _run_section(report),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{_e(title)}</h1><p>{_e(subtitle)}</p></header><main>{''.join(sections)}</main>"
        "<footer>Generated by arbiter; this page needs no network.</footer></body></html>"
    )
