import { useState } from "preact/hooks";
import { send } from "../api.js";
import { Bars, Columns } from "../charts.jsx";
import { age, Badge, Loading, Money, ReasonDialog, Section, Status, usePoll, utc } from "../ui.jsx";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
// Ranges start on a whole day or hour and end at the API's "now" (no `to`): the same URL from one poll to the
// next, so its ETag holds while nothing changes, and nothing recorded since the last poll is left out.

export function Overview({ health, refreshHealth }) {
  if (!health) return <Loading />;
  const now = health.as_of_ms;
  return (
    <div class="grid">
      <Controls health={health} refresh={refreshHealth} />
      <Venues health={health} now={now} />
      <Shards health={health} now={now} />
      <Pnl now={now} />
      <Outcomes now={now} />
    </div>
  );
}

function Controls({ health, refresh }) {
  const [dialog, setDialog] = useState(null);
  const ks = health.kill_switch;
  const pause = health.pause;
  const act = (method, path, extra) => async (reason) => {
    const { status, body } = await send(method, path, { reason, ...extra });
    refresh();
    return status >= 200 && status < 300 ? null : `${body.message || `HTTP ${status}`}`;
  };
  const dialogs = {
    engage: { title: "Engage the kill switch", action: "Engage", tone: "danger", run: act("POST", "/v1/kill-switch") },
    release: {
      title: "Release the kill switch", action: "Release", tone: "primary",
      run: act("DELETE", "/v1/kill-switch", { version: ks?.version ?? 0 }),
    },
    pause: { title: "Pause new executions", action: "Pause", tone: "warn", run: act("POST", "/v1/pause") },
    resume: { title: "Resume new executions", action: "Resume", tone: "primary", run: act("DELETE", "/v1/pause") },
  };
  const open = dialog && dialogs[dialog];
  return (
    <Section title="Trading" extra={<Status value={health.trading} />}>
      <dl class="facts" id="trading-facts">
        <dt>Kill switch</dt>
        <dd id="kill-switch-state">
          {ks ? (ks.engaged ? <><Badge tone="bad">engaged</Badge> {ks.reason} <span class="muted">({utc(ks.at_ms)})</span></> : <Badge tone="good">released</Badge>) : <Badge tone="bad">unreadable</Badge>}
        </dd>
        <dt>Pause</dt>
        <dd id="pause-state">
          {pause ? (pause.paused ? <><Badge tone="warn">paused</Badge> {pause.reason} <span class="muted">by {pause.by}</span></> : <Badge tone="good">running</Badge>) : <Badge tone="bad">unreadable</Badge>}
        </dd>
        <dt>Active locks</dt>
        <dd><a href="#/locks">{health.active_locks ?? "unreadable"}</a></dd>
        <dt>Last incident</dt>
        <dd>
          {health.last_incident ? (
            <a href={`#/executions/${health.last_incident.execution_id}`}>
              {health.last_incident.route} {health.last_incident.resolved ? "(resolved)" : "(open)"}
            </a>
          ) : "none"}
        </dd>
      </dl>
      {health.missing.length > 0 && (
        <div class="notice warn" role="status">
          <strong>Partial report.</strong> Not readable: {health.missing.join("; ")}
        </div>
      )}
      <div class="actions">
        {ks && !ks.engaged && <button class="danger" onClick={() => setDialog("engage")}>Engage kill switch…</button>}
        {ks && ks.engaged && <button onClick={() => setDialog("release")}>Release kill switch…</button>}
        {pause && !pause.paused && <button class="warn" onClick={() => setDialog("pause")}>Pause…</button>}
        {pause && pause.paused && <button onClick={() => setDialog("resume")}>Resume…</button>}
      </div>
      {open && <ReasonDialog title={open.title} action={open.action} tone={open.tone} onConfirm={open.run} onClose={() => setDialog(null)} />}
    </Section>
  );
}

function Venues({ health, now }) {
  return (
    <Section title="Venues" extra={<span class="muted">reconciler swept {age(health.reconciler_last_sweep_ms, now)}</span>}>
      <table class="table" id="venues">
        <thead><tr><th>Venue</th><th>Breaker</th><th>Balances verified</th><th>Reconciler</th></tr></thead>
        <tbody>
          {health.venues.map((v) => (
            <tr key={v.venue}>
              <td data-label="Venue">{v.venue}</td>
              <td data-label="Breaker">{v.breaker ? <Status value={v.breaker} /> : <Badge tone="bad">unknown</Badge>} {v.breaker_failures ? <span class="muted">{v.breaker_failures} failures</span> : null}</td>
              <td data-label="Verified">{age(v.verified_at_ms, now)}</td>
              <td data-label="Reconciler">{v.error ? <span class="neg">{v.error}</span> : v.unreadable_since_ms ? <span class="neg">unreadable since {utc(v.unreadable_since_ms)}</span> : <span class="muted">ok, tried {age(v.last_attempt_ms, now)}</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function Shards({ health, now }) {
  const shards = health.scanner_shards;
  return (
    <Section title="Scanner shards">
      {shards === null ? (
        <p class="muted">no heartbeats recorded by this deployment</p>
      ) : Object.keys(shards).length === 0 ? (
        <p class="neg">no shard has reported a heartbeat</p>
      ) : (
        <table class="table" id="shards">
          <thead><tr><th>Shard</th><th>Last heartbeat</th><th>Feeds</th></tr></thead>
          <tbody>
            {Object.entries(shards).sort().map(([shard, at]) => (
              <tr key={shard}>
                <td data-label="Shard">{shard}</td>
                <td data-label="Heartbeat">{age(at, now)} <span class="muted">{utc(at)}</span></td>
                <td data-label="Feeds"><Feeds feeds={(health.scanner_feeds || {})[shard] || []} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function Feeds({ feeds }) {
  if (feeds.length === 0) return <span class="muted">none reported</span>;
  return (
    <ul class="feeds">
      {feeds.map((f) => (
        <li key={f.venue} class="feed">
          <Badge tone={f.connected ? "good" : "bad"}>{f.venue} {f.connected ? "connected" : "down"}</Badge>{" "}
          <span class="muted">
            {f.books} books, last message {f.last_message_age_ms === null ? "never" : f.last_message_age_ms < 1000 ? `${f.last_message_age_ms} ms` : `${(f.last_message_age_ms / 1000).toFixed(1)} s`} before the heartbeat
            {f.reconnects ? `, ${f.reconnects} reconnects` : ""}{f.resyncs ? `, ${f.resyncs} resyncs` : ""}
            {f.rest_snapshots ? `, ${f.rest_snapshots} REST snapshots` : ""}{f.dropped ? `, ${f.dropped} dropped` : ""}
            {f.failed_symbols.length ? `, refused: ${f.failed_symbols.join(" ")}` : ""}
          </span>
        </li>
      ))}
    </ul>
  );
}

function assetsOf(rows) {
  const assets = [...new Set(rows.flatMap((r) => Object.keys(r.pnl)))].sort();
  // The quote most routes settle in first: it is the one people read P&L in.
  return ["USDT", "USD", "USDC"].filter((a) => assets.includes(a)).concat(assets.filter((a) => !["USDT", "USD", "USDC"].includes(a)));
}

function everyDay(rows, from, to, asset) {
  const found = new Map(rows.map((r) => [r.key, r.pnl[asset]]));
  const days = [];
  for (let day = Math.floor(from / DAY_MS) * DAY_MS; day <= to; day += DAY_MS) {
    const key = new Date(day).toISOString().slice(0, 10);
    days.push({ key, value: found.get(key) ?? "0" });
  }
  return days;
}

function Pnl({ now }) {
  const from = Math.floor((now - 29 * DAY_MS) / DAY_MS) * DAY_MS;
  const byDay = usePoll(`/v1/pnl?by=day&from=${from}`, 5000);
  const byVenue = usePoll(`/v1/pnl?by=venue&from=${from}`, 5000);
  const byAsset = usePoll(`/v1/pnl?by=asset&from=${from}`, 5000);
  const assets = assetsOf([...(byDay.data?.rows || []), ...(byVenue.data?.rows || [])]);
  const [picked, setPicked] = useState(null);
  const asset = assets.includes(picked) ? picked : assets[0];
  return (
    <Section title="Realised P&L, last 30 days" extra={assets.length > 1 && (
      <select aria-label="asset" value={asset} onChange={(e) => setPicked(e.currentTarget.value)}>
        {assets.map((a) => <option key={a}>{a}</option>)}
      </select>
    )}>
      {byDay.data ? (
        asset ? <Columns label={`realised P&L per day in ${asset}`} rows={everyDay(byDay.data.rows, from, now, asset)} /> : <p class="muted">nothing realised in this range</p>
      ) : <Loading error={byDay.error} />}
      <div class="split">
        <div>
          <h3>By venue{asset ? `, in ${asset}` : ""}</h3>
          {byVenue.data ? (
            <Bars label={`realised P&L by venue in ${asset}`} rows={byVenue.data.rows.filter((r) => asset in r.pnl).map((r) => ({ key: r.key, value: r.pnl[asset], text: `${r.pnl[asset]} (${r.executions} exec.)` }))} />
          ) : <Loading error={byVenue.error} />}
        </div>
        <div>
          <h3>By asset</h3>
          {byAsset.data ? (
            <table class="table compact" id="pnl-asset">
              <tbody>{byAsset.data.rows.map((r) => <tr key={r.key}><td>{r.key}</td><td class="num"><Money amounts={{ [r.key]: r.pnl[r.key] ?? "0" }} /></td></tr>)}</tbody>
            </table>
          ) : <Loading error={byAsset.error} />}
        </div>
      </div>
    </Section>
  );
}

function Outcomes({ now }) {
  const since = Math.floor((now - DAY_MS) / HOUR_MS) * HOUR_MS;
  const outcomes = usePoll(`/v1/opportunities/outcomes?from=${since}`, 2000);
  const recent = usePoll("/v1/opportunities?limit=8", 2000);
  const data = outcomes.data;
  return (
    <Section title="Opportunities" extra={<span class="muted">since {utc(since)}</span>}>
      {data ? (
        <>
          <dl class="facts inline">
            <dt>Seen</dt><dd id="seen">{data.seen}</dd>
            {Object.entries(data.executions).flatMap(([status, count]) => [<dt key={`${status}-t`}><Status value={status} /></dt>, <dd key={status} id={`executions-${status}`}>{count}</dd>])}
          </dl>
          <h3>Refused, by reason</h3>
          <Bars label="refused executions by reason" rows={data.refused_by_reason.map((r) => ({ key: r.code, value: r.executions }))} />
        </>
      ) : <Loading error={outcomes.error} />}
      <h3>Latest</h3>
      {recent.data ? (
        <table class="table" id="opportunities">
          <thead><tr><th>Detected</th><th>Kind</th><th>Legs</th><th>Expected</th></tr></thead>
          <tbody>
            {recent.data.items.map((o) => (
              <tr key={o.id}>
                <td data-label="Detected" class="nowrap">{utc(o.detected_at).slice(11)}</td>
                <td data-label="Kind">{o.kind.replace("_", " ")}</td>
                <td data-label="Legs">{o.legs.map((l) => `${l.side} ${l.venue} ${l.symbol}`).join(" → ")}</td>
                <td data-label="Expected">{o.expected_profit} {o.profit_currency}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <Loading error={recent.error} />}
    </Section>
  );
}
