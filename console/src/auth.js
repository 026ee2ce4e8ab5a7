// Login through the API's Cognito option: the authorization code flow with PKCE against the user pool's managed
// login (no client secret in a page). The ID token goes in Authorization, as API Gateway's Cognito authorizer
// expects. Locally (no config.json) there is no login: the local server names the caller itself.
let settings = null; // { domain, clientId, redirectUri }
let token = null; // { id, expiresAt }
const KEY = "arbiter.console.token";
const VERIFIER = "arbiter.console.verifier";

export function configureAuth(auth) {
  settings = auth || null;
  try {
    token = JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    token = null;
  }
}

export function authConfigured() {
  return settings !== null;
}

export function loginRequired() {
  return settings !== null && !(token && token.expiresAt > Date.now() + 30_000);
}

export async function authorization() {
  if (!settings) return null;
  if (loginRequired()) return null;
  return token.id;
}

function randomText(bytes) {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(data);
}

function base64url(data) {
  return btoa(String.fromCharCode(...data)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function login() {
  const verifier = randomText(48);
  sessionStorage.setItem(VERIFIER, verifier);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: settings.clientId,
    redirect_uri: settings.redirectUri,
    scope: "openid email",
    code_challenge_method: "S256",
    code_challenge: base64url(digest),
  });
  location.assign(`https://${settings.domain}/oauth2/authorize?${query}`);
}

/** After the managed login redirects back with ?code=: trade it for tokens, then drop it from the address. */
export async function completeLogin() {
  const code = new URLSearchParams(location.search).get("code");
  if (!settings || !code) return;
  const response = await fetch(`https://${settings.domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: settings.clientId,
      redirect_uri: settings.redirectUri,
      code,
      code_verifier: sessionStorage.getItem(VERIFIER) || "",
    }),
  });
  sessionStorage.removeItem(VERIFIER);
  history.replaceState(null, "", location.pathname + location.hash);
  if (!response.ok) throw new Error(`login failed (${response.status})`);
  const tokens = await response.json();
  token = { id: tokens.id_token, expiresAt: Date.now() + tokens.expires_in * 1000 };
  sessionStorage.setItem(KEY, JSON.stringify(token));
}

export function logout() {
  sessionStorage.removeItem(KEY);
  token = null;
  if (settings) {
    const query = new URLSearchParams({ client_id: settings.clientId, logout_uri: settings.redirectUri });
    location.assign(`https://${settings.domain}/logout?${query}`);
  }
}
