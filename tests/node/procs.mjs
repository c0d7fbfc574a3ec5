// The processes the node:test files start (surface.test.mjs, and through signin.mjs
// oauth.test.mjs, browser.test.mjs and the conformance driver): github-double with the
// test seed and `github-review-mcp http` in front of it, in a clean environment, each
// ended when the test process exits. Node built-ins only, so the conformance driver
// can import it (through signin.mjs) from its own package.
//
// Binaries: target/debug/github-review-mcp and target/debug/github-double, or
// GITHUB_REVIEW_MCP_BIN and GITHUB_DOUBLE_BIN (`cargo build --workspace --bins`).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const SERVER_BIN =
  process.env.GITHUB_REVIEW_MCP_BIN ?? `${REPO}target/debug/github-review-mcp`;
export const DOUBLE_BIN = process.env.GITHUB_DOUBLE_BIN ?? `${REPO}target/debug/github-double`;
export const SEED = `${REPO}crates/github-review-mcp/tests/fixtures/seed.json`;

const START_TIMEOUT_MS = 20_000;
const DOUBLE_API_TIMEOUT_MS = 10_000; // any one request to the double's /_double API
const STATS_TIMEOUT_MS = 15_000; // the double's OAuth stats (a sign-in's request bound)

// Every child started here, so a test that fails half-way leaves nothing running.
const children = new Set();
process.once("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

function track(child) {
  children.add(child);
  child.once("exit", () => children.delete(child));
  child.once("error", () => {}); // a missing binary surfaces as the start error
  return child;
}

/** Ends `child` (SIGTERM, then SIGKILL after 5 s) and waits for it. */
async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

/** A port nothing listens on now (the server's public URL must be known before it starts). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves with the first line of `stream` that `pick` maps to a value; rejects on timeout. */
function firstLine(stream, pick, what, timeoutMs = START_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: stream });
    const timer = setTimeout(() => {
      lines.close();
      reject(new Error(`${what} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    lines.on("line", (line) => {
      const value = pick(line);
      if (value !== undefined) {
        clearTimeout(timer);
        resolve(value);
      }
    });
    lines.once("close", () => {
      clearTimeout(timer);
      reject(new Error(`${what} exited before it was ready`));
    });
  });
}

/** github-double with the test seed, on a port of its own: its request log, config and OAuth stats. */
export async function startDouble() {
  const child = track(
    spawn(DOUBLE_BIN, ["--seed", SEED, "--listen", "127.0.0.1:0"], {
      stdio: ["ignore", "pipe", "ignore"],
    }),
  );
  let url;
  try {
    url = await firstLine(
      child.stdout,
      (line) => line.match(/^listening on (\S+)/)?.[1],
      `github-double (${DOUBLE_BIN}; build it with \`cargo build --workspace --bins\`)`,
    );
  } catch (error) {
    await stop(child);
    throw error;
  }
  child.stdout.resume(); // keep the pipe drained
  const api = async (method, path, body) => {
    const response = await fetch(`${url}${path}`, {
      method,
      signal: AbortSignal.timeout(DOUBLE_API_TIMEOUT_MS),
      ...(body === undefined
        ? {}
        : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
    return response;
  };
  return {
    url,
    /** `GET /_double/oauth/stats`: what the double's OAuth endpoints were asked. */
    async stats() {
      const signal = AbortSignal.timeout(STATS_TIMEOUT_MS);
      return (await fetch(`${url}/_double/oauth/stats`, { signal })).json();
    },
    /** The request log: method, path, user, ... */
    requests: async () => (await api("GET", "/_double/requests")).json(),
    clearRequests: async () => void (await api("DELETE", "/_double/requests")),
    /** `POST /_double/config`: latency and injected faults (a partial update). */
    configure: async (patch) => void (await api("POST", "/_double/config", patch)),
    stop: () => stop(child),
  };
}

/**
 * `github-review-mcp http --listen <listen> --state memory <args>` in front of
 * `double`, in a clean environment (PATH, GITHUB_HOST, XDG_STATE_HOME in a fresh
 * temporary folder, RUST_LOG, then `env`). `listen` defaults to 127.0.0.1:0. Its stderr
 * is kept for `logs()`. Resolves once it logs `MCP at http://…/mcp`, with
 * { mcpUrl, base (mcpUrl without /mcp), logs, stop }.
 */
export async function startServer(double, { args = [], env = {}, rustLog = "info", listen } = {}) {
  const state = mkdtempSync(join(tmpdir(), "grm-node-state-"));
  const argv = ["http", "--listen", listen ?? "127.0.0.1:0", "--state", "memory", ...args];
  const child = track(
    spawn(SERVER_BIN, argv, {
      // Only these: like `env -i`, nothing else is inherited.
      env: {
        PATH: process.env.PATH,
        GITHUB_HOST: double.url,
        XDG_STATE_HOME: state,
        RUST_LOG: rustLog,
        ...env,
      },
      stdio: ["ignore", "ignore", "pipe"],
    }),
  );
  let log = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => (log += chunk));
  let mcpUrl;
  try {
    mcpUrl = await firstLine(
      child.stderr,
      (line) => line.match(/MCP at (http:\/\/\S+\/mcp)/)?.[1],
      `github-review-mcp (${SERVER_BIN}; build it with \`cargo build --workspace --bins\`)`,
    );
  } catch (error) {
    error.message += `\nserver stderr:\n${log}`;
    await stop(child);
    rmSync(state, { recursive: true, force: true });
    throw error;
  }
  return {
    mcpUrl,
    base: mcpUrl.slice(0, -"/mcp".length),
    logs: () => log,
    async stop() {
      await stop(child);
      rmSync(state, { recursive: true, force: true });
    },
  };
}
