// Signs in to `github-review-mcp http --oauth` with the TypeScript MCP SDK's own OAuth
// client (OAuthClientProvider + StreamableHTTPClientTransport's authProvider), once
// with dynamic client registration and once with a client ID metadata document, then
// calls whoami with the token the SDK got. The browser's part (our consent page,
// GitHub's page, our callback) is done over plain HTTP by signin.mjs.
//
//   (cd tests/node && npm ci) && cargo build --workspace --bins && node --test tests/node/
//
// How the SDK (1.32.2) does it: connect() POSTs initialize, gets our 401, runs auth()
// (client/auth.js): protected resource metadata, authorization server metadata, then
// registration (or the client ID URL when the server advertises
// client_id_metadata_document_supported and the provider has clientMetadataUrl), PKCE,
// and provider.redirectToAuthorization(url); connect() then rejects with
// UnauthorizedError. transport.finishAuth(code) redeems the code; a new connect() sends
// the Bearer. The SDK takes only `code` from the redirect: it does not read `iss`.
//
// Client ID metadata documents: the SDK refuses a clientMetadataUrl that is not https
// (isHttpsUrl in auth.js: InvalidClientMetadataError "clientMetadataUrl must be a
// valid HTTPS URL with a non-root pathname"). So the document is served over https
// from loopback with a certificate of a throwaway CA made by `openssl`, and the
// server is started with SSL_CERT_FILE naming that CA: its document fetcher (reqwest
// with rustls-platform-verifier, roots from rustls-native-certs) trusts what
// SSL_CERT_FILE names. --oauth-test-mode lets it fetch from 127.0.0.1. Needs the
// openssl command (Debian's openssl package).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { assertLogHasNone, SCOPES, signInOverHttp, startDouble, startServer } from "./signin.mjs";

const TIMEOUT = { timeout: 60_000 }; // a test, and each before/after hook

/**
 * An OAuthClientProvider that keeps everything in memory and, asked to send the user
 * to the authorization URL, does the browser's part at once as `login`, keeping the
 * URL it was sent to and the URL the browser ended on.
 */
class TestProvider {
  constructor({ redirectUrl, login, clientMetadataUrl }) {
    this.redirectUrl = redirectUrl;
    this.login = login;
    if (clientMetadataUrl) this.clientMetadataUrl = clientMetadataUrl;
    this.sentState = `state-${randomBytes(8).toString("hex")}`;
    this.saved = { client: undefined, tokens: undefined, verifier: undefined };
    this.authorizationUrl = undefined; // what the SDK asked the browser to open
    this.landedAt = undefined; // where our server sent the browser at the end
    this.consentPage = undefined;
  }

  get clientMetadata() {
    return {
      client_name: "SDK Test Client",
      redirect_uris: [this.redirectUrl],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    };
  }

  state() {
    return this.sentState;
  }
  clientInformation() {
    return this.saved.client;
  }
  saveClientInformation(info) {
    this.saved.client = info;
  }
  tokens() {
    return this.saved.tokens;
  }
  saveTokens(tokens) {
    this.saved.tokens = tokens;
  }
  saveCodeVerifier(verifier) {
    this.saved.verifier = verifier;
  }
  codeVerifier() {
    return this.saved.verifier;
  }
  async redirectToAuthorization(url) {
    this.authorizationUrl = url;
    const { consentPage, redirectedTo } = await signInOverHttp(url.href, this.login);
    this.consentPage = consentPage;
    this.landedAt = new URL(redirectedTo);
  }
}

/** The SDK's fetch for one transport, recording every URL it requests (auth included). */
function recordingFetch() {
  const urls = [];
  const wrapped = (url, init) => {
    urls.push(String(url));
    return fetch(url, init);
  };
  return { urls, fetch: wrapped };
}

/**
 * The whole sign-in through the SDK: connect (401, auth, the browser's part), the
 * callback's code to finishAuth, connect again, whoami. Returns what a test checks.
 */
async function signInWithSdk(server, provider) {
  const recorded = recordingFetch();
  const first = new StreamableHTTPClientTransport(new URL(server.mcpUrl), {
    authProvider: provider,
    fetch: recorded.fetch,
  });
  const client = new Client({ name: "oauth-test", version: "0.0.0" });
  // The first connect ends in UnauthorizedError once the browser was sent to sign in;
  // anything else (a failed step of the browser's part included) is the failure.
  const refused = await client.connect(first).then(() => undefined, (error) => error);
  if (!(refused instanceof UnauthorizedError)) {
    throw refused ?? new assert.AssertionError({ message: "connected without signing in" });
  }
  assert.ok(provider.landedAt, "the SDK sent the browser to the authorization URL");
  const code = provider.landedAt.searchParams.get("code");
  assert.ok(code, `a code came back: ${provider.landedAt}`);
  await first.finishAuth(code);
  await client.close();

  const transport = new StreamableHTTPClientTransport(new URL(server.mcpUrl), {
    authProvider: provider,
    fetch: recorded.fetch,
  });
  const signedIn = new Client({ name: "oauth-test", version: "0.0.0" });
  await signedIn.connect(transport);
  try {
    const result = await signedIn.callTool({ name: "whoami", arguments: {} });
    assert.ok(!result.isError, `whoami failed: ${JSON.stringify(result.content)}`);
    return { code, whoami: result.structuredContent, requested: recorded.urls };
  } finally {
    await signedIn.close();
  }
}

/** What every sign-in must show, whichever way the client identified itself. */
function assertSignedIn(server, provider, { code, whoami }, login) {
  const asked = provider.authorizationUrl;
  assert.equal(`${asked.origin}${asked.pathname}`, `${server.base}/oauth/authorize`);
  assert.equal(asked.searchParams.get("code_challenge_method"), "S256");
  assert.equal(asked.searchParams.get("resource"), server.mcpUrl, "RFC 8707 resource");
  assert.equal(asked.searchParams.get("scope"), SCOPES.join(" "), "the scopes we advertise");
  const landed = provider.landedAt;
  assert.equal(`${landed.origin}${landed.pathname}`, provider.redirectUrl);
  assert.equal(landed.searchParams.get("state"), provider.sentState);
  assert.equal(landed.searchParams.get("iss"), server.base, "RFC 9207 iss");

  const tokens = provider.saved.tokens;
  assert.match(tokens.access_token, /^grm_at_/);
  assert.match(tokens.refresh_token, /^grm_rt_/);
  assert.equal(tokens.token_type, "Bearer");
  assert.equal(tokens.scope, SCOPES.join(" "));
  assert.deepEqual(
    { login: whoami?.login, token_source: whoami?.token_source },
    { login, token_source: "oauth" },
  );
  assertLogHasNone(server.logs(), [tokens.access_token, tokens.refresh_token, code]);
}

describe("the TypeScript SDK signs in with dynamic client registration", () => {
  let double;
  let server;
  before(async () => {
    double = await startDouble();
    server = await startServer(double);
  }, TIMEOUT);
  after(async () => {
    await server?.stop();
    await double?.stop();
  }, TIMEOUT);

  test("registers, signs alice in, and whoami says alice (oauth)", TIMEOUT, async () => {
    const provider = new TestProvider({
      redirectUrl: "http://127.0.0.1:33418/callback", // never contacted: signInOverHttp stops at it
      login: "alice",
    });
    const outcome = await signInWithSdk(server, provider);
    assert.match(provider.saved.client.client_id, /^grm_c_/, "a client id we issued");
    assert.ok(
      outcome.requested.includes(`${server.base}/oauth/register`),
      `the SDK registered: ${outcome.requested.join(" ")}`,
    );
    assert.match(server.logs(), /client registered/, "the server registered it");
    assert.match(provider.consentPage, /id=client>SDK Test Client</, "named as it registered");
    assertSignedIn(server, provider, outcome, "alice");
  });
});

/** A throwaway CA and a certificate for 127.0.0.1 signed by it: { dir, ca, key, cert }. */
function loopbackCertificate() {
  const dir = mkdtempSync(join(tmpdir(), "grm-cimd-tls-"));
  const at = (name) => join(dir, name);
  const openssl = (...args) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  const p256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  try {
    openssl("req", "-x509", ...p256, "-days", "1", "-subj", "/CN=grm node test CA",
      "-keyout", at("ca.key"), "-out", at("ca.pem"),
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
    openssl("req", ...p256, "-subj", "/CN=127.0.0.1", "-keyout", at("leaf.key"), "-out", at("leaf.csr"));
    writeFileSync(
      at("leaf.ext"),
      "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    openssl("x509", "-req", "-in", at("leaf.csr"), "-CA", at("ca.pem"), "-CAkey", at("ca.key"),
      "-CAcreateserial", "-days", "1", "-extfile", at("leaf.ext"), "-out", at("leaf.pem"));
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl could not make the test certificate: ${error.stderr ?? error.message}`);
  }
  return { dir, ca: at("ca.pem"), key: readFileSync(at("leaf.key")), cert: readFileSync(at("leaf.pem")) };
}

describe("the TypeScript SDK signs in with a client ID metadata document", () => {
  const REDIRECT = "http://127.0.0.1:33419/callback";
  let tls;
  let documents; // the https server of the document
  let documentUrl;
  const documentRequests = [];
  let double;
  let server;

  before(async () => {
    tls = loopbackCertificate();
    documents = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      documentRequests.push(`${req.method} ${req.url}`);
      if (req.url !== "/oauth/client.json") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({
        client_id: documentUrl,
        client_name: "SDK Document Client",
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
      }));
    });
    await new Promise((resolve) => documents.listen(0, "127.0.0.1", resolve));
    documentUrl = `https://127.0.0.1:${documents.address().port}/oauth/client.json`;
    double = await startDouble();
    // The document fetcher trusts the throwaway CA (and only it) through SSL_CERT_FILE.
    server = await startServer(double, { testMode: true, env: { SSL_CERT_FILE: tls.ca } });
  }, TIMEOUT);
  after(async () => {
    await server?.stop();
    await double?.stop();
    documents?.closeAllConnections();
    await new Promise((resolve) => (documents ? documents.close(resolve) : resolve()));
    if (tls) rmSync(tls.dir, { recursive: true, force: true });
  }, TIMEOUT);

  test("uses the document's URL as client_id, never registers, and whoami says dave", TIMEOUT, async () => {
    const provider = new TestProvider({ redirectUrl: REDIRECT, login: "dave", clientMetadataUrl: documentUrl });
    const outcome = await signInWithSdk(server, provider);
    assert.equal(provider.saved.client.client_id, documentUrl, "the client ID is the document's URL");
    assert.equal(provider.authorizationUrl.searchParams.get("client_id"), documentUrl);
    assert.ok(
      !outcome.requested.some((url) => url.includes("/oauth/register")),
      `the SDK registered although the server takes client ID documents: ${outcome.requested.join(" ")}`,
    );
    assert.ok(
      documentRequests.includes("GET /oauth/client.json"),
      `the server fetched the client's document (requests: ${documentRequests.join(", ") || "none"})`,
    );
    assert.match(server.logs(), /client metadata document fetched/);
    assert.doesNotMatch(server.logs(), /client registered/, "nothing was registered on the server");
    // The consent page names the client as its document does, with the document's
    // host (the SDK's own metadata, which nobody was sent, says "SDK Test Client").
    assert.match(provider.consentPage, /id=client>SDK Document Client \(from 127\.0\.0\.1\)</);
    assertSignedIn(server, provider, outcome, "dave");
  });
});
