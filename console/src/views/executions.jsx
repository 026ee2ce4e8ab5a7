import { useState } from "preact/hooks";
import { Badge, Loading, Money, Section, Status, usePoll, utc } from "../ui.jsx";

const STATUSES = ["", "pending", "refused", "placing", "awaiting_fills", "settled", "compensating", "compensated", "incident"];

export function Executions() {
  const [status, setStatus] = useState("");
  const page = usePoll(`/v1/executions?limit=50${status ? `&status=${status}` : ""}`);
  return (
    <Section title="Executions" extra={
      <select aria-label="status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
        {STATUSES.map((s) => <option key={s} value={s}>{s ? s.replace("_", " ") : "every status"}</option>)}
      </select>
    }>
      {page.data ? (
        page.data.items.length ? (
          <table class="table" id="executions">
            <thead><tr><th>Created</th><th>Route</th><th>Status</th><th>Expected</th><th>Why</th></tr></thead>
            <tbody>
              {page.data.items.map((e) => (
                <tr key={e.execution_id}>
                  <td data-label="Created"><a href={`#/executions/${e.execution_id}`}>{utc(e.created_at)}</a></td>
                  <td data-label="Route" class="route">{e.route}</td>
                  <td data-label="Status"><Status value={e.status} /></td>
                  <td data-label="Expected">{e.expected_profit} {e.profit_currency}</td>
                  <td data-label="Why" class="muted">{e.reason || ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : <p class="muted">no executions in the last seven days</p>
      ) : <Loading error={page.error} />}
      {page.data?.next_cursor && <p class="muted">showing the newest 50</p>}
    </Section>
  );
}

export function ExecutionView({ id }) {
  const detail = usePoll(`/v1/executions/${encodeURIComponent(id)}`);
  if (!detail.data) return <Loading error={detail.error} />;
  const { execution, orders, fees, pnl, audit, chain, resolution } = detail.data;
  const opportunity = execution.opportunity;
  return (
    <div class="grid">
      <Section title={`Execution ${execution.execution_id}`} extra={<Status value={execution.status} />}>
        <dl class="facts">
          <dt>Kind</dt><dd>{opportunity.kind.replace("_", " ")}</dd>
          <dt>Created</dt><dd>{utc(execution.created_at)}</dd>
          <dt>Updated</dt><dd>{utc(execution.updated_at)}</dd>
          <dt>Expected</dt><dd>{opportunity.expected_profit} {opportunity.profit_currency}</dd>
          <dt>Realised</dt><dd><Money amounts={pnl} /></dd>
          <dt>Fees paid</dt><dd><Money amounts={fees} plain /></dd>
          {execution.reason && <><dt>Why</dt><dd>{execution.reason}</dd></>}
          {resolution && <><dt>Resolved</dt><dd>{resolution.note} <span class="muted">by {resolution.by}, {utc(resolution.at_ms)}</span></dd></>}
        </dl>
      </Section>
      <Section title="Legs and orders">
        <table class="table" id="orders">
          <thead><tr><th>Leg</th><th>Venue</th><th>Order</th><th>Filled</th><th>Average</th></tr></thead>
          <tbody>
            {orders.map(({ intent, order }) => (
              <tr key={intent.client_order_id}>
                <td data-label="Leg">{intent.side} {intent.amount} {intent.symbol} @ {intent.limit_price}</td>
                <td data-label="Venue">{intent.venue}</td>
                <td data-label="Order">{order ? <Status value={order.status} /> : <Badge tone="warn">never reported</Badge>}</td>
                <td data-label="Filled">{order ? order.filled : "—"}</td>
                <td data-label="Average">{order?.average ?? "—"}</td>
              </tr>
            ))}
            {orders.length === 0 && opportunity.legs.map((leg, i) => (
              <tr key={i}><td data-label="Leg">{leg.side} {leg.amount} {leg.symbol} @ {leg.limit_price}</td><td data-label="Venue">{leg.venue}</td><td data-label="Order" class="muted" colSpan={3}>no order placed</td></tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Audit trail" wide extra={
        <span id="chain-verdict" class={`badge ${chain.intact ? "good" : "bad"}`}>
          {chain.intact ? `hash chain intact (${chain.events} events${chain.truncated ? ", truncated" : ""})` : `hash chain BROKEN at link ${chain.first_broken_link}`}
        </span>
      }>
        <ol class="trail" id="audit">
          {audit.map((event) => (
            <li key={event.sequence} class={!chain.intact && event.sequence >= chain.first_broken_link ? "broken" : ""}>
              <span class="seq">#{event.sequence}</span>
              <span class="kind">{event.kind}</span>
              <span class="muted">{utc(event.at_ms)}</span>
              <code class="detail">{summarise(event.detail)}</code>
              <code class="hash" title={event.hash}>{event.hash.slice(0, 12)}</code>
            </li>
          ))}
        </ol>
      </Section>
    </div>
  );
}

function summarise(detail) {
  return Object.entries(detail)
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(" ")
    .slice(0, 300);
}

