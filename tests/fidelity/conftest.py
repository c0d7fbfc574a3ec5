"""Starts the github-double binary once per test session with seed.json."""

import os
import pathlib
import subprocess

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent


def _binary() -> pathlib.Path:
    env = os.environ.get("GITHUB_DOUBLE_BIN")
    if env:
        return pathlib.Path(env) if os.path.isabs(env) else ROOT / env
    path = ROOT / "target" / "debug" / "github-double"
    if not path.exists():
        subprocess.run(["cargo", "build", "-p", "github-double"], cwd=ROOT, check=True)
    return path


@pytest.fixture(scope="session")
def double():
    """Base URL of a running double; the process is stopped at the end."""
    proc = subprocess.Popen(
        [str(_binary()), "--seed", str(HERE / "seed.json"), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on http://"), f"unexpected first line: {line!r}"
        yield line.removeprefix("listening on ")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _session(token):
    s = requests.Session()
    if token:
        s.headers["Authorization"] = f"Bearer {token}"
    return s


@pytest.fixture
def alice():
    return _session("ghp_alice")


@pytest.fixture
def bob():
    return _session("github_pat_bob")


@pytest.fixture
def carol():
    return _session("ghp_carol")


@pytest.fixture
def dave():
    return _session("ghp_dave")
