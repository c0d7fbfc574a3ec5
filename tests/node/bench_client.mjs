// Benchmark driver: the TypeScript MCP SDK client against a stdio server.
//
//   node tests/node/bench_client.mjs --calls N --warmup W --tool NAME \
//       --args JSON [--server-log PATH] -- PROGRAM [ARGS...]
//
// Connects (timed: startup_ms), lists tools once as editors do, makes W
// untimed then N timed sequential tools/call requests, and prints one JSON
// line on stdout. Each timed call includes the SDK's own checking of
// structuredContent against the tool's outputSchema (ajv, compiled at
// listTools): that is part of what a user of this SDK pays, so it stays on.
// The server inherits this process's environment.

import { closeSync, openSync, readFileSync, readdirSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const SDK_VERSION = JSON.parse(
  readFileSync(
    new URL("./node_modules/@modelcontextprotocol/sdk/package.json", import.meta.url),
    "utf8",
  ),
).version;
const CLK_TCK = 100; // assumed, as `getconf CLK_TCK` says on Linux

function usage(message) {
  console.error(`bench_client.mjs: ${message}`);
  console.error(
    "usage: node bench_client.mjs --calls N --warmup W --tool NAME --args JSON [--server-log PATH] -- PROGRAM [ARGS...]",
  );
  process.exit(2);
}

function parseCli() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        calls: { type: "string", default: "100" },
        warmup: { type: "string", default: "10" },
        tool: { type: "string" },
        args: { type: "string", default: "{}" },
        "server-log": { type: "string" },
      },
      allowPositionals: true, // everything after `--` is the server command
    });
  } catch (error) {
    usage(error.message);
  }
  const { values, positionals } = parsed;
  const calls = Number(values.calls);
  const warmup = Number(values.warmup);
  if (!Number.isInteger(calls) || calls < 1) usage("--calls must be a positive integer");
  if (!Number.isInteger(warmup) || warmup < 0) usage("--warmup must be a non-negative integer");
  if (!values.tool) usage("--tool is required");
  if (positionals.length === 0) usage("missing `-- PROGRAM [ARGS...]`");
  let args;
  try {
    args = JSON.parse(values.args);
  } catch (error) {
    usage(`--args is not JSON: ${error.message}`);
  }
  return { calls, warmup, tool: values.tool, args, serverLog: values["server-log"], command: positionals };
}

/** Fields of /proc/PID/stat after the `(comm)` field: [state, ppid, ...]. */
function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const close = stat.lastIndexOf(")"); // comm may contain spaces and parens
  return {
    comm: stat.slice(stat.indexOf("(") + 1, close),
    rest: stat.slice(close + 2).split(" "),
  };
}

/** The server: our child process that is not a shell. */
function findServerPid(fallback) {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { comm, rest } = statFields(entry);
      if (Number(rest[1]) === process.pid && comm !== "sh") return Number(entry);
    } catch {
      // the process went away while we looked
    }
  }
  return fallback;
}

/** utime + stime of `pid` in ms (fields 14 and 15 of /proc/PID/stat). */
function cpuMs(pid) {
  const { rest } = statFields(pid);
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / CLK_TCK;
}

/** VmHWM (peak resident set) of `pid` in bytes. */
function peakRssBytes(pid) {
  const match = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmHWM:\s+(\d+) kB/m);
  return match ? Number(match[1]) * 1024 : null;
}

function textBytes(result) {
  let total = 0;
  for (const item of result.content ?? []) {
    if (item.type === "text") total += Buffer.byteLength(item.text, "utf8");
  }
  return total;
}

/**
 * Routes console.log/warn/error to stderr (stdout carries only the result
 * line) and keeps the warn/error lines that look like ajv's schema warnings.
 */
function captureConsoleWarnings() {
  const warnings = [];
  for (const level of ["log", "warn", "error"]) {
    console[level] = (...args) => {
      const line = args.map(String).join(" ");
      if (level !== "log" && /format|schema/i.test(line)) warnings.push(line);
      process.stderr.write(`${line}\n`);
    };
  }
  return warnings;
}

async function main() {
  const cli = parseCli();
  const logFd = cli.serverLog === undefined ? null : openSync(cli.serverLog, "w");
  const transport = new StdioClientTransport({
    command: cli.command[0],
    args: cli.command.slice(1),
    env: process.env,
    stderr: logFd ?? "inherit",
  });
  const client = new Client({ name: "bench-client", version: SDK_VERSION });
  const warnings = captureConsoleWarnings();

  const t0 = performance.now();
  await client.connect(transport);
  const startupMs = performance.now() - t0;

  // Editors list tools once; this is also where the SDK compiles the
  // outputSchema validators (and prints ajv's format warnings, if any).
  await client.listTools();

  const params = { name: cli.tool, arguments: cli.args };
  for (let i = 0; i < cli.warmup; i++) await client.callTool(params);

  const serverPid = findServerPid(transport.pid);
  const cpuBefore = cpuMs(serverPid);
  const samples = [];
  const sizes = [];
  let errors = 0;
  let last;
  for (let i = 0; i < cli.calls; i++) {
    const start = performance.now();
    last = await client.callTool(params);
    samples.push(performance.now() - start);
    sizes.push(textBytes(last));
    if (last.isError) errors++;
  }
  const cpuAfter = cpuMs(serverPid);
  const peakRss = peakRssBytes(serverPid);

  process.stdout.write(
    `${JSON.stringify({
      client: "typescript",
      sdk_version: SDK_VERSION,
      startup_ms: startupMs,
      samples_ms: samples,
      errors,
      warnings,
      server_pid: serverPid,
      server_peak_rss_bytes: peakRss,
      server_cpu_ms: cpuAfter - cpuBefore,
      last,
      text_bytes: sizes,
    })}\n`,
  );
  await client.close(); // ends the server's stdin, then SIGTERM if it lingers
  if (logFd !== null) closeSync(logFd);
}

main().catch((error) => {
  process.stderr.write(`bench_client.mjs: ${error?.stack ?? error}\n`);
  process.exit(1);
});
