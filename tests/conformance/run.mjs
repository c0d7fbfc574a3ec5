// Runs the MCP conformance suite's authorization-server scenarios against our issuer
// and plays the person at the browser: the suite's authorization-code-grant scenario
// prints an authorization URL ("Access the following URL in your browser ...") and
// waits for http://127.0.0.1:<port>/callback; this driver registers that redirect URI
// first (the suite needs a --client-id), then walks the URL through our consent page,
// GitHub's (the double's, approved as `--login`) and our callback, and delivers the
// redirect to the suite. Then it reads the suite's checks.json files and prints one
// line per check. Exit 0 only when every scenario ran and no check failed.
//
//   node run.mjs --issuer http://127.0.0.1:P --server-log FILE --out DIR [--login alice]
//
// Run by scripts/conformance, which installs this package (Node 22 and the suite),
// starts the double and the server, and runs this with that Node.

import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

import { assertLogHasNone, freePort, register, signInOverHttp } from "../node/signin.mjs";

const SUITE = new URL("./node_modules/@modelcontextprotocol/conformance/dist/index.js", import.meta.url).pathname;
// Every authorization-server scenario of the pinned suite (`conformance list --authorization`).
const SCENARIOS = ["authorization-server-metadata-endpoint", "authorization-code-grant"];
const RUN_TIMEOUT_MS = 120_000; // the suite itself waits 5 minutes for a callback

const { values: opts } = parseArgs({
  options: {
    issuer: { type: "string" },
    "server-log": { type: "string" },
    out: { type: "string" },
    login: { type: "string", default: "alice" },
  },
});
for (const name of ["issuer", "server-log", "out"]) {
  if (!opts[name]) {
    console.error(`run.mjs: --${name} is required`);
    process.exit(2);
  }
}
if (Number(process.versions.node.split(".")[0]) < 22) {
  console.error(`run.mjs: the suite needs Node 22 or newer (this is ${process.version}); scripts/conformance runs it with tests/conformance/node_modules/node/bin/node`);
  process.exit(2);
}
const issuer = opts.issuer;
const problems = [];
const codes = []; // for the log check

const port = await freePort();
const redirectUri = `http://127.0.0.1:${port}/callback`;
const clientId = await register(issuer, [redirectUri], "MCP conformance suite");
console.log(`conformance: client ${clientId} registered with redirect ${redirectUri}`);

const suite = spawn(
  process.execPath,
  [SUITE, "authorization", "--url", issuer, "--client-id", clientId,
    "--resource", `${issuer}/mcp`, "--port", String(port), "--output-dir", opts.out],
  { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } },
);
process.once("exit", () => suite.kill("SIGKILL"));
const killer = setTimeout(() => {
  problems.push(`the suite did not finish within ${RUN_TIMEOUT_MS / 1000} s`);
  suite.kill("SIGTERM");
}, RUN_TIMEOUT_MS);

/** The person at the browser, for one authorization URL the suite printed. */
async function actAsBrowser(url) {
  try {
    const { redirectedTo } = await signInOverHttp(url, opts.login);
    const back = new URL(redirectedTo);
    if (back.searchParams.get("code")) codes.push(back.searchParams.get("code"));
    console.log(`conformance: signed in as ${opts.login}; delivering the redirect to the suite's callback`);
    const delivered = await fetch(redirectedTo, { redirect: "manual" });
    await delivered.body?.cancel();
  } catch (error) {
    problems.push(`the browser's part failed: ${error.message}`);
    suite.kill("SIGTERM");
  }
}

const pending = [];
for await (const line of createInterface({ input: suite.stdout })) {
  console.log(`  | ${line}`);
  if (line.startsWith(`${issuer}/oauth/authorize?`)) pending.push(actAsBrowser(line.trim()));
}
const exit = await new Promise((resolve) =>
  suite.exitCode !== null || suite.signalCode !== null
    ? resolve(suite.exitCode ?? suite.signalCode)
    : suite.once("exit", (code, signal) => resolve(code ?? signal)),
);
clearTimeout(killer);
await Promise.all(pending);

// One line per check, from the files the suite wrote (-o).
const results = existsSync(opts.out) ? readdirSync(opts.out) : [];
console.log("\nconformance: authorization-server scenarios against", issuer);
let warnings = 0;
for (const scenario of SCENARIOS) {
  const dir = results.find((d) => d.startsWith(`authorization-server-${scenario}-`));
  const file = dir && join(opts.out, dir, "checks.json");
  if (!file || !existsSync(file)) {
    problems.push(`${scenario}: did not finish (no checks.json)`);
    console.log(`  MISSING  ${scenario}`);
    continue;
  }
  const checks = JSON.parse(readFileSync(file, "utf8"));
  for (const check of checks) {
    const why = check.errorMessage ? `: ${check.errorMessage}` : "";
    console.log(`  ${check.status.padEnd(8)} ${scenario} / ${check.id}${why}`);
    if (check.status === "FAILURE") problems.push(`${scenario} / ${check.id}${why}`);
    if (check.status === "WARNING") warnings += 1;
  }
}
if (exit !== 0) problems.push(`the suite exited ${exit}`);
if (codes.length === 0) problems.push("no authorization code came back from the sign-in");
try {
  assertLogHasNone(readFileSync(opts["server-log"], "utf8"), codes);
} catch (error) {
  problems.push(error.message);
}

if (problems.length > 0) {
  console.log(`\nconformance: FAILED\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log(
  `\nconformance: every authorization-server check passed` +
    (warnings > 0 ? ` (${warnings} warning(s) above: advice, not failures)` : ""),
);
