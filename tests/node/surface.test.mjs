// The MCP surface beyond tools, with the TypeScript MCP SDK over Streamable HTTP:
// prompts, resource templates, completions, logging, progress and cancellation. The
// node:test twin of tests/python/test_mcp_surface.py (the Python SDK's view of the
// same surface). Each test gets its own github-double and `github-review-mcp http`,
// and the server reads GitHub (the double) with the caller's own X-GitHub-Token.
//
//   (cd tests/node && npm ci) && cargo build --workspace --bins && node --test tests/node/
//
// Binaries: target/debug/github-review-mcp and target/debug/github-double, or
// GITHUB_REVIEW_MCP_BIN and GITHUB_DOUBLE_BIN.
//
// SDK (1.32.2) calls used: Client.listPrompts/getPrompt/complete/listResourceTemplates/
// readResource/setLoggingLevel, callTool(params, resultSchema, { onprogress, signal }),
// setNotificationHandler(LoggingMessageNotificationSchema, ...). Aborting `signal`
// makes the SDK send notifications/cancelled for the request and reject its promise.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CallToolResultSchema,
  LoggingMessageNotificationSchema,
  McpError,
} from "@modelcontextprotocol/sdk/types.js";

import { startDouble, startServer } from "./procs.mjs";

const ALICE = "ghp_aliceAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const PR7 = "acme/widgets#7";
const BULKY = "acme/bulky#1"; // 400 review threads: 4 pages of 100

const TIMEOUT = { timeout: 60_000 }; // a test, and each before/after hook
const REQUEST_TIMEOUT_MS = 20_000; // any one MCP request (the SDK's own timeout)

/** An initialized SDK client of `server` sending `token` as X-GitHub-Token. */
async function connect(server, token = ALICE) {
  const transport = new StreamableHTTPClientTransport(new URL(server.mcpUrl), {
    requestInit: { headers: { "X-GitHub-Token": token } },
  });
  const client = new Client({ name: "surface-test", version: "0.0.0" });
  try {
    await client.connect(transport);
  } catch (error) {
    error.message += `\nserver stderr:\n${server.logs()}`;
    throw error;
  }
  return client;
}

/** What `promise` rejected with; fails if it resolved. */
async function rejection(promise, what) {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error) => ({ error }),
  );
  if (!("error" in outcome)) {
    assert.fail(`${what} succeeded: ${JSON.stringify(outcome.value)?.slice(0, 300)}`);
  }
  return outcome.error;
}

const graphqlRequests = async (double) =>
  (await double.requests()).filter((entry) => entry.path.endsWith("graphql")).length;

const textOf = (result) =>
  (result.content ?? []).map((c) => (c.type === "text" ? c.text : JSON.stringify(c))).join("\n");

describe("the MCP surface beyond tools (TypeScript SDK over Streamable HTTP)", () => {
  let double;
  let server;
  let clients;

  beforeEach(async () => {
    clients = [];
    double = await startDouble();
    server = await startServer(double);
  }, TIMEOUT);

  afterEach(async () => {
    for (const client of clients ?? []) await client.close().catch(() => {});
    await server?.stop();
    await double?.stop();
    server = undefined;
    double = undefined;
  }, TIMEOUT);

  const session = async (token) => {
    const client = await connect(server, token);
    clients.push(client);
    return client;
  };

  test("prompts are listed and address_review embeds the open threads", TIMEOUT, async () => {
    const client = await session();
    const { prompts } = await client.listPrompts();
    const byName = Object.fromEntries(prompts.map((p) => [p.name, p]));
    assert.deepEqual(
      Object.keys(byName).sort(),
      ["address_review", "review_pull_request", "review_status"],
    );
    const args = byName.address_review.arguments ?? [];
    assert.deepEqual(args.map((a) => a.name), ["pr", "include_resolved"]);
    assert.equal(args[0].required, true, "pr is required");

    const prompt = await client.getPrompt({ name: "address_review", arguments: { pr: PR7 } });
    assert.deepEqual(prompt.messages.map((m) => m.content.type), ["text", "resource"]);
    assert.match(prompt.messages[0].content.text, /resolve_review_thread/);
    const embedded = prompt.messages[1].content.resource;
    assert.equal(embedded.uri, "github-review://acme/widgets/pull/7/threads");
    // The seed's open thread on acme/widgets#7 is in it; the resolved one is not.
    assert.match(embedded.text, /could be one/);
    assert.doesNotMatch(embedded.text, /Export it from the prelude/);

    const status = await client.getPrompt({ name: "review_status", arguments: { pr: PR7 } });
    assert.deepEqual(
      status.messages.filter((m) => m.content.type === "resource").map((m) => m.content.resource.uri),
      [
        "github-review://acme/widgets/pull/7/summary",
        "github-review://acme/widgets/pull/7/checks",
        "github-review://acme/widgets/pull/7/threads",
      ],
    );
    const missingPr = await rejection(
      client.getPrompt({ name: "address_review", arguments: {} }),
      "address_review without pr",
    );
    assert.ok(missingPr instanceof McpError, String(missingPr));
    assert.match(missingPr.message, /pr is required/);
    const unknown = await rejection(
      client.getPrompt({ name: "nope", arguments: { pr: PR7 } }),
      "an unknown prompt",
    );
    assert.ok(unknown instanceof McpError, String(unknown));
    assert.match(unknown.message, /unknown prompt/);
  });

  test("resource templates read with the caller's token; a missing PR is not found", TIMEOUT, async () => {
    const client = await session();
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(
      resourceTemplates.map((t) => t.uriTemplate).sort(),
      ["threads", "threads.json", "summary", "checks"]
        .map((kind) => `github-review://{owner}/{repo}/pull/{number}/${kind}`)
        .sort(),
    );
    const read = await client.readResource({ uri: "github-review://acme/widgets/pull/7/threads" });
    assert.equal(read.contents.length, 1, JSON.stringify(read.contents));
    assert.equal(read.contents[0].uri, "github-review://acme/widgets/pull/7/threads");
    assert.equal(read.contents[0].mimeType, "text/markdown");
    assert.match(read.contents[0].text, /could be one/);

    const missing = await rejection(
      client.readResource({ uri: "github-review://acme/widgets/pull/999/threads" }),
      "reading a missing pull request",
    );
    assert.ok(missing instanceof McpError, `an MCP error, not ${missing}`);
    assert.ok([-32002, -32602].includes(missing.code), `code ${missing.code}: ${missing.message}`);
  });

  test("completion offers the open pull requests of the typed repository", TIMEOUT, async () => {
    const client = await session();
    const done = await client.complete({
      ref: { type: "ref/prompt", name: "address_review" },
      argument: { name: "pr", value: "acme/widgets#" },
    });
    const values = done.completion.values;
    assert.ok(values.includes("acme/widgets#7"), JSON.stringify(values));
    assert.ok(values.includes("acme/widgets#10"), JSON.stringify(values));
    assert.ok(values.every((v) => v.startsWith("acme/widgets#")), JSON.stringify(values));
  });

  test("a long fetch reports progress and logs to the session that asked", TIMEOUT, async () => {
    const client = await session();
    const logs = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      logs.push(notification.params);
    });
    await client.setLoggingLevel("info");
    await client.listTools(); // so callTool checks structuredContent against the outputSchema

    const steps = [];
    const result = await client.callTool(
      { name: "fetch_pr_review_comments", arguments: { pr_url: BULKY, max_output_bytes: 50000000 } },
      CallToolResultSchema,
      {
        timeout: REQUEST_TIMEOUT_MS,
        onprogress: ({ progress, total }) => steps.push({ progress, total }),
      },
    );
    assert.ok(!result.isError, textOf(result));
    assert.equal(result.structuredContent?.returned_threads, 400);
    // One step per GitHub round trip, then the end: more than one step, never going
    // back, ending at 400 of 400.
    const seen = JSON.stringify(steps);
    assert.ok(steps.length >= 3, `at least 3 progress steps: ${seen}`);
    const progress = steps.map((s) => s.progress);
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b), `progress only grows: ${seen}`);
    assert.ok(steps.every((s) => s.total === 400), `every total is 400: ${seen}`);
    assert.equal(steps.at(-1).progress, 400, `ends at 400: ${seen}`);

    const data = logs.map((log) => log.data).filter((d) => d && typeof d === "object");
    assert.ok(
      data.some((d) => d.message === "review threads read" && d.threads === 400),
      `a "review threads read" log with threads: 400: ${JSON.stringify(logs)}`,
    );
    for (const log of logs) {
      assert.ok(!JSON.stringify(log).includes(ALICE), `the token is in a log: ${JSON.stringify(log)}`);
    }
  });

  test("a cancelled fetch stops paging GitHub", TIMEOUT, async () => {
    const client = await session();
    await double.configure({ latency_ms: 250 });
    await double.clearRequests();
    // 40 pages of 10 threads at 250 ms each: about 10 s if nothing stops it.
    const controller = new AbortController();
    const call = client.callTool(
      { name: "fetch_pr_review_comments", arguments: { pr_url: BULKY, per_page: 10 } },
      CallToolResultSchema,
      { signal: controller.signal, timeout: REQUEST_TIMEOUT_MS },
    );
    const settled = rejection(call, "the cancelled call"); // handled from the start
    await sleep(1_200);
    controller.abort("the test cancelled it");
    await settled;
    const atCancel = await graphqlRequests(double);
    await sleep(1_500);
    const later = await graphqlRequests(double);
    assert.ok(atCancel > 0 && atCancel < 40, `graphql requests at the cancel: ${atCancel}`);
    assert.ok(later <= atCancel + 1, `paging went on after the cancel: ${atCancel} -> ${later}`);

    // The session goes on.
    await double.configure({ latency_ms: 0 });
    const started = performance.now();
    const ok = await client.callTool({ name: "whoami", arguments: {} }, CallToolResultSchema, {
      timeout: REQUEST_TIMEOUT_MS,
    });
    assert.ok(!ok.isError, textOf(ok));
    assert.ok(performance.now() - started < 5_000, "whoami answered within 5 s");
    assert.match(server.logs(), /cancelled/, "the server logged the cancellation");
  });
});
