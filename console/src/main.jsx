import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "./style.css";
import { connection, setBase } from "./api.js";
import { authConfigured, completeLogin, configureAuth, login, loginRequired, logout } from "./auth.js";
import { Status, usePoll, utc } from "./ui.jsx";
import { Config } from "./views/config.jsx";
import { ExecutionView, Executions } from "./views/executions.jsx";
import { Incidents } from "./views/incidents.jsx";
import { Locks } from "./views/locks.jsx";
import { Overview } from "./views/overview.jsx";

const TABS = [
  ["#/", "Overview"],
  ["#/executions", "Executions"],
  ["#/incidents", "Incidents"],
  ["#/config", "Limits"],
  ["#/locks", "Locks"],
];

function useHash() {
  const [hash, setHash] = useState(location.hash || "#/");
  useEffect(() => {
    const follow = () => setHash(location.hash || "#/");
    addEventListener("hashchange", follow);
    return () => removeEventListener("hashchange", follow);
  }, []);
  return hash;
}

function useConnection() {
  const [state, setState] = useState(connection.get());
  const [, tick] = useState(0);
  useEffect(() => connection.watch(setState), []);
  useEffect(() => {
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, []);
  return state;
}

function StaleBanner() {
  const { lastOkAt, failingSince, error } = useConnection();
  // Everything under the banner is greyed while it shows: last known, not current.
  useEffect(() => document.body.classList.toggle("data-stale", Boolean(failingSince)), [failingSince]);
  if (!failingSince) return null;
  const seconds = lastOkAt ? Math.round((Date.now() - lastOkAt) / 1000) : null;
  return (
    <div class="stale" role="alert" id="stale-banner">
      <strong>Stale data:</strong> {error}.{" "}
      {seconds === null ? "Nothing has been read yet." : `What you see was last read ${seconds} s ago and may no longer be true.`}{" "}
      Retrying every second.
    </div>
  );
}

function App() {
  const hash = useHash();
  const health = usePoll("/v1/health");
  const now = health.data?.as_of_ms;
  const route = hash.replace(/^#/, "") || "/";
  let view;
  if (route.startsWith("/executions/")) view = <ExecutionView id={decodeURIComponent(route.slice("/executions/".length))} />;
  else if (route === "/executions") view = <Executions />;
  else if (route === "/incidents") view = <Incidents />;
  else if (route === "/config") view = <Config />;
  else if (route === "/locks") view = <Locks now={now} />;
  else view = <Overview health={health.data} refreshHealth={health.refresh} />;
  const active = "#" + (route.startsWith("/executions") ? "/executions" : route);
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">Arbiter</a>
        {health.data && <Status value={health.data.trading} />}
        {health.data?.status === "degraded" && <span class="badge warn">partial</span>}
        <span class="muted as-of">{now ? `platform clock ${utc(now).slice(11)}` : ""}</span>
        {authConfigured() && <button onClick={logout}>Sign out</button>}
      </header>
      <nav class="tabs">
        {TABS.map(([href, label]) => (
          <a key={href} href={href} class={active === href ? "on" : ""} aria-current={active === href ? "page" : undefined}>{label}</a>
        ))}
      </nav>
      <StaleBanner />
      <main>{view}</main>
    </>
  );
}

function SignIn() {
  return (
    <main class="signin">
      <h1>Arbiter console</h1>
      <p>Sign in with your operator account (multi-factor authentication required).</p>
      <button class="primary" onClick={login}>Sign in</button>
    </main>
  );
}

async function start() {
  // config.json is written beside the console by the deployment (API address, Cognito); locally there is none.
  let config = {};
  try {
    const response = await fetch("config.json", { cache: "no-store" });
    if (response.ok) config = await response.json();
  } catch {
    config = {};
  }
  setBase(config.apiUrl || "");
  configureAuth(config.auth);
  try {
    await completeLogin();
  } catch (error) {
    document.title = `Arbiter console: ${error.message}`;
  }
  render(loginRequired() ? <SignIn /> : <App />, document.getElementById("app"));
}

start();
