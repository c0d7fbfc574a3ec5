// A person signs in with a real browser: Debian's Chromium, driven by playwright-core,
// through our consent page (its __Host- CSRF cookie, SameSite=Strict, on
// http://127.0.0.1, which Chromium counts as a secure context), GitHub's page (the
// double's, where the person picks bob), our callback, and back to the client's
// loopback redirect_uri; the client then redeems the code and calls whoami. And the
// consent page cannot be framed.
//
//   scripts/clients (installs chromium with apt as root) && node --test tests/node/
//
// Browser: /usr/bin/chromium, or CHROMIUM_BIN. Skipped, with the reason, only when it
// is missing and this is not root (root runs scripts/clients, which installs it).
// Screenshots go to a fresh directory under os.tmpdir(), never into the checkout.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { chromium } from "playwright-core";

import {
  assertLogHasNone,
  authorizationUrl,
  pkce,
  register,
  SCOPES,
  startDouble,
  startServer,
  tokenRequest,
} from "./signin.mjs";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const installed = existsSync(CHROMIUM);
const skip =
  !installed &&
  (process.getuid?.() === 0
    ? false // root can install it: a missing browser is a failure, not a skip
    : `${CHROMIUM} is not installed and this is not root: sudo apt-get install chromium (or set CHROMIUM_BIN)`);
const STEP_MS = 15_000; // any one browser step
const TIMEOUT = { timeout: 90_000 }; // a test, and each before/after hook

/** A loopback HTTP server: `handler(req, res)`; { url, close() }. */
async function serve(handler) {
  const server = createServer(handler);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The words of an HTML page, for a failure message. */
function textOf(html) {
  return html.replace(/<style>[\s\S]*?<\/style>/g, "").replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").trim();
}

describe("a person signs in with Chromium", { skip }, () => {
  let browser;
  let double;
  let server;
  before(async () => {
    assert.ok(installed, `${CHROMIUM} is missing: run scripts/clients (as root it installs chromium with apt)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], timeout: 30_000 });
    double = await startDouble();
    server = await startServer(double);
  }, TIMEOUT);
  after(async () => {
    await browser?.close();
    await server?.stop();
    await double?.stop();
  }, TIMEOUT);

  test("consent names the client and scopes, bob approves at GitHub, whoami says bob", TIMEOUT, async (t) => {
    // The client's loopback redirect_uri: records what comes back, as a native app would.
    let delivered;
    const arrived = new Promise((resolve) => (delivered = resolve));
    const app = await serve((req, res) => {
      const url = new URL(req.url, "http://127.0.0.1");
      if (url.pathname === "/callback") delivered(url.searchParams);
      res.writeHead(200, { "content-type": "text/html" }).end("<title>Signed in</title>You can close this tab.");
    });
    const redirectUri = `${app.url}/callback`;
    const context = await browser.newContext();
    try {
      const clientName = "Browser Test Client";
      const clientId = await register(server.base, [redirectUri], clientName);
      const { verifier, challenge } = pkce();
      const state = `state-${Date.now()}`;
      const page = await context.newPage();
      page.setDefaultTimeout(STEP_MS);
      const authorize = authorizationUrl(server.base, {
        clientId, redirectUri, challenge, state, scope: SCOPES.join(" "),
      });

      // Our consent page.
      const shown = await page.goto(authorize);
      assert.equal(shown.status(), 200, await shown.text());
      assert.equal(await page.title(), "Allow access?");
      assert.equal(await page.locator("#client").innerText(), clientName);
      assert.match(await page.locator("#redirect-host").innerText(), /127\.0\.0\.1/);
      const scopes = await page.locator("#scopes").innerText();
      for (const scope of SCOPES) assert.ok(scopes.includes(scope), `#scopes lists ${scope}: ${scopes}`);
      const cookies = await context.cookies(server.base);
      const csrf = cookies.find((c) => c.name === "__Host-grm-consent");
      assert.ok(csrf, `Chromium kept the __Host- consent cookie on http://127.0.0.1: ${JSON.stringify(cookies)}`);
      assert.deepEqual(
        { secure: csrf.secure, httpOnly: csrf.httpOnly, sameSite: csrf.sameSite, path: csrf.path },
        { secure: true, httpOnly: true, sameSite: "Strict", path: "/" },
      );
      const screenshot = join(mkdtempSync(join(tmpdir(), "grm-consent-")), "consent.png");
      await page.screenshot({ path: screenshot, fullPage: true });
      t.diagnostic(`consent page screenshot: ${screenshot}`);

      // Approve: the form posts to /oauth/consent, which sends the browser to GitHub.
      const [consentPost] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${server.base}/oauth/consent`),
        page.click("#approve"),
      ]);
      if (consentPost.status() !== 303) {
        const sent = await consentPost.request().allHeaders();
        assert.fail(
          `Chromium's consent POST was answered ${consentPost.status()}, not 303 to GitHub.\n` +
            `  It sent Origin: ${sent.origin ?? "(none)"}, Cookie: ${sent.cookie ? "__Host-grm-consent=…" : "(none)"}.\n` +
            `  The page said: ${textOf(await consentPost.text())}\n` +
            `  Server log:\n${server.logs().split("\n").filter((l) => l.includes("consent")).join("\n")}`,
        );
      }
      await page.waitForURL((url) => url.href.startsWith(`${double.url}/login/oauth/authorize`));

      // GitHub's page (the double's): pick bob and approve; the rest are redirects.
      await page.selectOption("select#login", "bob");
      await Promise.all([page.waitForURL((url) => url.href.startsWith(redirectUri)), page.click("#approve")]);
      const back = await arrived;
      assert.equal(back.get("state"), state, "the client's state came back");
      assert.equal(back.get("iss"), server.base, "RFC 9207 iss");
      assert.equal(back.get("error"), null);
      const code = back.get("code");
      assert.ok(code, "a code came back");

      // The client redeems the code with its verifier and calls whoami with the token.
      const [status, tokens] = await tokenRequest(server.base, {
        grant_type: "authorization_code",
        code,
        client_id: clientId,
        code_verifier: verifier,
        redirect_uri: redirectUri,
        resource: server.mcpUrl,
      });
      assert.equal(status, 200, JSON.stringify(tokens));
      const mcp = new Client({ name: "browser-test", version: "0.0.0" });
      await mcp.connect(
        new StreamableHTTPClientTransport(new URL(server.mcpUrl), {
          requestInit: { headers: { authorization: `Bearer ${tokens.access_token}` } },
        }),
      );
      try {
        const { structuredContent } = await mcp.callTool({ name: "whoami", arguments: {} });
        assert.deepEqual(
          { login: structuredContent?.login, token_source: structuredContent?.token_source },
          { login: "bob", token_source: "oauth" },
        );
      } finally {
        await mcp.close();
      }
      assertLogHasNone(server.logs(), [tokens.access_token, tokens.refresh_token, code]);
    } finally {
      await context.close();
      await app.close();
    }
  });

  test("the consent page refuses to be framed", TIMEOUT, async () => {
    const clientId = await register(server.base, ["http://127.0.0.1:33420/callback"], "Framed Client");
    const authorize = authorizationUrl(server.base, {
      clientId,
      redirectUri: "http://127.0.0.1:33420/callback",
      challenge: pkce().challenge,
      state: "framed",
    });
    // Another origin's page that frames the consent page, and a frameable page of its own
    // (the control: framing itself works in this harness).
    const attacker = await serve((req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      if (req.url === "/frameable") res.end("<p id=frameable>frameable</p>");
      else
        res.end(
          `<iframe id=consent src="${authorize.replaceAll("&", "&amp;")}"></iframe>` +
            `<iframe id=control src="/frameable"></iframe>`,
        );
    });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(STEP_MS);
      const refusals = [];
      page.on("console", (message) => refusals.push(message.text()));
      const consentAnswered = page.waitForResponse((r) => r.url() === authorize);
      await page.goto(`${attacker.url}/`);
      const answer = await consentAnswered;
      assert.equal(answer.status(), 200, "the server answered the framed request with its page");
      assert.equal(answer.headers()["x-frame-options"], "DENY");
      await page.frameLocator("#control").locator("#frameable").waitFor();
      const consent = await (await page.$("#consent")).contentFrame();
      assert.ok(consent, "the consent iframe has a frame");
      await consent.waitForLoadState().catch(() => {});
      assert.ok(!consent.url().startsWith(server.base), `Chromium showed our page in the frame: ${consent.url()}`);
      // What Chromium put in the frame instead has none of our page.
      assert.equal(await page.frameLocator("#consent").locator("#approve").count(), 0);
      assert.ok(
        refusals.some((text) => /frame-ancestors|X-Frame-Options/i.test(text)),
        `Chromium reported the refusal: ${JSON.stringify(refusals)}`,
      );
    } finally {
      await context.close();
      await attacker.close();
    }
  });
});
