"""Fixtures for the Python MCP SDK end-to-end tests; the harness is in harness.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness import Double, HttpServer


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def double() -> Any:
    d = Double()
    yield d
    d.stop()


@pytest.fixture
def start_http_server(double: Double, tmp_path: Path) -> Any:
    """`start_http_server(server_token=..., args=(...))` -> a running HttpServer."""
    started: list[HttpServer] = []

    def start(server_token: str | None = None, args: tuple[str, ...] = ()) -> HttpServer:
        server = HttpServer(double, tmp_path / f"server-{len(started)}.log", server_token, args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
