import { useEffect, useRef, useState } from "preact/hooks";
import { get } from "./api.js";

export const POLL_MS = 1000;

/** A path read every POLL_MS, start to start (and at once after `refresh()`); keeps the last good data while the
 * API fails. Polling with ETags rather than a push channel: API Gateway's REST API and Lambda hold no connection,
 * a 304 costs a few hundred bytes, and a change shows within about half a period plus one read. */
export function usePoll(path, every = POLL_MS) {
  const [state, setState] = useState({ data: null, error: null });
  const timer = useRef(null);
  const alive = useRef(true);
  const read = useRef(null);
  read.current = async () => {
    clearTimeout(timer.current);
    if (!path) return;
    const started = Date.now();
    try {
      const data = await get(path);
      if (alive.current) setState((old) => (old.data === data && !old.error ? old : { data, error: null }));
    } catch (error) {
      if (alive.current) setState((old) => ({ data: old.data, error }));
    }
    if (alive.current) timer.current = setTimeout(() => read.current(), Math.max(100, every - (Date.now() - started)));
  };
  useEffect(() => {
    alive.current = true;
    setState({ data: null, error: null });
    read.current();
    const again = () => document.visibilityState === "visible" && read.current();
    document.addEventListener("visibilitychange", again);
    return () => {
      alive.current = false;
      clearTimeout(timer.current);
      document.removeEventListener("visibilitychange", again);
    };
  }, [path]);
  return { ...state, refresh: () => read.current() };
}

export function utc(ms) {
  if (!ms || ms < 1e11) return "—"; // 0 and the defaults' placeholder stamps: never set
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + "Z";
}

export function age(ms, now) {
  if (!ms || !now) return "never";
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export function Badge({ tone, children }) {
  return <span class={`badge ${tone || ""}`}>{children}</span>;
}

const TONES = {
  settled: "good", compensated: "warn", incident: "bad", refused: "muted",
  closed: "good", half_open: "warn", open: "bad", active: "good", paused: "warn", halted: "bad", unknown: "bad",
};
export function Status({ value }) {
  return <Badge tone={TONES[value] || ""}>{String(value ?? "—").replace("_", " ")}</Badge>;
}

export function Money({ amounts, plain }) {
  const entries = Object.entries(amounts || {});
  if (!entries.length) return <span class="muted">0</span>;
  return (
    <span>
      {entries.map(([asset, value], i) => (
        <span key={asset} class={plain ? "" : Number(value) < 0 ? "neg" : "pos"}>
          {i ? ", " : ""}
          {value} {asset}
        </span>
      ))}
    </span>
  );
}

/** A confirm-and-reason dialog: nothing is sent without a reason in words. */
export function ReasonDialog({ title, label, action, tone, onConfirm, onClose }) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    if (!reason.trim()) {
      setError("a reason is required: it goes into the audit trail");
      return;
    }
    setBusy(true);
    const problem = await onConfirm(reason.trim());
    setBusy(false);
    if (problem) setError(problem);
    else onClose();
  };
  return (
    <div class="backdrop" role="presentation">
      <form class="dialog" role="dialog" aria-modal="true" aria-label={title} onSubmit={submit}>
        <h2>{title}</h2>
        <label>
          {label || "Reason"}
          <textarea name="reason" rows="3" maxLength={2000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} autoFocus />
        </label>
        {error && <p class="field-error" role="alert">{error}</p>}
        <div class="actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" class={tone || "primary"} disabled={busy}>{action}</button>
        </div>
      </form>
    </div>
  );
}

export function Section({ title, children, extra, wide }) {
  return (
    <section class={wide ? "card full" : "card"}>
      <header class="card-head">
        <h2>{title}</h2>
        {extra}
      </header>
      {children}
    </section>
  );
}

export function Loading({ error }) {
  if (error) return <p class="field-error">{error.message}</p>;
  return <p class="muted">loading…</p>;
}
