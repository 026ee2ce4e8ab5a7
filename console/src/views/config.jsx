import { useState } from "preact/hooks";
import { fieldErrors, send } from "../api.js";
import { Loading, Section, usePoll, utc } from "../ui.jsx";

const LIMITS = [
  ["max_notional_per_execution", "Largest notional per execution", "USD"],
  ["max_notional_per_venue", "Largest notional per venue", "USD"],
  ["max_concurrent_executions", "Executions at once", "count"],
  ["daily_loss_limit", "Daily loss limit", "USD"],
  ["min_profit_bps", "Least expected profit", "bps"],
  ["min_profit_abs", "Least expected profit", "USD"],
];

export function Config() {
  return (
    <div class="grid">
      <RiskLimits />
      <Strategies />
    </div>
  );
}

function exposureText(exposure) {
  return Object.entries(exposure || {}).map(([asset, amount]) => `${asset} ${amount}`).join("\n");
}

function parseExposure(text) {
  const exposure = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const [asset, amount] = line.split(/[\s=:]+/, 2);
    exposure[asset] = amount ?? "";
  }
  return exposure;
}

function draftOf(config) {
  const draft = {};
  for (const [name] of LIMITS) draft[name] = String(config.risk_limits[name]);
  draft.max_asset_exposure = exposureText(config.risk_limits.max_asset_exposure);
  return draft;
}

/** Edits against the version they started from: the form follows the API until someone types, then holds still. */
function useDraft(config, toDraft) {
  const [edit, setEdit] = useState(null); // { base, draft, dirty }
  if (config && (!edit || (!edit.dirty && edit.base !== config.version))) {
    const fresh = { base: config.version, origin: toDraft(config), draft: toDraft(config), dirty: false };
    setEdit(fresh);
    return [fresh, setEdit];
  }
  return [edit, setEdit];
}

function Conflict({ conflict, onTheirs, onMine }) {
  const changed = Object.keys(conflict.theirs).filter((k) => JSON.stringify(conflict.theirs[k]) !== JSON.stringify(conflict.origin[k]));
  return (
    <div class="notice bad" role="alert" id="conflict">
      <strong>Not saved: someone changed the configuration first.</strong> Your edits were based on version {conflict.base};
      it is now at version {conflict.current.version}, saved by {conflict.current.updated_by} at {utc(conflict.current.updated_at)}.
      Saving yours now would silently undo their change, so nothing was written.
      {changed.length > 0 && (
        <ul class="changes">
          {changed.map((k) => <li key={k}><code>{k}</code>: {show(conflict.origin[k])} → <strong>{show(conflict.theirs[k])}</strong></li>)}
        </ul>
      )}
      <div class="actions">
        <button type="button" onClick={onTheirs}>Discard mine, load version {conflict.current.version}</button>
        <button type="button" class="primary" onClick={onMine}>Keep mine, save over version {conflict.current.version}…</button>
      </div>
    </div>
  );
}

function show(value) {
  if (typeof value === "string") return value.replace(/\n/g, ", ") || "none";
  return value.map((r) => `${r.name}=${r.value}`).join(", ") || "none";
}

function RiskLimits() {
  const loaded = usePoll("/v1/config/risk");
  const config = loaded.data;
  const [edit, setEdit] = useDraft(config, draftOf);
  const [errors, setErrors] = useState({});
  const [conflict, setConflict] = useState(null);
  const [saved, setSaved] = useState("");
  if (!config || !edit) return <Section title="Risk limits"><Loading error={loaded.error} /></Section>;
  const change = (name) => (event) => {
    setEdit({ ...edit, dirty: true, draft: { ...edit.draft, [name]: event.currentTarget.value } });
    setSaved("");
  };
  const save = async (event) => {
    event.preventDefault();
    const limits = { ...edit.draft, max_asset_exposure: parseExposure(edit.draft.max_asset_exposure) };
    const count = Number(limits.max_concurrent_executions);
    limits.max_concurrent_executions = /^\d+$/.test(limits.max_concurrent_executions.trim()) ? count : limits.max_concurrent_executions;
    const { status, body } = await send("PUT", "/v1/config/risk", { version: edit.base, risk_limits: limits });
    if (status === 200) {
      setErrors({});
      setConflict(null);
      setEdit({ base: body.version, origin: draftOf(body), draft: draftOf(body), dirty: false });
      setSaved(`saved as version ${body.version}`);
      loaded.refresh();
    } else if (status === 409 && body.current) {
      setErrors({});
      setConflict({ base: edit.base, current: body.current, origin: edit.origin, theirs: draftOf(body.current) });
      loaded.refresh();
    } else {
      setErrors(fieldErrors(body, "risk_limits"));
    }
  };
  const field = (name, label, unit) => (
    <div class={`field ${errors[name] ? "invalid" : ""}`} key={name}>
      <label for={`risk-${name}`}>{label} <span class="muted">({unit})</span></label>
      <input id={`risk-${name}`} name={name} inputMode="decimal" value={edit.draft[name]} onInput={change(name)} aria-invalid={errors[name] ? "true" : "false"} aria-describedby={`risk-${name}-error`} />
      <span class="in-force" data-field={name}>in force: {String(config.risk_limits[name])}</span>
      {errors[name] && <span class="field-error" id={`risk-${name}-error`} role="alert">{errors[name].join("; ")}</span>}
    </div>
  );
  const exposureErrors = Object.entries(errors).filter(([k]) => k.startsWith("max_asset_exposure"));
  return (
    <Section title="Risk limits" extra={<span class="muted">version {config.version}, by {config.updated_by}, {utc(config.updated_at)}</span>}>
      <form class="form" id="risk-form" onSubmit={save} noValidate>
        {LIMITS.map(([name, label, unit]) => field(name, label, unit))}
        <div class={`field wide ${exposureErrors.length ? "invalid" : ""}`}>
          <label for="risk-max_asset_exposure">Largest position per asset <span class="muted">(one "ASSET amount" a line)</span></label>
          <textarea id="risk-max_asset_exposure" rows="3" value={edit.draft.max_asset_exposure} onInput={change("max_asset_exposure")} />
          <span class="in-force">in force: {exposureText(config.risk_limits.max_asset_exposure).replace(/\n/g, ", ") || "none"}</span>
          {exposureErrors.map(([k, m]) => <span class="field-error" role="alert" key={k}>{k}: {m.join("; ")}</span>)}
        </div>
        {errors["(form)"] && <p class="field-error" role="alert">{errors["(form)"].join("; ")}</p>}
        {conflict && (
          <Conflict conflict={conflict}
            onTheirs={() => { setConflict(null); setEdit({ base: conflict.current.version, origin: conflict.theirs, draft: conflict.theirs, dirty: false }); }}
            onMine={() => { setConflict(null); setEdit({ ...edit, base: conflict.current.version, origin: conflict.theirs }); }} />
        )}
        <div class="actions">
          {Object.keys(errors).length > 0 && <span class="field-error">Not saved: the limits in force are unchanged.</span>}
          {edit.dirty && <span class="muted">editing version {edit.base}</span>}
          {saved && <span class="good-text" role="status">{saved}</span>}
          <button type="button" disabled={!edit.dirty} onClick={() => { setErrors({}); setConflict(null); setEdit({ base: config.version, origin: draftOf(config), draft: draftOf(config), dirty: false }); }}>Undo edits</button>
          <button type="submit" class="primary" disabled={!edit.dirty}>Save limits</button>
        </div>
      </form>
    </Section>
  );
}

function strategyDraft(config) {
  return Object.entries(config.parameters || config.strategy || {}).map(([name, value]) => ({ name, value }));
}

function Strategies() {
  const loaded = usePoll("/v1/config/strategies");
  const config = loaded.data;
  const [edit, setEdit] = useDraft(config, strategyDraft);
  const [errors, setErrors] = useState({});
  const [conflict, setConflict] = useState(null);
  const [saved, setSaved] = useState("");
  if (!config || !edit) return <Section title="Strategy parameters"><Loading error={loaded.error} /></Section>;
  const update = (rows) => { setEdit({ ...edit, dirty: true, draft: rows }); setSaved(""); };
  const save = async (event) => {
    event.preventDefault();
    const parameters = Object.fromEntries(edit.draft.filter((r) => r.name.trim()).map((r) => [r.name.trim(), r.value]));
    const { status, body } = await send("PUT", "/v1/config/strategies", { version: edit.base, parameters });
    if (status === 200) {
      setErrors({}); setConflict(null);
      setEdit({ base: body.version, origin: strategyDraft(body), draft: strategyDraft(body), dirty: false });
      setSaved(`saved as version ${body.version}`);
      loaded.refresh();
    } else if (status === 409 && body.current) {
      const theirs = strategyDraft(body.current);
      setErrors({}); setConflict({ base: edit.base, current: body.current, origin: { parameters: edit.origin }, theirs: { parameters: theirs } });
    } else setErrors(fieldErrors(body, "parameters"));
  };
  return (
    <Section title="Strategy parameters" extra={<span class="muted">version {config.version}</span>}>
      <form class="form" id="strategy-form" onSubmit={save} noValidate>
        {edit.draft.map((row, i) => (
          <div class={`field pair ${errors[row.name] ? "invalid" : ""}`} key={i}>
            <input aria-label="parameter name" value={row.name} onInput={(e) => update(edit.draft.map((r, j) => (j === i ? { ...r, name: e.currentTarget.value } : r)))} />
            <input aria-label={`value of ${row.name}`} value={row.value} onInput={(e) => update(edit.draft.map((r, j) => (j === i ? { ...r, value: e.currentTarget.value } : r)))} />
            <span class="in-force">in force: {config.parameters[row.name] ?? "not set"}</span>
            {errors[row.name] && <span class="field-error" role="alert">{errors[row.name].join("; ")}</span>}
          </div>
        ))}
        {!edit.draft.length && <p class="muted">no strategy parameters set</p>}
        {Object.entries(errors).filter(([k]) => !edit.draft.some((r) => r.name === k)).map(([k, m]) => <p class="field-error" role="alert" key={k}>{k}: {m.join("; ")}</p>)}
        {conflict && (
          <Conflict conflict={conflict}
            onTheirs={() => { setConflict(null); setEdit({ base: conflict.current.version, origin: conflict.theirs.parameters, draft: conflict.theirs.parameters, dirty: false }); }}
            onMine={() => { setConflict(null); setEdit({ ...edit, base: conflict.current.version, origin: conflict.theirs.parameters }); }} />
        )}
        <div class="actions">
          {Object.keys(errors).length > 0 && <span class="field-error">Not saved: the parameters in force are unchanged.</span>}
          {saved && <span class="good-text" role="status">{saved}</span>}
          <button type="button" onClick={() => update([...edit.draft, { name: "", value: "" }])}>Add parameter</button>
          <button type="submit" class="primary" disabled={!edit.dirty}>Save parameters</button>
        </div>
      </form>
    </Section>
  );
}
