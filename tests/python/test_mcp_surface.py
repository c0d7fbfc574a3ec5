"""The MCP surface beyond tools, with the official Python SDK over Streamable HTTP:
prompts, resource templates, completions, logging, progress and cancellation. Each
reads GitHub (the double) with the caller's own token, like a tool call does."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference, ResourceTemplateReference

from harness import ALICE, BOB, Double, http_session, text

pytestmark = pytest.mark.anyio

PR7 = "acme/widgets#7"
BULKY = "acme/bulky#1"  # 400 review threads: 4 pages of 100


def graphql_requests(double: Double) -> int:
    return sum(1 for e in double.requests() if e["path"].endswith("graphql"))


async def test_prompts_are_listed_and_address_review_embeds_the_open_threads(
    double: Double, start_http_server: Any
) -> None:
    server = start_http_server()
    async with http_session(server.mcp_url, {"X-GitHub-Token": ALICE}) as session:
        listed = await session.list_prompts()
        names = {p.name: p for p in listed.prompts}
        assert set(names) == {"address_review", "review_pull_request", "review_status"}
        assert [a.name for a in names["address_review"].arguments] == ["pr", "include_resolved"]
        assert names["address_review"].arguments[0].required is True

        prompt = await session.get_prompt("address_review", {"pr": PR7})
        kinds = [m.content.type for m in prompt.messages]
        assert kinds == ["text", "resource"], kinds
        assert "resolve_review_thread" in prompt.messages[0].content.text
        embedded = prompt.messages[1].content.resource
        assert embedded.uri == "github-review://acme/widgets/pull/7/threads"
        # The seed's open thread on acme/widgets#7 is in it; the resolved one is not.
        assert "could be one" in embedded.text
        assert "Export it from the prelude" not in embedded.text

        status = await session.get_prompt("review_status", {"pr": PR7})
        uris = [m.content.resource.uri for m in status.messages if m.content.type == "resource"]
        assert uris == [
            "github-review://acme/widgets/pull/7/summary",
            "github-review://acme/widgets/pull/7/checks",
            "github-review://acme/widgets/pull/7/threads",
        ]
        with pytest.raises(MCPError, match="pr is required"):
            await session.get_prompt("address_review", {})
        with pytest.raises(MCPError, match="unknown prompt"):
            await session.get_prompt("nope", {"pr": PR7})


async def test_resource_templates_read_with_the_callers_token_and_a_missing_pr_is_not_found(
    double: Double, start_http_server: Any
) -> None:
    server = start_http_server()
    async with http_session(server.mcp_url, {"X-GitHub-Token": BOB}) as session:
        templates = (await session.list_resource_templates()).resource_templates
        assert {t.uri_template for t in templates} == {
            f"github-review://{{owner}}/{{repo}}/pull/{{number}}/{kind}"
            for kind in ("threads", "threads.json", "summary", "checks")
        }
        read = await session.read_resource("github-review://bob/hidden/pull/1/threads")
        assert "bob-only-marker" in read.contents[0].text
        assert read.contents[0].mime_type == "text/markdown"
        as_json = await session.read_resource("github-review://bob/hidden/pull/1/threads.json")
        assert '"threads"' in as_json.contents[0].text
        summary = await session.read_resource("github-review://acme/widgets/pull/7/summary")
        assert "acme/widgets" in summary.contents[0].text or "#7" in summary.contents[0].text
        with pytest.raises(MCPError) as missing:
            await session.read_resource("github-review://acme/widgets/pull/999/threads")
        assert missing.value.error.code in (-32002, -32602)
        # Bob's token cannot see alice's private repository: not found, not her data.
        with pytest.raises(MCPError):
            await session.read_resource("github-review://alice/secret-app/pull/1/threads")
    async with http_session(server.mcp_url, {"X-GitHub-Token": ALICE}) as session:
        read = await session.read_resource("github-review://alice/secret-app/pull/1/threads")
        assert "bob-only-marker" not in read.contents[0].text


async def test_completion_offers_the_open_pull_requests_of_the_typed_repository(
    double: Double, start_http_server: Any
) -> None:
    server = start_http_server()
    async with http_session(server.mcp_url, {"X-GitHub-Token": ALICE}) as session:
        done = await session.complete(
            PromptReference(type="ref/prompt", name="address_review"),
            {"name": "pr", "value": "acme/widgets#"},
        )
        values = done.completion.values
        assert "acme/widgets#7" in values and "acme/widgets#10" in values, values
        narrowed = await session.complete(
            PromptReference(type="ref/prompt", name="address_review"),
            {"name": "pr", "value": "acme/widgets#1"},
        )
        assert narrowed.completion.values and all(
            v.startswith("acme/widgets#1") for v in narrowed.completion.values
        )
        numbers = await session.complete(
            ResourceTemplateReference(
                type="ref/resource", uri="github-review://{owner}/{repo}/pull/{number}/threads"
            ),
            {"name": "number", "value": ""},
            context_arguments={"owner": "acme", "repo": "widgets"},
        )
        assert "7" in numbers.completion.values
        # Before the `#`: the caller's own repositories (alice owns one, writes two).
        repos = await session.complete(
            PromptReference(type="ref/prompt", name="address_review"),
            {"name": "pr", "value": "a"},
        )
        assert repos.completion.values == ["acme/bulky#", "acme/widgets#", "alice/secret-app#"]
        template = "github-review://{owner}/{repo}/pull/{number}/threads"
        owners = await session.complete(
            ResourceTemplateReference(type="ref/resource", uri=template),
            {"name": "owner", "value": ""},
        )
        assert owners.completion.values == ["acme", "alice"]
        names = await session.complete(
            ResourceTemplateReference(type="ref/resource", uri=template),
            {"name": "repo", "value": "w"},
            context_arguments={"owner": "acme"},
        )
        assert names.completion.values == ["widgets"]
        before = graphql_requests(double) + sum(1 for e in double.requests())
        # Cached per token: the same completion again asks GitHub nothing.
        await session.complete(
            PromptReference(type="ref/prompt", name="address_review"),
            {"name": "pr", "value": "acme/widgets#"},
        )
        assert graphql_requests(double) + sum(1 for e in double.requests()) == before


async def test_a_long_fetch_reports_progress_and_logs_to_the_session_that_asked(
    double: Double, start_http_server: Any
) -> None:
    server = start_http_server()
    logs: list[Any] = []

    async def on_log(params: Any) -> None:
        logs.append(params)

    async with http_session(server.mcp_url, {"X-GitHub-Token": ALICE}, logging_callback=on_log) as session:
        await session.set_logging_level("info")
        steps: list[tuple[float, float | None]] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            steps.append((progress, total))

        result = await session.call_tool(
            "fetch_pr_review_comments",
            {"pr_url": BULKY, "max_output_bytes": 50_000_000},
            progress_callback=on_progress,
        )
        assert not result.is_error, text(result)
        assert result.structured_content["returned_threads"] == 400
        links = [c for c in result.content if c.type == "resource_link"]
        assert [link.uri for link in links] == ["github-review://acme/bulky/pull/1/threads"]
        cut = await session.call_tool("fetch_pr_review_comments", {"pr_url": BULKY, "max_comments": 5})
        assert cut.structured_content["truncated"] is True
        # One step per GitHub round trip (the scan reads from both ends at once),
        # then the end: more than one step, never going back, ending at 400 of 400.
        assert len(steps) >= 3, steps
        assert [p for p, _ in steps] == sorted(p for p, _ in steps), "progress only grows"
        assert all(t == 400 for _, t in steps), steps
        assert steps[-1] == (400, 400)
        messages = [log.data for log in logs if isinstance(log.data, dict)]
        assert any(m.get("message") == "review threads read" and m.get("threads") == 400 for m in messages), logs
        warnings = [log for log in logs if log.level == "warning"]
        assert any(w.data.get("message") == "the answer is incomplete" for w in warnings), logs
        for log in logs:
            assert ALICE not in str(log.data)
    # Another session that asked for no logs gets none.
    quiet: list[Any] = []

    async def on_quiet(params: Any) -> None:
        quiet.append(params)

    async with http_session(server.mcp_url, {"X-GitHub-Token": ALICE}, logging_callback=on_quiet) as session:
        await session.call_tool("fetch_pr_review_comments", {"pr_url": PR7})
    assert quiet == []


async def test_a_cancelled_fetch_stops_paging_github(double: Double, start_http_server: Any) -> None:
    server = start_http_server()
    double.configure({"latency_ms": 250})
    async with http_session(server.mcp_url, {"X-GitHub-Token": ALICE}) as session:
        double.clear_requests()
        # 40 pages of 10 threads at 250 ms each: about 10 s if nothing stops it.
        call = asyncio.ensure_future(
            session.call_tool("fetch_pr_review_comments", {"pr_url": BULKY, "per_page": 10})
        )
        await asyncio.sleep(1.2)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        at_cancel = graphql_requests(double)
        await asyncio.sleep(1.5)
        after = graphql_requests(double)
        assert 0 < at_cancel < 40
        assert after <= at_cancel + 1, f"paging went on after the cancel: {at_cancel} -> {after}"
        # The session goes on.
        double.configure({"latency_ms": 0})
        started = time.monotonic()
        ok = await session.call_tool("whoami", {})
        assert not ok.is_error and time.monotonic() - started < 5
    assert "cancelled" in server.logs()


async def test_github_answers_retries_and_waits_reach_a_client_that_asked_for_logs(
    double: Double, start_http_server: Any
) -> None:
    server = start_http_server(args=("--max-retry-wait", "5"))
    logs: list[Any] = []

    async def on_log(params: Any) -> None:
        logs.append(params)

    async with http_session(server.mcp_url, {"X-GitHub-Token": ALICE}, logging_callback=on_log) as session:
        await session.set_logging_level("debug")
        # Every answer a 502: the read is sent again, and the client hears of each retry.
        double.configure({"fault_status": 502, "fault_rate": 1.0})
        result = await session.call_tool("get_pr_checks", {"pr_url": PR7})
        assert result.is_error
        double.configure({"fault_rate": 0.0, "secondary_rate_limit_every": 1, "retry_after_secs": 1})
        result = await session.call_tool("get_pr_checks", {"pr_url": PR7})
        double.configure({"secondary_rate_limit_every": 0})
    messages = [log.data.get("message") for log in logs if isinstance(log.data, dict)]
    assert "GitHub answered" in messages, messages
    assert "sending the request to GitHub again" in messages, messages
    assert "waiting out GitHub's secondary rate limit" in messages, messages
    answered = [log.data for log in logs if isinstance(log.data, dict) and log.data.get("message") == "GitHub answered"]
    assert any(a["status"] == 502 for a in answered), answered
    for log in logs:
        assert ALICE[4:] not in str(log.data)


async def test_closing_a_session_ends_it_without_a_warning_from_the_sdk(
    double: Double, start_http_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_http_server()
    statuses: list[tuple[str, int]] = []
    caplog.set_level(logging.DEBUG, logger="mcp")
    on_response = lambda r: statuses.append((r.request.method, r.status_code))  # noqa: E731
    async with http_session(server.mcp_url, {"X-GitHub-Token": ALICE}, on_response=on_response) as session:
        assert not (await session.call_tool("whoami", {})).is_error
    assert ("DELETE", 204) in statuses, statuses
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [w for w in warnings if "termination" in w], warnings
