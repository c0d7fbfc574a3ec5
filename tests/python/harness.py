"""End-to-end harness for the Python MCP SDK tests.

Starts the real `github-double` and `github-review-mcp` binaries on loopback
(ports chosen by the OS) and connects the official Python MCP SDK to the server,
over stdio or Streamable HTTP, the way an agent (Claude Code) or a chat server
would. Mirrors `crates/github-review-mcp/tests/common/mod.rs`.

Binaries: `target/debug/{github-review-mcp,github-double}` (run
`cargo build --workspace --bins` first), or `GITHUB_REVIEW_MCP_BIN` /
`GITHUB_DOUBLE_BIN`.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "crates/github-review-mcp/tests/fixtures/seed.json"

ALICE = "ghp_aliceAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
BOB = "github_pat_bobBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
CAROL = "gho_carolCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
SERVER = "ghs_serverSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS"

START_DEADLINE = 20.0
"""Seconds a binary gets to say where it listens."""
REQUEST_TIMEOUT = 20.0
"""Seconds any one MCP request may take before the SDK gives up on it."""


def _binary(env_name: str, default_name: str) -> Path:
    override = os.environ.get(env_name)
    path = Path(override) if override else REPO / "target" / "debug" / default_name
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: run `cargo build --workspace --bins` first "
            f"(or point {env_name} at the binary)",
            pytrace=False,
        )
    return path


def server_bin() -> Path:
    return _binary("GITHUB_REVIEW_MCP_BIN", "github-review-mcp")


def double_bin() -> Path:
    return _binary("GITHUB_DOUBLE_BIN", "github-double")


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


class Double:
    """A running `github-double` serving the shared seed fixture."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [str(double_bin()), "--seed", str(SEED), "--listen", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()

        def read_stdout() -> None:
            assert self.proc.stdout is not None
            lines.put(self.proc.stdout.readline())
            # Keep draining so the pipe can never fill and block the double.
            for _ in self.proc.stdout:
                pass

        threading.Thread(target=read_stdout, daemon=True).start()
        try:
            line = lines.get(timeout=START_DEADLINE).strip()
        except queue.Empty:
            _stop(self.proc)
            pytest.fail("github-double did not start in time", pytrace=False)
        prefix = "listening on "
        if not line.startswith(prefix):
            _stop(self.proc)
            pytest.fail(f"github-double's first line was {line!r}", pytrace=False)
        self.url = line[len(prefix) :]

    def requests(self) -> list[dict[str, Any]]:
        """The double's request log: method, path, user, token fingerprint, ..."""
        return _get_json(f"{self.url}/_double/requests")

    def blob_requests(self) -> list[dict[str, Any]]:
        """Downloads from the double's log host: job id, host, whether an
        `Authorization` header came along, status."""
        return _get_json(f"{self.url}/_double/blob-requests")

    def clear_requests(self) -> None:
        request = urllib.request.Request(f"{self.url}/_double/requests", method="DELETE")
        with urllib.request.urlopen(request, timeout=10):
            pass

    def configure(self, patch: dict[str, Any]) -> None:
        """`POST /_double/config`: latency and injected faults (a partial update)."""
        request = urllib.request.Request(
            f"{self.url}/_double/config",
            data=json.dumps(patch).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        _stop(self.proc)


def server_env(double: Double, server_token: str | None, rust_log: str = "info") -> dict[str, str]:
    """The server's whole environment: nothing inherited, like the Rust harness."""
    env = {"GITHUB_HOST": double.url, "RUST_LOG": rust_log}
    if server_token is not None:
        env["GITHUB_TOKEN"] = server_token
    return env


class HttpServer:
    """A running `github-review-mcp http`, its stderr captured to a file."""

    def __init__(
        self,
        double: Double,
        log: Path,
        server_token: str | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.log = log
        with open(log, "wb") as stderr:
            self.proc = subprocess.Popen(
                [str(server_bin()), "http", "--listen", "127.0.0.1:0", *args],
                # The default state over HTTP is a file in XDG_STATE_HOME: one per server.
                env={**server_env(double, server_token), "XDG_STATE_HOME": str(log.parent)},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + START_DEADLINE
        while True:
            text = self.logs()
            if "MCP at " in text:
                self.base = text.split("MCP at ", 1)[1].split("/mcp", 1)[0]
                break
            if self.proc.poll() is not None:
                pytest.fail(f"server exited ({self.proc.returncode}): {text}", pytrace=False)
            if time.monotonic() > deadline:
                _stop(self.proc)
                pytest.fail(f"server did not start: {text}", pytrace=False)
            time.sleep(0.02)

    @property
    def mcp_url(self) -> str:
        return f"{self.base}/mcp"

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        _stop(self.proc)


@asynccontextmanager
async def stdio_session(
    double: Double, log: Path, server_token: str | None = None
) -> AsyncIterator[ClientSession]:
    """`github-review-mcp stdio` spawned by the SDK's stdio client, initialized."""
    params = StdioServerParameters(
        command=str(server_bin()),
        args=["stdio"],
        env=server_env(double, server_token),
    )
    with open(log, "w") as errlog, _plain_errors():
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write, read_timeout_seconds=REQUEST_TIMEOUT) as session:
                await session.initialize()
                yield session


@asynccontextmanager
async def http_session(
    url: str,
    headers: dict[str, str] | None = None,
    on_response: Callable[[httpx2.Response], Any] | None = None,
    **session_options: Any,
) -> AsyncIterator[ClientSession]:
    """The SDK's Streamable HTTP client with custom headers, initialized.

    `on_response` sees every HTTP response the transport receives; `session_options`
    go to `ClientSession` (e.g. `logging_callback`).
    """
    hooks: dict[str, list[Any]] = {}
    if on_response is not None:

        async def hook(response: httpx2.Response) -> None:
            on_response(response)

        hooks["response"] = [hook]
    client = httpx2.AsyncClient(
        headers=headers or {},
        timeout=httpx2.Timeout(REQUEST_TIMEOUT),
        event_hooks=hooks,
    )
    with _plain_errors():
        async with client, streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(
                read, write, read_timeout_seconds=REQUEST_TIMEOUT, **session_options
            ) as session:
                await session.initialize()
                yield session


@contextmanager
def _plain_errors() -> Iterator[None]:
    """Re-raises a lone exception out of the SDK's task-group wrappers, so a failed
    assertion inside a session reads as itself."""
    try:
        yield
    except BaseExceptionGroup as group:
        leaves: list[BaseException] = []

        def collect(e: BaseException) -> None:
            if isinstance(e, BaseExceptionGroup):
                for inner in e.exceptions:
                    collect(inner)
            else:
                leaves.append(e)

        collect(group)
        if len(leaves) == 1:
            raise leaves[0] from None
        raise


async def call(
    session: ClientSession,
    tool: str,
    args: dict[str, Any] | None = None,
    meta_token: str | None = None,
) -> CallToolResult:
    """tools/call, with the token in `params._meta.token` when given."""
    meta = {"token": meta_token} if meta_token is not None else None
    return await session.call_tool(tool, args or {}, meta=meta)


def text(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", None) == "text")


async def whoami(session: ClientSession, meta_token: str | None = None) -> tuple[str, str]:
    """The login `whoami` reports and where the server found the token."""
    result = await call(session, "whoami", meta_token=meta_token)
    assert not result.is_error, text(result)
    v = result.structured_content
    assert v is not None, "whoami returns structuredContent"
    return v["login"], v["token_source"]
