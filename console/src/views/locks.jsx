import { useState } from "preact/hooks";
import { fieldErrors, send } from "../api.js";
import { Loading, ReasonDialog, Section, usePoll, utc } from "../ui.jsx";

export function Locks({ now }) {
  const list = usePoll("/v1/locks");
  const [removing, setRemoving] = useState(null);
  const [form, setForm] = useState({ scope: "venue", target: "", minutes: "60", reason: "" });
  const [errors, setErrors] = useState({});
  const add = async (event) => {
    event.preventDefault();
    const minutes = Number(form.minutes);
    if (!Number.isFinite(minutes) || minutes <= 0) {
      setErrors({ until_ms: ["a number of minutes above zero"] });
      return;
    }
    const until = (now || Date.now()) + Math.round(minutes * 60_000);
    const { status, body } = await send("POST", "/v1/locks", { scope: form.scope, target: form.target, until_ms: until, reason: form.reason });
    if (status === 200) {
      setErrors({});
      setForm({ ...form, target: "", reason: "" });
      list.refresh();
    } else setErrors(fieldErrors(body, ""));
  };
  const remove = async (reason) => {
    const { status, body } = await send("DELETE", `/v1/locks/${encodeURIComponent(removing)}`, { reason });
    list.refresh();
    return status === 200 ? null : body.message || `HTTP ${status}`;
  };
  const set = (name) => (e) => setForm({ ...form, [name]: e.currentTarget.value });
  const error = (name) => errors[name] && <span class="field-error" role="alert">{errors[name].join("; ")}</span>;
  return (
    <div class="grid">
      <Section title="Active locks">
        {list.data ? (
          list.data.locks.length ? (
            <table class="table" id="locks">
              <thead><tr><th>Scope</th><th>Target</th><th>Until</th><th>Why</th><th></th></tr></thead>
              <tbody>
                {list.data.locks.map((lock) => (
                  <tr key={lock.lock_id}>
                    <td data-label="Scope">{lock.scope}</td>
                    <td data-label="Target" class="route">{lock.target}</td>
                    <td data-label="Until">{utc(lock.until_ms)}</td>
                    <td data-label="Why">{lock.reason} <span class="muted">by {lock.by}</span></td>
                    <td><button onClick={() => setRemoving(lock.lock_id)}>Remove…</button></td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : <p class="muted">no active locks</p>
        ) : <Loading error={list.error} />}
      </Section>
      <Section title="Add a lock">
        <form class="form" onSubmit={add} noValidate id="lock-form">
          <div class="field">
            <label for="lock-scope">Scope</label>
            <select id="lock-scope" value={form.scope} onChange={set("scope")}>
              <option value="venue">venue</option><option value="symbol">symbol (every venue)</option><option value="route">route</option>
            </select>
          </div>
          <div class={`field ${errors.target ? "invalid" : ""}`}>
            <label for="lock-target">Target</label>
            <input id="lock-target" value={form.target} onInput={set("target")} placeholder="binance, BTC/USDT or a route" />
            {error("target")}
          </div>
          <div class={`field ${errors.until_ms ? "invalid" : ""}`}>
            <label for="lock-minutes">For (minutes)</label>
            <input id="lock-minutes" inputMode="numeric" value={form.minutes} onInput={set("minutes")} />
            {error("until_ms")}
          </div>
          <div class={`field wide ${errors.reason ? "invalid" : ""}`}>
            <label for="lock-reason">Reason</label>
            <input id="lock-reason" value={form.reason} onInput={set("reason")} />
            {error("reason")}
          </div>
          {error("(form)") || error("scope")}
          <div class="actions"><button type="submit" class="warn">Add lock</button></div>
        </form>
      </Section>
      {removing && <ReasonDialog title="Remove the lock" action="Remove" onConfirm={remove} onClose={() => setRemoving(null)} />}
    </div>
  );
}
