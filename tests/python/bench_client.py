"""Benchmark driver: the official Python MCP SDK client against a stdio server.

    python3 tests/python/bench_client.py --calls N --warmup W --tool NAME \
        --args JSON [--server-log PATH] -- PROGRAM [ARGS...]

The Python twin of tests/node/bench_client.mjs: connects (timed: startup_ms),
lists tools once as editors do, makes W untimed then N timed sequential
tools/call requests and prints one JSON line on stdout. `call_tool` checks
structuredContent against the tool's outputSchema (jsonschema; the compiled
validator is cached per tool after the first call): that cost is what users
of this SDK pay, so it stays on. The server inherits this process's environment.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import re
import sys
import time
import warnings
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

CLK_TCK = 100  # assumed, as `getconf CLK_TCK` says on Linux
SCHEMA_WARNING = re.compile(r"format|schema", re.IGNORECASE)


def parse_cli() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--tool", required=True)
    parser.add_argument("--args", type=json.loads, default={}, help="tool arguments, as JSON")
    parser.add_argument("--server-log", help="file for the server's stderr (default: ours)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- PROGRAM [ARGS...]")
    cli = parser.parse_args()
    if cli.command[:1] == ["--"]:
        cli.command = cli.command[1:]
    if not cli.command:
        parser.error("missing `-- PROGRAM [ARGS...]`")
    if cli.calls < 1 or cli.warmup < 0:
        parser.error("--calls must be >= 1 and --warmup >= 0")
    return cli


def stat_fields(pid: int) -> tuple[str, list[str]]:
    """(comm, fields after comm) of /proc/PID/stat; comm may hold spaces and parens."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    close = stat.rindex(")")
    return stat[stat.index("(") + 1 : close], stat[close + 2 :].split()


def find_server_pid() -> int | None:
    """The server: our child process that is not a shell."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm, rest = stat_fields(int(entry))
        except OSError:  # it went away while we looked
            continue
        if int(rest[1]) == os.getpid() and comm != "sh":
            return int(entry)
    return None


def cpu_ms(pid: int) -> float:
    """utime + stime (fields 14 and 15 of /proc/PID/stat) in ms."""
    _, rest = stat_fields(pid)
    return (int(rest[11]) + int(rest[12])) * 1000 / CLK_TCK


def peak_rss_bytes(pid: int) -> int | None:
    match = re.search(r"^VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def text_bytes(result: Any) -> int:
    return sum(len(item.text.encode()) for item in result.content if item.type == "text")


class SchemaWarnings(logging.Handler):
    """Keeps logged warnings/errors (and `warnings.warn`s) that mention a format or schema."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if SCHEMA_WARNING.search(line):
            self.lines.append(line)


async def run(cli: argparse.Namespace, errlog: Any, captured: SchemaWarnings) -> dict[str, Any]:
    params = StdioServerParameters(command=cli.command[0], args=cli.command[1:], env=dict(os.environ))
    t0 = time.perf_counter()
    async with stdio_client(params, errlog=errlog) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            startup_ms = (time.perf_counter() - t0) * 1000

            await session.list_tools()  # once, as editors do; caches the outputSchemas
            for _ in range(cli.warmup):  # the first call also compiles the validator
                await session.call_tool(cli.tool, cli.args)

            server_pid = find_server_pid()
            cpu_before = cpu_ms(server_pid) if server_pid else None
            samples: list[float] = []
            sizes: list[int] = []
            errors = 0
            result = None
            for _ in range(cli.calls):
                start = time.perf_counter()
                result = await session.call_tool(cli.tool, cli.args)
                samples.append((time.perf_counter() - start) * 1000)
                sizes.append(text_bytes(result))
                errors += bool(result.is_error)
            cpu_after = cpu_ms(server_pid) if server_pid else None
            peak_rss = peak_rss_bytes(server_pid) if server_pid else None
    # Leaving the contexts closed the session and stopped the server.
    return {
        "client": "python",
        "sdk_version": importlib.metadata.version("mcp"),
        "startup_ms": startup_ms,
        "samples_ms": samples,
        "errors": errors,
        "warnings": captured.lines,
        "server_pid": server_pid,
        "server_peak_rss_bytes": peak_rss,
        "server_cpu_ms": None if cpu_before is None else cpu_after - cpu_before,
        "last": result.model_dump(mode="json", by_alias=True, exclude_none=True),
        "text_bytes": sizes,
    }


def leaf(error: BaseException) -> BaseException:
    """The first real exception inside the SDK's task-group wrappers."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def main() -> int:
    cli = parse_cli()
    captured = SchemaWarnings()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger().addHandler(captured)
    logging.captureWarnings(True)  # route warnings.warn through logging too
    warnings.simplefilter("default")
    with ExitStack() as stack:
        errlog = stack.enter_context(open(cli.server_log, "w")) if cli.server_log else sys.stderr
        try:
            report = anyio.run(run, cli, errlog, captured)
        except BaseException as group:  # noqa: BLE001 - report anything, then fail
            error = leaf(group)
            if isinstance(error, KeyboardInterrupt):
                raise
            print(f"bench_client.py: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
