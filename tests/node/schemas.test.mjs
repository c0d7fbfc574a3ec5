// Checks that the tool schemas github-review-mcp publishes are clean for the
// TypeScript MCP SDK and for a strict JSON Schema 2020-12 validator.
//
//   (cd tests/node && npm ci) && cargo build --bins && node --test tests/node/
//
// Binary: target/debug/github-review-mcp, or GITHUB_REVIEW_MCP_BIN.
//
// Why: Client.listTools() compiles every outputSchema with ajv (see
// cacheToolMetadata in @modelcontextprotocol/sdk/dist/esm/client/index.js).
// That ajv runs with strict: false, so a format it does not know (schemars'
// "uint64", "uint32", "int64", "double", ...) is not an error but a
// console.warn line, `unknown format "uint64" ignored in schema at path ...`,
// printed in the user's editor/agent every time the tool list is fetched.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const SNAPSHOT = `${REPO}crates/github-review-mcp/tests/snapshots/tools.json`;
const SERVER_BIN =
  process.env.GITHUB_REVIEW_MCP_BIN ?? `${REPO}target/debug/github-review-mcp`;

// Lines that look like ajv's schema complaints (unknown format, strict mode).
const SCHEMA_WARNING = /format|schema|strict mode/i;

/**
 * Compiles one schema with a fresh strict Ajv2020 (standard formats known
 * through ajv-formats) and returns every warning it logged plus the compile
 * error, if any. Strict mode stops at the first problem of a schema.
 */
function strictProblems(schema) {
  const problems = [];
  const record =
    (level) =>
    (...args) =>
      problems.push(`${level}: ${args.map(String).join(" ")}`);
  const ajv = new Ajv2020({
    strict: true,
    validateFormats: true,
    allErrors: true,
    logger: { log: record("log"), warn: record("warn"), error: record("error") },
  });
  addFormats(ajv);
  try {
    // A schema with "$schema": ".../draft/2020-12/schema" or with none at all
    // both compile here: 2020-12 is Ajv2020's default meta-schema.
    ajv.compile(schema);
  } catch (error) {
    problems.push(`compile error: ${error.message}`);
  }
  return problems;
}

/** Asserts every inputSchema/outputSchema of `tools` compiles cleanly. */
function assertStrictSchemas(tools, source) {
  assert.ok(Array.isArray(tools) && tools.length > 0, `${source}: no tools`);
  const failures = [];
  for (const tool of tools) {
    for (const key of ["inputSchema", "outputSchema"]) {
      if (tool[key] === undefined) continue; // outputSchema is optional
      for (const problem of strictProblems(tool[key])) {
        failures.push(`  ${tool.name}.${key}: ${problem}`);
      }
    }
  }
  if (failures.length > 0) {
    assert.fail(
      `${source}: ${failures.length} schema problem(s) under Ajv2020 strict mode:\n` +
        failures.join("\n"),
    );
  }
}

test("snapshot tools.json: schemas compile under Ajv2020 strict mode", () => {
  const tools = JSON.parse(readFileSync(SNAPSHOT, "utf8"));
  assertStrictSchemas(tools, "tests/snapshots/tools.json");
});

describe("live server over stdio (TypeScript SDK)", () => {
  let client;
  let tools;
  let serverStderr = "";
  const printed = []; // everything the SDK printed via console.*

  before(async () => {
    const transport = new StdioClientTransport({
      command: SERVER_BIN,
      args: ["stdio"],
      env: {
        GITHUB_TOKEN: "ghp_aliceAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        // Nothing listens there: listing tools needs no GitHub.
        GITHUB_HOST: "http://127.0.0.1:9",
        RUST_LOG: "warn",
        PATH: process.env.PATH,
      },
      stderr: "pipe", // kept for the failure message instead of cluttering the output
    });
    transport.stderr.on("data", (chunk) => (serverStderr += chunk));

    // Capture console.* while the SDK connects and lists tools. The SDK's ajv
    // uses `console` as its logger and looks the method up at call time, so
    // replacing the methods catches its warnings.
    const saved = { log: console.log, warn: console.warn, error: console.error };
    for (const level of Object.keys(saved)) {
      console[level] = (...args) => printed.push(`console.${level}: ${args.map(String).join(" ")}`);
    }
    try {
      client = new Client({ name: "schemas-test", version: "0.0.0" });
      await client.connect(transport);
      // listTools() compiles each outputSchema (Client.cacheToolMetadata);
      // that compilation is where the format warnings come from.
      ({ tools } = await client.listTools());
      assert.ok(
        client.getToolOutputValidator(tools.find((t) => t.outputSchema)?.name),
        "the SDK did not cache an outputSchema validator: the test no longer exercises its ajv",
      );
    } catch (error) {
      error.message +=
        `\nserver: ${SERVER_BIN} (build it with \`cargo build --bins\` or set GITHUB_REVIEW_MCP_BIN)` +
        `\nserver stderr:\n${serverStderr}`;
      throw error;
    } finally {
      Object.assign(console, saved);
    }
  });

  after(async () => {
    await client?.close(); // closes stdin, then signals the server if it lingers
  });

  test("the SDK prints no schema warnings on connect + listTools", () => {
    const warnings = printed.filter((line) => SCHEMA_WARNING.test(line));
    if (warnings.length > 0) {
      assert.fail(
        `the TypeScript SDK printed ${warnings.length} schema warning(s) for the server's tools:\n` +
          warnings.map((w) => `  ${w}`).join("\n"),
      );
    }
  });

  test("live schemas compile under Ajv2020 strict mode", () => {
    assertStrictSchemas(tools, "tools/list");
  });
});
