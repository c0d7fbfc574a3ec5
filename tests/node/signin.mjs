// Sign-in fixtures for the node:test files (oauth.test.mjs, browser.test.mjs) and the
// conformance driver (tests/conformance/run.mjs): github-double with GitHub's OAuth,
// `github-review-mcp http --oauth` at a known public URL, and the browser's part of
// the sign-in done over plain HTTP, as crates/github-review-mcp/tests/oauth.rs does it.
// Node built-ins only, so the conformance driver can import it from its own package.
//
// Binaries: target/debug/github-review-mcp and target/debug/github-double, or
// GITHUB_REVIEW_MCP_BIN and GITHUB_DOUBLE_BIN (`cargo build --workspace --bins`).

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";

import { freePort, startServer as startHttpServer } from "./procs.mjs";

export { DOUBLE_BIN, freePort, REPO, SEED, SERVER_BIN, startDouble } from "./procs.mjs";

/** The seed's OAuth App: the server signs users in to GitHub (the double) with it. */
export const GITHUB_APP = { id: "Iv1.doubleoauthapp", secret: "double-oauth-secret" };
/** Seals the GitHub tokens the server keeps (a key for tests only). */
export const OAUTH_KEY = "9e3779b97f4a7c15f39cc0605cedc8341082276bf3a27251f86c6a11d0c18e95";
export const SCOPES = ["review:read", "review:write"];

const REQUEST_TIMEOUT_MS = 15_000; // any one HTTP request of a sign-in
const bounded = () => AbortSignal.timeout(REQUEST_TIMEOUT_MS);

/**
 * `github-review-mcp http --oauth` in front of `double`, in a clean environment, at
 * http://127.0.0.1:<free port>. `testMode` adds --oauth-test-mode (client ID metadata
 * documents over http or from loopback); `env` adds variables. Its stderr is kept for
 * `logs()` (what the secret checks read).
 */
export async function startServer(double, { testMode = false, env = {}, rustLog = "info" } = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const args = ["--public-url", base, "--oauth"];
  if (testMode) args.push("--oauth-test-mode");
  return startHttpServer(double, {
    listen: `127.0.0.1:${port}`,
    args,
    env: {
      GITHUB_OAUTH_CLIENT_ID: GITHUB_APP.id,
      GITHUB_OAUTH_CLIENT_SECRET: GITHUB_APP.secret,
      GITHUB_REVIEW_MCP_OAUTH_KEY: OAUTH_KEY,
      ...env,
    },
    rustLog,
  });
}

/** PKCE S256: a fresh verifier and its challenge. */
export function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

/** RFC 7591 registration of a public client; returns its client_id. */
export async function register(base, redirectUris, clientName = "Node Test Client") {
  const response = await fetch(`${base}/oauth/register`, {
    signal: bounded(),
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: clientName,
      redirect_uris: redirectUris,
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    }),
  });
  const body = await response.json();
  assert.equal(response.status, 201, `registration: ${JSON.stringify(body)}`);
  assert.equal(body.token_endpoint_auth_method, "none");
  return body.client_id;
}

/** Our authorization endpoint's URL for one request (PKCE S256, state, resource). */
export function authorizationUrl(base, { clientId, redirectUri, challenge, state, scope }) {
  const url = new URL(`${base}/oauth/authorize`);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
    resource: `${base}/mcp`,
    ...(scope ? { scope } : {}),
  }).toString();
  return url.href;
}

function location(response, step) {
  const to = response.headers.get("location");
  assert.ok(to, `${step}: no Location in a ${response.status} answer`);
  return to;
}

/** A hidden input of our consent page. */
function hidden(html, name) {
  const value = html.match(new RegExp(`name=${name} value="([^"]*)"`))?.[1];
  assert.ok(value, `the consent page has no hidden ${name}`);
  return value;
}

/**
 * The browser's part of a sign-in, over plain HTTP without following redirects: our
 * consent page (its CSRF cookie kept), "Approve", GitHub's page approved as `login`
 * (the double's `auto_approve`), our callback. Returns the consent page's HTML and
 * the URL our server sent the browser to at the end (the client's redirect_uri with
 * code, state and iss): { consentPage, redirectedTo }.
 */
export async function signInOverHttp(authorizeUrl, login) {
  const base = new URL(authorizeUrl).origin;
  const page = await fetch(authorizeUrl, { redirect: "manual", signal: bounded() });
  const html = await page.text();
  assert.equal(page.status, 200, `authorize did not show the consent page: ${html}`);
  const cookie = page.headers.getSetCookie().find((c) => c.startsWith("__Host-grm-consent="));
  assert.ok(cookie, "the consent page sets its CSRF cookie");
  const approved = await fetch(`${base}/oauth/consent`, {
    method: "POST",
    redirect: "manual",
    signal: bounded(),
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      cookie: cookie.split(";")[0],
    },
    body: new URLSearchParams({
      handle: hidden(html, "handle"),
      csrf: hidden(html, "csrf"),
      decision: "approve",
    }),
  });
  assert.equal(approved.status, 303, `consent: ${await approved.text()}`);
  const github = location(approved, "consent");
  const atGithub = await fetch(`${github}&auto_approve=${encodeURIComponent(login)}`, {
    redirect: "manual",
    signal: bounded(),
  });
  assert.equal(atGithub.status, 302, `GitHub's authorize page: ${await atGithub.text()}`);
  const callback = location(atGithub, "GitHub");
  assert.ok(callback.startsWith(`${base}/oauth/callback?`), `GitHub sent us to ${callback}`);
  const back = await fetch(callback, { redirect: "manual", signal: bounded() });
  assert.equal(back.status, 303, `our callback: ${await back.text()}`);
  return { consentPage: html, redirectedTo: location(back, "callback") };
}

/** POST /oauth/token with `form`: [status, body]. */
export async function tokenRequest(base, form) {
  const response = await fetch(`${base}/oauth/token`, {
    signal: bounded(),
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
  assert.equal(response.headers.get("cache-control"), "no-store");
  return [response.status, await response.json()];
}

/**
 * Fails when the server's log holds any of `secrets` (their last 16 characters, as
 * oauth.rs checks), the GitHub client secret or the sealing key.
 */
export function assertLogHasNone(log, secrets) {
  for (const secret of [...secrets, GITHUB_APP.secret, OAUTH_KEY]) {
    assert.ok(secret && secret.length >= 8, "a secret to look for");
    assert.ok(
      !log.includes(secret.slice(-16)),
      `the server log contains a secret (${secret.slice(0, 10)}…)`,
    );
  }
}
