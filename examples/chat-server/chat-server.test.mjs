// The chat server in front of the real github-review-mcp and the fake GitHub:
// two users at once through one shared MCP connection, each answered with
// their own login and their own private data, every GitHub request made with
// the right user's token, and no token or LLM key anywhere it must not be.
//
//   cd examples/chat-server && npm ci && npm test
//
// Needs target/debug/github-review-mcp and target/debug/github-double (cargo
// build --bins at the top of the workspace), or GITHUB_REVIEW_MCP_BIN and
// GITHUB_DOUBLE_BIN. Every child is started here and killed on exit.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

import {
  ChatError,
  handleChat,
  parseChatRequest,
  parseMcpUrl,
  redact,
  sharedMcp,
  userToken,
} from "./chat-server.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const REPO = fileURLToPath(new URL("../../", import.meta.url));
const SERVER_BIN = process.env.GITHUB_REVIEW_MCP_BIN ?? `${REPO}target/debug/github-review-mcp`;
const DOUBLE_BIN = process.env.GITHUB_DOUBLE_BIN ?? `${REPO}target/debug/github-double`;
const SEED = `${REPO}crates/github-review-mcp/tests/fixtures/seed.json`;

const seed = JSON.parse(readFileSync(SEED, "utf8"));
/** @param {string} login */
const tokenOf = (login) => seed.users.find((u) => u.login === login).tokens[0];
const ALL_TOKENS = seed.users.flatMap((u) => u.tokens);

// What each user can read that the other cannot (seed.json): their own private repo.
const USERS = {
  alice: { token: tokenOf("alice"), pr: "alice/secret-app#1", marker: "alice-only-marker" },
  bob: { token: tokenOf("bob"), pr: "bob/hidden#1", marker: "bob-only-marker" },
};
// The chat server's own secrets: a key for its model, and a GitHub token of
// its own (review-bot's), the one the known mistake would send instead.
const LLM_API_KEY = "sk-llm-SECRET-0123456789abcdefDO-NOT-SEND";
const CHAT_OWN_GITHUB_TOKEN = tokenOf("review-bot");
const SECRETS = [...ALL_TOKENS, LLM_API_KEY];

const ROUNDS = 4;
const STEP_MS = 20_000;

/** The fake GitHub's fingerprint of a token: 8 hex of its SHA-256. */
const doubleFp = (/** @type {string} */ token) => createHash("sha256").update(token).digest("hex").slice(0, 8);

// ---------------------------------------------------------------------------
// Children, bounded waits.

/** @type {import("node:child_process").ChildProcess[]} */
const children = [];
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

/**
 * Starts a child that keeps its stdout and stderr, never inheriting them.
 * @param {string} command @param {string[]} args @param {Record<string, string>} env
 */
function start(command, args, env) {
  const child = spawn(command, args, { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const out = { stdout: "", stderr: "", child };
  child.stdout.on("data", (chunk) => (out.stdout += chunk));
  child.stderr.on("data", (chunk) => (out.stderr += chunk));
  child.on("error", (error) => {
    out.stderr += `could not start ${command}: ${error.message}\n`;
    child.emit("exit", null); // waitFor's listeners fail at once with that message
  });
  return out;
}

/** Resolves with the first match of `pattern` in the child's `stream`, within `ms`. */
function waitFor(proc, stream, pattern, ms, what) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = proc[stream].match(pattern);
      if (m) {
        done();
        resolve(m);
      }
    };
    const exited = (code) => {
      done();
      reject(new Error(`${what} exited (${code}) before ${pattern}:\n${proc.stderr}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: no ${pattern} within ${ms} ms:\n${proc.stdout}\n${proc.stderr}`));
    }, ms);
    const done = () => {
      clearTimeout(timer);
      proc.child[stream].off("data", check);
      proc.child.off("exit", exited);
    };
    proc.child[stream].on("data", check);
    proc.child.once("exit", exited);
    check();
  });
}

/** Stops a child: SIGTERM, SIGKILL after 3 s. */
async function stop(proc) {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.child.once("exit", resolve));
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------
// A recording proxy between the chat server and the MCP server: everything the
// chat server sends upstream (method, headers, body) is kept for the checks.

function recordingProxy(upstream) {
  const target = new URL(upstream);
  /** @type {{ method: string, path: string, headers: http.IncomingHttpHeaders, raw: string, body: string }[]} */
  const requests = [];
  let refuseNextPost = false;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({ method: req.method, path: req.url, headers: req.headers, raw: req.rawHeaders.join("\n"), body });
      if (refuseNextPost && req.method === "POST" && req.headers["mcp-session-id"]) {
        // As a server that forgot the session (a restart) answers.
        refuseNextPost = false;
        res.writeHead(404, { "content-type": "application/json" });
        res.end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"session not found"},"id":null}');
        return;
      }
      const headers = { ...req.headers, host: target.host };
      const up = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on("error", () => res.destroy());
      res.on("close", () => up.destroy());
      up.end(body);
    });
  });
  return {
    requests,
    refuseNextPost: () => (refuseNextPost = true),
    /** @returns {Promise<string>} */
    listen: () => new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}${target.pathname}`))),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** `tools/call` messages among what the proxy saw. */
function toolCalls(requests) {
  const calls = [];
  for (const r of requests) {
    if (r.method !== "POST" || !r.body) continue;
    const parsed = JSON.parse(r.body);
    for (const msg of Array.isArray(parsed) ? parsed : [parsed]) if (msg.method === "tools/call") calls.push(msg);
  }
  return calls;
}

// ---------------------------------------------------------------------------
// Unit: the decisions, no network.

describe("decisions (no network)", () => {
  test("the token is the X-GitHub-Token header, never the browser's Authorization or cookies", () => {
    assert.equal(userToken({ "x-github-token": "ghp_abc" }), "ghp_abc");
    for (const headers of [{}, { "x-github-token": "" }, { authorization: "Bearer ghp_abc", cookie: "token=ghp_abc" }]) {
      assert.throws(() => userToken(headers), (e) => e instanceof ChatError && e.status === 401);
    }
  });

  test("a repeated or malformed token header is 400", () => {
    for (const bad of ["ghp_a, ghp_b", "ghp a", "ghp_\u00e9", "x".repeat(1025)]) {
      assert.throws(() => userToken({ "x-github-token": bad }), (e) => e instanceof ChatError && e.status === 400);
    }
  });

  test("MCP_URL is https, or http on loopback only, and carries no credentials", () => {
    assert.equal(parseMcpUrl("https://mcp.example.com/mcp").host, "mcp.example.com");
    assert.equal(parseMcpUrl("http://127.0.0.1:8000/mcp").port, "8000");
    assert.equal(parseMcpUrl("http://localhost:8000/mcp").hostname, "localhost");
    assert.throws(() => parseMcpUrl("http://mcp.example.com/mcp"), /https/);
    assert.throws(() => parseMcpUrl("https://bot:sk-llm@mcp.example.com/mcp"), /credentials/);
  });

  test("the chat body needs a PR reference", () => {
    assert.deepEqual(parseChatRequest('{"pr":"o/r#1","message":"hi"}'), { pr: "o/r#1", message: "hi" });
    for (const body of ["", "[]", "null", '{"message":"hi"}', '{"pr":7}', '{"pr":"o/r#1","message":{}}']) {
      assert.throws(() => parseChatRequest(body), (e) => e instanceof ChatError && e.status === 400);
    }
  });

  test("redact removes every secret", () => {
    assert.equal(redact("a ghp_x b sk-y ghp_x", ["ghp_x", "sk-y", ""]), "a [redacted] b [redacted] [redacted]");
  });

  test("an MCP error is 502 with its message, and any secret in it is redacted", async () => {
    const calls = [];
    const mcp = {
      async callTool(name, args, token, requestId) {
        calls.push({ name, token, requestId });
        throw new Error(`upstream echoed ${token} and ${LLM_API_KEY}`);
      },
      async close() {},
    };
    const deps = { mcp, log: () => {}, secrets: [LLM_API_KEY], fingerprint: () => "00000000" };
    const err = await handleChat({ "x-github-token": "ghp_userTOKEN" }, '{"pr":"o/r#1"}', deps, "chat-1").then(
      () => assert.fail("no error"),
      (e) => e,
    );
    assert.ok(err instanceof ChatError);
    assert.equal(err.status, 502);
    assert.match(err.message, /^github-review-mcp: upstream echoed \[redacted\] and \[redacted\]$/);
    assert.deepEqual(calls.map((c) => [c.token, c.requestId]), [["ghp_userTOKEN", "chat-1"], ["ghp_userTOKEN", "chat-1"]]);
  });

  test("an MCP server that cannot be reached is 502, within the bound", { timeout: STEP_MS }, async () => {
    const closed = http.createServer();
    await new Promise((r) => closed.listen(0, "127.0.0.1", r));
    const port = closed.address().port;
    await new Promise((r) => closed.close(r));
    const mcp = sharedMcp(new URL(`http://127.0.0.1:${port}/mcp`));
    const deps = { mcp, log: () => {}, secrets: [], fingerprint: () => "00000000" };
    await assert.rejects(
      handleChat({ "x-github-token": USERS.alice.token }, '{"pr":"o/r#1"}', deps, "chat-2"),
      (e) => e instanceof ChatError && e.status === 502 && /^github-review-mcp: /.test(e.message) && !e.message.includes(USERS.alice.token),
    );
    await mcp.close();
  });
});

// ---------------------------------------------------------------------------
// End to end: fake GitHub, github-review-mcp, recording proxy, chat server.

describe("chat server, two users through one MCP connection", () => {
  const state = mkdtempSync(join(tmpdir(), "chat-server-test-"));
  let double, mcpServer, chat, proxy;
  let doubleUrl, chatUrl;
  /** request id (from X-Request-Id) → the user whose browser request it was */
  const userOfRequest = new Map();

  before(async () => {
    double = start(DOUBLE_BIN, ["--seed", SEED, "--listen", "127.0.0.1:0"], { PATH: process.env.PATH ?? "" });
    [, doubleUrl] = await waitFor(double, "stdout", /^listening on (http:\/\/127\.0\.0\.1:\d+)/m, STEP_MS, "github-double");

    mcpServer = start(SERVER_BIN, ["http", "--listen", "127.0.0.1:0", "--require-client-token"], {
      PATH: process.env.PATH ?? "",
      GITHUB_HOST: doubleUrl,
      XDG_STATE_HOME: state,
      RUST_LOG: "info",
    });
    const [, mcpUrl] = await waitFor(mcpServer, "stderr", /MCP at (http:\/\/127\.0\.0\.1:\d+\/mcp)/, STEP_MS, "github-review-mcp");

    proxy = recordingProxy(mcpUrl);
    const proxied = await proxy.listen();

    chat = start(process.execPath, [join(HERE, "chat-server.mjs")], {
      PATH: process.env.PATH ?? "",
      MCP_URL: proxied,
      PORT: "0",
      LLM_API_KEY,
      GITHUB_TOKEN: CHAT_OWN_GITHUB_TOKEN,
    });
    [, chatUrl] = await waitFor(chat, "stdout", /^chat server at (http:\/\/\S+)/m, STEP_MS, "chat server");
  });

  after(async () => {
    await stop(chat);
    await proxy?.close();
    await stop(mcpServer);
    await stop(double);
    rmSync(state, { recursive: true, force: true });
  });

  /**
   * One browser request: the user's GitHub token in X-GitHub-Token, and the
   * browser's own session credentials beside it, which must go no further.
   */
  async function chatAs(user, pr, headers = {}) {
    const res = await fetch(`${chatUrl}/chat`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer chat-app-session-NOT-A-GITHUB-TOKEN",
        cookie: "session=chat-app-cookie",
        ...(user ? { "x-github-token": USERS[user].token } : {}),
        ...headers,
      },
      body: JSON.stringify({ pr, message: "What is left to fix?" }),
      signal: AbortSignal.timeout(STEP_MS),
    });
    const requestId = res.headers.get("x-request-id");
    if (user && requestId) userOfRequest.set(requestId, user);
    return { status: res.status, body: await res.json(), requestId };
  }

  test("no X-GitHub-Token is 401, a malformed one 400, a large body 413, and none reaches the MCP server", { timeout: STEP_MS }, async () => {
    const before = toolCalls(proxy.requests).length;
    const { status, body } = await chatAs(undefined, USERS.alice.pr);
    assert.equal(status, 401);
    assert.match(body.error, /X-GitHub-Token/);
    const malformed = await chatAs(undefined, USERS.alice.pr, { "x-github-token": "ghp with space" });
    assert.equal(malformed.status, 400);
    const res = await fetch(`${chatUrl}/chat`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-github-token": USERS.alice.token },
      body: JSON.stringify({ pr: USERS.alice.pr, message: "x".repeat(100 * 1024) }),
      signal: AbortSignal.timeout(STEP_MS),
    });
    assert.equal(res.status, 413);
    assert.equal(toolCalls(proxy.requests).length, before);
  });

  test("two users at once, several rounds: each gets their own login and only their own data", { timeout: 4 * STEP_MS }, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      // Interleaved, the order flipped every round, two requests per user in flight.
      const order = round % 2 === 0 ? ["alice", "bob", "alice", "bob"] : ["bob", "alice", "bob", "alice"];
      const answers = await Promise.all(order.map((user) => chatAs(user, USERS[user].pr).then((a) => ({ user, ...a }))));
      for (const { user, status, body } of answers) {
        const other = user === "alice" ? "bob" : "alice";
        assert.equal(status, 200, `round ${round}, ${user}: ${JSON.stringify(body)}`);
        assert.equal(body.login, user, `round ${round}: ${user} was answered as ${body.login}`);
        assert.ok(body.text.includes(USERS[user].marker), `round ${round}: ${user}'s own marker missing`);
        assert.ok(!body.text.includes(USERS[other].marker), `round ${round}: ${user} got ${other}'s marker`);
      }
    }
  });

  test("each is refused the other's private PR: 502 with the server's message, no data, no token", { timeout: STEP_MS }, async () => {
    const [a, b] = await Promise.all([chatAs("alice", USERS.bob.pr), chatAs("bob", USERS.alice.pr)]);
    for (const [user, answer, other] of [["alice", a, "bob"], ["bob", b, "alice"]]) {
      assert.equal(answer.status, 502, `${user}: ${JSON.stringify(answer.body)}`);
      assert.match(answer.body.error, /not found/);
      const text = JSON.stringify(answer.body);
      assert.ok(!text.includes(USERS[other].marker));
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `${user}'s error carries a secret`);
    }
  });

  test("a lost MCP session: the shared connection starts a new one and the user is still answered", { timeout: STEP_MS }, async () => {
    const initializes = () => proxy.requests.filter((r) => r.body.includes('"method":"initialize"')).length;
    const before = initializes();
    proxy.refuseNextPost();
    const { status, body } = await chatAs("bob", USERS.bob.pr);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.login, "bob");
    assert.equal(initializes(), before + 1);
  });

  test("every tools/call carried the token of the browser request it serves, in _meta only", () => {
    const calls = toolCalls(proxy.requests);
    // 2 per answered request: ROUNDS x 4, the 2 refusals, the lost session (one retried).
    assert.ok(calls.length >= ROUNDS * 4 * 2 + 2 * 2 + 2, `only ${calls.length} tools/call`);
    for (const call of calls) {
      const requestId = call.params._meta?.requestId;
      const user = userOfRequest.get(requestId);
      assert.ok(user, `tools/call with an unknown request id ${requestId}`);
      assert.equal(call.params._meta.token, USERS[user].token, `${requestId} (${user}) sent another token`);
    }
    const served = new Set(calls.map((c) => c.params._meta.requestId));
    assert.equal(served.size, userOfRequest.size, "a browser request made no tool call");
  });

  test("no request to the MCP server carried the LLM key, the chat server's own token or any credential header", () => {
    assert.ok(proxy.requests.length > 0);
    for (const r of proxy.requests) {
      for (const name of ["authorization", "x-github-token", "cookie", "proxy-authorization"]) {
        assert.equal(r.headers[name], undefined, `${r.method} ${r.path} carried ${name}`);
      }
      for (const secret of [LLM_API_KEY, CHAT_OWN_GITHUB_TOKEN, "sk-llm", "chat-app-session", "chat-app-cookie"]) {
        assert.ok(!r.raw.includes(secret) && !r.body.includes(secret), `${r.method} ${r.path} carried ${secret.slice(0, 6)}...`);
      }
    }
  });

  test("GitHub saw each user's own token, and never the chat server's", { timeout: STEP_MS }, async () => {
    const res = await fetch(`${doubleUrl}/_double/requests`, { signal: AbortSignal.timeout(STEP_MS) });
    const entries = await res.json();
    const userOfFp = new Map(Object.entries(USERS).map(([login, u]) => [doubleFp(u.token), login]));
    const byUser = { alice: [], bob: [] };
    for (const e of entries) {
      const owner = userOfFp.get(e.token_fingerprint);
      assert.ok(owner, `${e.method} ${e.path} made with a token of neither user (${e.token_fingerprint}, ${e.user})`);
      assert.equal(e.user, owner, `${e.method} ${e.path}: token of ${owner} but seen as ${e.user}`);
      byUser[owner].push(e);
    }
    // Each answered or refused fetch is at least one GraphQL ReviewThreads,
    // each whoami one GET /user, all with the asker's own token.
    const asked = { alice: ROUNDS * 2 + 1, bob: ROUNDS * 2 + 1 + 1 };
    for (const [login, list] of Object.entries(byUser)) {
      const threads = list.filter((e) => e.graphql_operation === "ReviewThreads").length;
      const whoami = list.filter((e) => e.path.endsWith("/user")).length;
      assert.ok(threads >= asked[login], `${login}: ${threads} ReviewThreads requests, expected ${asked[login]}+`);
      assert.ok(whoami >= asked[login], `${login}: ${whoami} GET /user, expected ${asked[login]}+`);
    }
  });

  test("the MCP server resolved each call from _meta, one fingerprint per user", () => {
    const fps = { alice: new Set(), bob: new Set() };
    let spans = 0;
    for (const m of mcpServer.stderr.matchAll(/tool_call\{([^}]*)\}/g)) {
      const fields = Object.fromEntries([...m[1].matchAll(/(\w+)=("[^"]*"|\S+)/g)].map(([, k, v]) => [k, v.replace(/^"|"$/g, "")]));
      const user = userOfRequest.get(fields.request_id);
      if (!user) continue;
      spans++;
      assert.equal(fields.token_source, "meta", `${fields.request_id}: token from ${fields.token_source}`);
      fps[user].add(fields.token_fp);
    }
    assert.ok(spans > 0, `no tool_call log line with a chat request id:\n${mcpServer.stderr.slice(-2000)}`);
    assert.equal(fps.alice.size, 1, `alice's calls ran under ${[...fps.alice]}`);
    assert.equal(fps.bob.size, 1, `bob's calls ran under ${[...fps.bob]}`);
    assert.notDeepEqual([...fps.alice], [...fps.bob]);
  });

  test("no token and no LLM key in the chat server's or the MCP server's output", () => {
    // The logs are there (so the search below means something)...
    assert.match(chat.stderr, /chat request_id=chat-[0-9a-f]{8} method=POST path=\/chat user_fp=[0-9a-f]{8} status=200/);
    assert.match(mcpServer.stderr, /token_fp=/);
    // ...and hold no secret, whole or in part.
    const outputs = { "chat stdout": chat.stdout, "chat stderr": chat.stderr, "mcp stdout": mcpServer.stdout, "mcp stderr": mcpServer.stderr };
    for (const [name, text] of Object.entries(outputs)) {
      for (const secret of [...SECRETS, "sk-llm", "chat-app-session", "chat-app-cookie"]) {
        assert.ok(!text.includes(secret), `${name} holds ${secret.slice(0, 6)}...`);
        // A distinctive middle piece of a token leaked in part (cut, quoted).
        if (secret.length >= 30) assert.ok(!text.includes(secret.slice(8, 28)), `${name} holds part of ${secret.slice(0, 6)}...`);
      }
    }
  });
});
