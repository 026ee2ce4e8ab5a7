// The one way the console talks to the API: every read is conditional (If-None-Match with the ETag last seen),
// so polling every second costs a 304 while nothing changes; every change reports the API's error body as is.
import { signal } from "./signal.js";
import { authorization } from "./auth.js";

const cache = new Map(); // path -> { etag, data }
let base = "";

/** The connection as the page shows it: when the API last answered and since when it has not. */
export const connection = signal({ lastOkAt: 0, failingSince: 0, error: "" });

export function setBase(url) {
  base = url.replace(/\/$/, "");
}

function ok() {
  const now = Date.now();
  connection.set({ lastOkAt: now, failingSince: 0, error: "" });
}

function failed(error) {
  const current = connection.get();
  connection.set({ ...current, failingSince: current.failingSince || Date.now(), error });
}

async function headers(extra) {
  const auth = await authorization();
  return { ...(auth ? { Authorization: auth } : {}), ...extra };
}

/** GET a path; resolves to the data (the same object while the ETag holds) or rejects with an ApiError. */
export async function get(path) {
  const cached = cache.get(path);
  let response;
  try {
    response = await fetch(base + path, {
      cache: "no-store",
      headers: await headers(cached ? { "If-None-Match": cached.etag } : {}),
    });
  } catch (error) {
    failed("the API cannot be reached");
    throw new ApiError(0, { error: "unreachable", message: "the API cannot be reached" });
  }
  if (response.status === 304 && cached) {
    ok();
    return cached.data;
  }
  const body = await readBody(response);
  if (!response.ok) {
    if (response.status >= 500 || response.status === 429) failed(`the API answered ${response.status}`);
    else ok();
    throw new ApiError(response.status, body);
  }
  ok();
  const etag = response.headers.get("ETag");
  if (etag) cache.set(path, { etag, data: body });
  return body;
}

/** A change (POST, PUT, DELETE): resolves to { status, body }; never throws on an HTTP error. */
export async function send(method, path, payload) {
  let response;
  try {
    response = await fetch(base + path, {
      method,
      cache: "no-store",
      headers: await headers({ "Content-Type": "application/json" }),
      body: JSON.stringify(payload),
    });
  } catch (error) {
    failed("the API cannot be reached");
    return { status: 0, body: { error: "unreachable", message: "the API cannot be reached; nothing was changed" } };
  }
  ok();
  return { status: response.status, body: await readBody(response) };
}

async function readBody(response) {
  const text = await response.text();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    return { error: "unreadable", message: text.slice(0, 200) };
  }
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** Per field, its messages: each problem the error body locates, with the request part and `group` (e.g.
 * "risk_limits") taken off the front of its location; what cannot be placed on a field goes under "(form)". */
export function fieldErrors(body, group) {
  const found = {};
  for (const problem of body?.detail || []) {
    let loc = (problem.loc || []).map(String);
    if (loc[0] === "body" || loc[0] === "request") loc = loc.slice(1);
    loc = loc.flatMap((part) => part.split("."));
    if (loc[0] === group) loc = loc.slice(1);
    const field = loc.join(".") || "(form)";
    (found[field] ||= []).push(problem.msg);
  }
  if (!Object.keys(found).length && body?.message) found["(form)"] = [body.message];
  return found;
}
