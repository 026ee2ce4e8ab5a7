import { useState } from "preact/hooks";
import { send } from "../api.js";
import { Badge, Loading, ReasonDialog, Section, usePoll, utc } from "../ui.jsx";

export function Incidents() {
  const [show, setShow] = useState("false");
  const page = usePoll(`/v1/incidents?limit=50${show ? `&resolved=${show}` : ""}`);
  const [resolving, setResolving] = useState(null);
  const resolve = async (note) => {
    const { status, body } = await send("POST", `/v1/incidents/${encodeURIComponent(resolving)}/resolve`, { note });
    page.refresh();
    return status === 200 ? null : body.message || `HTTP ${status}`;
  };
  return (
    <Section title="Incidents" extra={
      <select aria-label="which incidents" value={show} onChange={(e) => setShow(e.currentTarget.value)}>
        <option value="false">open</option>
        <option value="true">resolved</option>
        <option value="">all</option>
      </select>
    }>
      <p class="muted">An incident is an execution the saga could not bring to a known, flat state by itself: what it
        left open is in its reason and its trail. Resolving records what people found and did; the execution stays an
        incident in history.</p>
      {page.data ? (
        page.data.items.length ? (
          <ul class="incidents" id="incidents">
            {page.data.items.map((incident) => (
              <li key={incident.execution_id} class="incident" data-execution={incident.execution_id}>
                <div class="incident-head">
                  <a href={`#/executions/${incident.execution_id}`} class="route">{incident.route}</a>
                  {incident.resolved ? <Badge tone="good">resolved</Badge> : <Badge tone="bad">open</Badge>}
                </div>
                <p>{incident.reason || "no reason recorded"}</p>
                <p class="muted">since {utc(incident.created_at)}, last change {utc(incident.updated_at)}</p>
                {incident.resolution ? (
                  <p class="resolution">Resolved by {incident.resolution.by} at {utc(incident.resolution.at_ms)}: {incident.resolution.note}</p>
                ) : (
                  <button class="primary" onClick={() => setResolving(incident.execution_id)}>Resolve…</button>
                )}
              </li>
            ))}
          </ul>
        ) : <p class="muted" id="no-incidents">{show === "false" ? "no open incidents" : "no incidents"} in the last seven days</p>
      ) : <Loading error={page.error} />}
      {resolving && (
        <ReasonDialog title="Resolve the incident" label="What was found and done" action="Resolve" onConfirm={resolve} onClose={() => setResolving(null)} />
      )}
    </Section>
  );
}
