// @ts-check
/**
 * A chat server's half of github-review-mcp's per-call tokens.
 *
 * Many browser users, one MCP connection: every `POST /chat` brings the user's
 * GitHub token in its `X-GitHub-Token` header, and every `tools/call` this
 * server makes for that user carries exactly that token in `params._meta.token`.
 * The shared connection itself carries no credential at all: no
 * `Authorization`, no `X-GitHub-Token`, none of this server's own keys.
 *
 *   MCP_URL=http://127.0.0.1:8000/mcp LLM_API_KEY=sk-... node chat-server.mjs
 *
 * Environment: MCP_URL (required; https, or http on loopback), HOST
 * (127.0.0.1), PORT (3000; 0 picks a free port), LLM_API_KEY (this server's
 * own key for its model: used for nothing but redaction here, and never sent
 * to the MCP server). The first stdout line is `chat server at http://HOST:PORT`.
 */

import { createHmac, randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import { pathToFileURL } from "node:url";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";

/** Largest `POST /chat` body read. */
const MAX_BODY_BYTES = 64 * 1024;
/** One tool call, end to end; the MCP server's own `--call-timeout` is 60 s. */
const TOOL_TIMEOUT_MS = 65_000;
/** A GitHub token as a header value: visible ASCII, no spaces, bounded. */
const TOKEN_SHAPE = /^[\x21-\x7e]{1,1024}$/;
/** A PR reference: `owner/repo#N` or a PR URL, as the MCP server parses it. */
const MAX_PR_CHARS = 512;

/**
 * @typedef {{ mcpUrl: URL, host: string, port: number, llmApiKey: string | undefined }} Config
 * @typedef {{ status: number, body: Record<string, unknown>, headers?: Record<string, string> }} Reply
 * @typedef {(line: string) => void} Log
 * @typedef {{ text: string, structured: Record<string, unknown> | undefined, isError: boolean }} ToolText
 * @typedef {{ callTool(name: string, args: Record<string, unknown>, token: string, requestId: string): Promise<ToolText>, close(): Promise<void> }} Mcp
 * @typedef {{ mcp: Mcp, log: Log, secrets: readonly string[], fingerprint: (token: string) => string }} Deps
 */

/** A failure to show the browser: its HTTP status and a message with no secret in it. */
export class ChatError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---------------------------------------------------------------------------
// Decisions: pure functions, no I/O.

/**
 * Reads the configuration from an environment. The MCP URL must be https, or
 * plain http only on a loopback host: the tokens travel in its request bodies.
 * @param {NodeJS.ProcessEnv} env
 * @returns {Config}
 */
export function readConfig(env) {
  if (!env.MCP_URL) throw new Error("MCP_URL is not set (e.g. http://127.0.0.1:8000/mcp)");
  const mcpUrl = parseMcpUrl(env.MCP_URL);
  const port = Number(env.PORT ?? "3000");
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT is not a port: ${env.PORT}`);
  return { mcpUrl, host: env.HOST ?? "127.0.0.1", port, llmApiKey: env.LLM_API_KEY || undefined };
}

/** @param {string} raw @returns {URL} */
export function parseMcpUrl(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new Error("MCP_URL is not a URL");
  }
  if (url.username || url.password) throw new Error("MCP_URL must not carry credentials");
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) || /^127\./.test(url.hostname);
  if (url.protocol === "https:" || (url.protocol === "http:" && loopback)) return url;
  throw new Error("MCP_URL must be https (plain http only on a loopback host): it carries users' tokens");
}

/**
 * The user's GitHub token from the browser request's `X-GitHub-Token` header,
 * and nothing else: the browser's `Authorization` and cookies belong to this
 * chat server's own sign-in and are never a GitHub token.
 * @param {http.IncomingHttpHeaders} headers
 * @returns {string}
 */
export function userToken(headers) {
  const raw = headers["x-github-token"];
  if (raw === undefined || raw === "") {
    throw new ChatError(401, "no GitHub token: send yours in the X-GitHub-Token header");
  }
  // Node joins repeated headers with ", ", which the shape refuses.
  if (typeof raw !== "string" || !TOKEN_SHAPE.test(raw)) {
    throw new ChatError(400, "malformed X-GitHub-Token header");
  }
  return raw;
}

/**
 * `{ "pr": "owner/repo#1", "message": "..." }` from the request body.
 * @param {string} body
 * @returns {{ pr: string, message: string }}
 */
export function parseChatRequest(body) {
  let value;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ChatError(400, "the body is not JSON");
  }
  if (typeof value !== "object" || value === null) throw new ChatError(400, "the body is not a JSON object");
  const { pr, message = "" } = value;
  if (typeof pr !== "string" || pr.length === 0 || pr.length > MAX_PR_CHARS) {
    throw new ChatError(400, '"pr" must be a PR reference such as "owner/repo#1"');
  }
  if (typeof message !== "string") throw new ChatError(400, '"message" must be a string');
  return { pr, message };
}

/**
 * Replaces every secret in `text` by `[redacted]`: the MCP server never echoes
 * a token, and this keeps it so should any message along the way ever do.
 * @param {string} text
 * @param {readonly string[]} secrets
 */
export function redact(text, secrets) {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join("[redacted]");
  return out;
}

/**
 * A short keyed fingerprint of a token for the logs: 8 hex digits of an
 * HMAC-SHA256 under a key of this process, so it tells requests of one token
 * apart without letting a log reader test guesses of a token against it.
 * @param {Buffer} key
 * @returns {(token: string) => string}
 */
export function fingerprinter(key) {
  return (token) => createHmac("sha256", key).update(token).digest("hex").slice(0, 8);
}

/**
 * The text of a tool result, and whether the tool reported an error.
 * @param {any} result a `tools/call` result
 * @returns {ToolText}
 */
export function toolText(result) {
  const text = (result?.content ?? [])
    .filter((/** @type {any} */ c) => c?.type === "text" && typeof c.text === "string")
    .map((/** @type {any} */ c) => c.text)
    .join("\n");
  return { text, structured: result?.structuredContent, isError: result?.isError === true };
}

// ---------------------------------------------------------------------------
// The one shared MCP connection.

/**
 * One MCP client for every user, connected on first use and again after the
 * server forgot its session (a restart, an expiry). It holds no credential:
 * each call's token goes in that call's `_meta.token` and nowhere else.
 * @param {URL} url
 * @returns {Mcp}
 */
export function sharedMcp(url) {
  /** @type {Promise<Client> | undefined} */
  let current;

  async function connect() {
    const client = new Client({ name: "chat-server-example", version: "0.1.0" });
    const transport = new StreamableHTTPClientTransport(url, {
      // No requestInit headers and no authProvider: nothing of this server's
      // own (its Authorization, its LLM key) goes along. Redirects that leave
      // the origin are not followed, so no body with a token goes elsewhere.
      redirectPolicy: "same-origin",
    });
    await client.connect(transport);
    return client;
  }

  /** @returns {Promise<Client>} */
  function client() {
    if (!current) {
      const attempt = connect();
      current = attempt;
      attempt.catch(() => {
        if (current === attempt) current = undefined; // the next request tries again
      });
    }
    return current;
  }

  /**
   * Drops `attempt` (not a newer connection another request already made).
   * Closed only once the calls still in flight on it have had their time.
   */
  function forget(/** @type {Promise<Client>} */ attempt) {
    if (current !== attempt) return;
    current = undefined;
    setTimeout(() => attempt.then((c) => c.close()).catch(() => {}), TOOL_TIMEOUT_MS).unref();
  }

  return {
    async callTool(name, args, token, requestId) {
      for (let attempt = 0; ; attempt++) {
        const connection = client();
        try {
          const result = await (await connection).callTool(
            { name, arguments: args, _meta: { token, requestId } },
            undefined,
            { timeout: TOOL_TIMEOUT_MS },
          );
          return toolText(result);
        } catch (error) {
          // 404: the server no longer knows our session. The tools this
          // example calls are reads, so one more try on a new session is safe.
          if (error instanceof StreamableHTTPError && error.code === 404) {
            forget(connection);
            if (attempt === 0) continue;
          }
          throw error;
        }
      }
    },
    async close() {
      const connection = current;
      current = undefined;
      if (connection) await connection.then((c) => c.close()).catch(() => {});
    },
  };
}

// ---------------------------------------------------------------------------
// Handlers: plain functions of the request and explicit dependencies.

/**
 * `POST /chat`: who the user is and the PR's review threads, both read with
 * this user's token.
 * @param {http.IncomingHttpHeaders} headers
 * @param {string} body
 * @param {Deps} deps
 * @param {string} requestId
 * @returns {Promise<Reply>}
 */
export async function handleChat(headers, body, deps, requestId) {
  const token = userToken(headers);
  const { pr } = parseChatRequest(body);
  const secrets = [token, ...deps.secrets];
  const call = async (/** @type {string} */ name, /** @type {Record<string, unknown>} */ args) => {
    let out;
    try {
      out = await deps.mcp.callTool(name, args, token, requestId);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ChatError(502, redact(`github-review-mcp: ${message}`, secrets));
    }
    if (out.isError) throw new ChatError(502, redact(`${name}: ${out.text}`, secrets));
    return out;
  };
  const [who, review] = await Promise.all([
    call("whoami", {}),
    call("fetch_pr_review_comments", { pr_url: pr }),
  ]);
  const login = typeof who.structured?.login === "string" ? who.structured.login : undefined;
  // A real chat server would now send the user's message and `review.text` to
  // its model, with LLM_API_KEY, to the model's own host. This example answers
  // with the tool's text.
  return { status: 200, body: { login, pr, text: redact(review.text, secrets) } };
}

/**
 * The HTTP service: `POST /chat`, `GET /healthz`.
 * @param {Deps} deps
 * @returns {http.Server}
 */
export function createChatServer(deps) {
  const server = http.createServer((req, res) => {
    const started = performance.now();
    const requestId = `chat-${randomUUID().slice(0, 8)}`;
    /** @type {string | undefined} */
    let fp;
    const send = (/** @type {Reply} */ reply) => {
      const payload = JSON.stringify(reply.body);
      res.writeHead(reply.status, {
        "content-type": "application/json",
        "cache-control": "no-store",
        "x-request-id": requestId,
        ...reply.headers,
      });
      res.end(payload);
      // What is logged: ids, the outcome, a keyed fingerprint. Never a
      // token, the LLM key, the message or the answer.
      deps.log(
        `chat request_id=${requestId} method=${req.method} path=${req.url?.split("?")[0]} ` +
          `user_fp=${fp ?? "-"} status=${reply.status} ms=${(performance.now() - started).toFixed(1)}`,
      );
    };
    const fail = (/** @type {unknown} */ error) => {
      if (error instanceof ChatError) {
        const headers = error.status === 413 ? { connection: "close" } : undefined;
        return send({ status: error.status, body: { error: error.message }, headers });
      }
      deps.log(`chat request_id=${requestId} internal error: ${error instanceof Error ? error.name : typeof error}`);
      return send({ status: 500, body: { error: "internal error" } });
    };

    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz" && req.method === "GET") return send({ status: 200, body: { status: "ok" } });
    if (path !== "/chat") return send({ status: 404, body: { error: "not found" } });
    if (req.method !== "POST") return send({ status: 405, body: { error: "use POST" }, headers: { allow: "POST" } });

    readBody(req, MAX_BODY_BYTES)
      .then((body) => {
        const token = req.headers["x-github-token"];
        if (typeof token === "string" && TOKEN_SHAPE.test(token)) fp = deps.fingerprint(token);
        return handleChat(req.headers, body, deps, requestId);
      })
      .then(send, fail);
  });
  server.requestTimeout = 120_000;
  server.headersTimeout = 10_000;
  return server;
}

/**
 * The body as text, at most `limit` bytes (413 past it, before reading on
 * when the request says its length).
 * @param {http.IncomingMessage} req
 * @param {number} limit
 * @returns {Promise<string>}
 */
function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new ChatError(413, `the body is larger than ${limit} bytes`);
    if (Number(req.headers["content-length"] ?? 0) > limit) return reject(tooLarge());
    /** @type {Buffer[]} */
    const chunks = [];
    let size = 0;
    req.on("data", (/** @type {Buffer} */ chunk) => {
      size += chunk.length;
      if (size > limit) reject(tooLarge()); // the rest is ignored; the answer closes the connection
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

// ---------------------------------------------------------------------------
// The binary's edge.

async function main() {
  const config = readConfig(process.env);
  const mcp = sharedMcp(config.mcpUrl);
  /** @type {Deps} */
  const deps = {
    mcp,
    log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
    secrets: config.llmApiKey ? [config.llmApiKey] : [],
    fingerprint: fingerprinter(randomBytes(32)),
  };
  const server = createChatServer(deps);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve(undefined));
  });
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  process.stdout.write(`chat server at http://${host}:${address.port}\n`);
  deps.log(`chat MCP at ${config.mcpUrl.origin}${config.mcpUrl.pathname}, one shared connection`);

  const stop = () => {
    server.close();
    server.closeAllConnections();
    mcp.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    process.stderr.write(`chat server: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
