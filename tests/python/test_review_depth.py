"""The deeper review loop (issue 14) through the official Python SDK, which checks
every structuredContent against the tool's outputSchema: inline positions checked
against the diff before anything is posted, suggestions and file comments, the
caller's pending review (read, edit, delete, add to), bot-aware reading, deltas and
output budgets."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

from harness import ALICE, Double, call, http_session, text

pytestmark = pytest.mark.anyio

PR7 = "acme/widgets#7"


async def alice_session(start_http_server: Any) -> Any:
    server = start_http_server()
    return http_session(server.mcp_url, {"X-GitHub-Token": ALICE})


async def test_a_review_with_one_comment_outside_the_diff_posts_nothing_and_names_the_nearest_range(
    double: Double, start_http_server: Any
) -> None:
    async with await alice_session(start_http_server) as s:
        double.clear_requests()
        result = await call(
            s,
            "create_pr_review",
            {
                "pr_url": PR7,
                "event": "COMMENT",
                "body": "Two notes.",
                "comments": [
                    {"path": "src/frob.rs", "line": 5, "body": "Fine spot."},
                    {"path": "src/frob.rs", "line": 40, "body": "Past the end of the hunk."},
                    {"path": "src/lib.rs", "start_line": 1, "line": 3, "body": "A range inside one hunk."},
                ],
            },
        )
        assert result.is_error, text(result)
        message = text(result)
        assert message.startswith("Nothing was posted: 1 of 3 inline comments"), message
        assert "src/frob.rs" in message and "line 40 (RIGHT) is not part of the diff" in message
        assert "nearest commentable RIGHT lines are 1-14" in message, message
        posted = [e for e in double.requests() if e["method"] == "POST"]
        assert posted == [], f"nothing may reach GitHub's write endpoints: {posted}"

        # Fixed, it goes through; the suggestion is a block over its range.
        ok = await call(
            s,
            "create_pr_review",
            {
                "pr_url": PR7,
                "event": "COMMENT",
                "comments": [
                    {
                        "path": "src/frob.rs",
                        "start_line": 2,
                        "line": 3,
                        "body": "One field is enough.",
                        "suggestion": "    xy: (u32, u32),",
                    }
                ],
            },
        )
        assert not ok.is_error, text(ok)
        assert ok.structured_content["state"] == "COMMENTED"
        fetched = await call(s, "fetch_pr_review_comments", {"pr_url": PR7, "output": "json"})
        bodies = [c["body"] for t in fetched.structured_content["threads"] for c in t["comments"]]
        assert any(
            b.startswith("One field is enough.") and "```suggestion\n    xy: (u32, u32),\n```" in b
            for b in bodies
        ), bodies


async def test_the_callers_pending_review_is_named_read_edited_trimmed_and_added_to(
    double: Double, start_http_server: Any
) -> None:
    async with await alice_session(start_http_server) as s:
        none = await call(s, "get_pending_review", {"pr_url": PR7})
        assert not none.is_error, text(none)
        assert none.structured_content["review"] is None
        opened = await call(
            s,
            "create_pr_review",
            {
                "pr_url": PR7,
                "comments": [
                    {"path": "src/frob.rs", "line": 4, "body": "draft one"},
                    {"path": "src/frob.rs", "line": 6, "body": "draft two"},
                ],
            },
        )
        assert not opened.is_error, text(opened)
        review_id = opened.structured_content["id"]
        assert opened.structured_content["state"] == "PENDING"

        # A second review while one is pending: GitHub allows one per person.
        second = await call(
            s,
            "create_pr_review",
            {"pr_url": PR7, "event": "COMMENT", "comments": [{"path": "src/frob.rs", "line": 8, "body": "more"}]},
        )
        assert second.is_error
        assert f"you already have a pending review on {PR7} (review {review_id})" in text(second), text(second)
        assert "add_to_pending" in text(second)

        pending = await call(s, "get_pending_review", {"pr_url": PR7})
        review = pending.structured_content["review"]
        assert review["id"] == review_id
        comments = {c["body"]: c for c in review["comments"]}
        assert set(comments) == {"draft one", "draft two"}, comments
        assert comments["draft one"]["line"] == 4 and comments["draft one"]["path"] == "src/frob.rs"
        assert f"comment {comments['draft one']['id']}" in text(pending)

        edited = await call(
            s,
            "update_pending_review_comment",
            {"pr_url": PR7, "comment_id": comments["draft one"]["id"], "body": "draft one, reworded"},
        )
        assert not edited.is_error, text(edited)
        deleted = await call(
            s,
            "delete_pending_review_comment",
            {"pr_url": PR7, "comment_id": comments["draft two"]["id"]},
        )
        assert not deleted.is_error, text(deleted)
        not_mine = await call(s, "delete_pending_review_comment", {"pr_url": PR7, "comment_id": 1})
        assert not_mine.is_error and "is not in your pending review" in text(not_mine), text(not_mine)

        after = (await call(s, "get_pending_review", {"pr_url": PR7})).structured_content["review"]
        assert [c["body"] for c in after["comments"]] == ["draft one, reworded"]

        # Add to it and submit it in one call, a file comment among the additions.
        submitted = await call(
            s,
            "create_pr_review",
            {
                "pr_url": PR7,
                "event": "COMMENT",
                "body": "Done.",
                "add_to_pending": True,
                "comments": [
                    {"path": "src/frob.rs", "line": 8, "body": "more"},
                    {"path": "README.md", "subject_type": "file", "body": "Say what frobbing is."},
                ],
            },
        )
        assert not submitted.is_error, text(submitted)
        assert submitted.structured_content["id"] == review_id
        assert submitted.structured_content["state"] == "COMMENTED"
        assert len(submitted.structured_content["comments"]) == 3, submitted.structured_content
        gone = await call(s, "get_pending_review", {"pr_url": PR7})
        assert gone.structured_content["review"] is None


BOTS_PR = "acme/widgets#11"  # CodeRabbit, Copilot and Gemini threads beside human ones
BULKY = "acme/bulky#1"  # 400 threads


async def test_review_bots_are_marked_filtered_and_their_prompt_is_what_the_model_reads(
    double: Double, start_http_server: Any
) -> None:
    async with await alice_session(start_http_server) as s:
        both = await call(s, "fetch_pr_review_comments", {"pr_url": BOTS_PR, "output": "both"})
        assert not both.is_error, text(both)
        threads = both.structured_content["threads"]
        openers = {t["comments"][0]["author"]: t["comments"][0] for t in threads}
        rabbit = openers["coderabbitai[bot]"]
        assert rabbit["author_is_bot"] is True
        assert openers["copilot-pull-request-reviewer[bot]"]["author_is_bot"] is True
        assert not any(c["author_is_bot"] for t in threads for c in t["comments"] if not c["author"].endswith("[bot]"))
        # The JSON keeps the whole body; the Markdown has the prompt and no folded blocks.
        assert "<details>" in rabbit["body"] and "Prompt for AI Agents" in rabbit["body"]
        markdown = text(both).split("\n{", 1)[0]
        assert "Prompt for AI agents: In src/parser.rs" in markdown, markdown[:3000]
        assert "<details>" not in markdown and "<!--" not in markdown
        assert "auto-generated comment by CodeRabbit" not in markdown

        humans = await call(s, "fetch_pr_review_comments", {"pr_url": BOTS_PR, "output": "json", "exclude_bots": True})
        human_openers = {t["comments"][0]["author"] for t in humans.structured_content["threads"]}
        assert human_openers and not any(a.endswith("[bot]") for a in human_openers), human_openers
        bots = await call(s, "fetch_pr_review_comments", {"pr_url": BOTS_PR, "output": "json", "only_bots": True})
        bot_openers = {t["comments"][0]["author"] for t in bots.structured_content["threads"]}
        assert bot_openers == {"coderabbitai[bot]", "copilot-pull-request-reviewer[bot]", "gemini-code-assist[bot]"}
        assert len(human_openers) + len(bots.structured_content["threads"]) == len(threads)
        no_rabbit = await call(
            s, "fetch_pr_review_comments", {"pr_url": BOTS_PR, "output": "json", "exclude_author": "coderabbitai"}
        )
        assert "coderabbitai[bot]" not in {t["comments"][0]["author"] for t in no_rabbit.structured_content["threads"]}
        clash = await call(s, "fetch_pr_review_comments", {"pr_url": BOTS_PR, "exclude_bots": True, "only_bots": True})
        assert clash.is_error and "cannot both be true" in text(clash)


async def test_a_second_fetch_with_changes_since_after_one_reply_returns_exactly_that_thread(
    double: Double, start_http_server: Any
) -> None:
    async with await alice_session(start_http_server) as s:
        first = await call(s, "fetch_pr_review_comments", {"pr_url": PR7, "output": "json"})
        cursor = first.structured_content["changes_cursor"]
        assert cursor.startswith("grm_cs_") and cursor in text(first)
        target = first.structured_content["threads"][1]
        replied = await call(
            s,
            "reply_to_review_comment",
            {"pr_url": PR7, "comment_id": target["comments"][0]["id"], "body": "Fixed in the next push."},
        )
        assert not replied.is_error, text(replied)
        second = await call(s, "fetch_pr_review_comments", {"pr_url": PR7, "output": "json", "changes_since": cursor})
        assert not second.is_error, text(second)
        assert [t["id"] for t in second.structured_content["threads"]] == [target["id"]]
        assert second.structured_content["threads"][0]["comments"][-1]["body"] == "Fixed in the next push."
        third = await call(
            s,
            "fetch_pr_review_comments",
            {"pr_url": PR7, "output": "json", "changes_since": second.structured_content["changes_cursor"]},
        )
        assert third.structured_content["returned_threads"] == 0
        # Resolving is a change too; a thread that stops matching the filters is gone.
        resolved = await call(s, "resolve_review_thread", {"thread_id": target["id"]})
        assert not resolved.is_error, text(resolved)
        fourth = await call(
            s,
            "fetch_pr_review_comments",
            {"pr_url": PR7, "output": "json", "include_resolved": False, "changes_since": third.structured_content["changes_cursor"]},
        )
        assert target["id"] in fourth.structured_content["gone_thread_ids"]
        since_then = await call(
            s, "fetch_pr_review_comments", {"pr_url": PR7, "output": "json", "since": "2999-01-01T00:00:00Z"}
        )
        assert since_then.structured_content["returned_threads"] == 0
        forged = await call(s, "fetch_pr_review_comments", {"pr_url": PR7, "changes_since": "grm_cs_" + "0" * 32})
        assert forged.is_error and "not a changes_cursor of yours" in text(forged)


async def follow_cursors(s: Any, pr: str, output: str, budget: int) -> tuple[list[str], int]:
    """Reads `pr` page by page within `budget`; the comment ids seen, in order, and the pages."""
    seen: list[str] = []
    args: dict[str, Any] = {"pr_url": pr, "output": output, "max_output_bytes": budget}
    pages = 0
    while True:
        page = await call(s, "fetch_pr_review_comments", args)
        assert not page.is_error, text(page)
        pages += 1
        body = text(page).encode()
        # `both` carries the Markdown and the JSON text: the budget counts the two.
        assert len(body) < budget * 1.5, f"page {pages} is {len(body)} bytes for a budget of {budget}"
        v = page.structured_content
        if output == "both":
            seen += [str(c["id"]) for t in v["threads"] for c in t["comments"]]
        else:
            seen += [
                line.split(" id ", 1)[1].split()[0]
                for line in text(page).splitlines()
                if line.startswith("**@") and " id " in line
            ]
        if "next_cursor" not in v:
            assert "changes_cursor" in v, "the last page names the snapshot"
            return seen, pages
        assert "CONTINUES" in text(page) and v["next_cursor"] in text(page)
        assert "changes_cursor" not in v, "only the last page names the snapshot"
        args = {**args, "cursor": v["next_cursor"]}


async def test_a_budget_cut_fetch_continued_with_its_cursor_returns_every_comment_exactly_once(
    double: Double, start_http_server: Any
) -> None:
    async with await alice_session(start_http_server) as s:
        # 400 one-comment threads (cut between threads), and one 150-comment thread
        # (larger than the budget: cut between its comments).
        for pr, budget in ((BULKY, 20_000), ("acme/widgets#9", 6_000)):
            whole = await call(s, "fetch_pr_review_comments", {"pr_url": pr, "output": "json", "max_output_bytes": 50_000_000})
            expected = [str(c["id"]) for t in whole.structured_content["threads"] for c in t["comments"]]
            assert len(expected) >= 150
            for output in ("markdown", "both"):
                seen, pages = await follow_cursors(s, pr, output, budget)
                assert pages > 3, (pr, output, pages)
                assert seen == expected, f"{pr} {output}: every comment once, in order"
        split = await call(s, "fetch_pr_review_comments", {"pr_url": "acme/widgets#9", "output": "both", "max_output_bytes": 6_000})
        part = split.structured_content["threads"][0]
        assert part["comments_after"] > 0 and "more comments on the next page" in text(split)


async def test_a_pending_comment_github_drops_at_submit_is_reported_not_lost_silently(
    double: Double, start_http_server: Any
) -> None:
    async with await alice_session(start_http_server) as s:
        opened = await call(
            s,
            "create_pr_review",
            {
                "pr_url": PR7,
                "comments": [
                    {"path": "src/frob.rs", "line": 2, "body": "stays"},
                    {"path": "src/frob.rs", "line": 12, "body": "its line leaves the diff"},
                ],
            },
        )
        assert not opened.is_error, text(opened)
        # A push: src/frob.rs now has three lines, so line 12 is no longer in the diff.
        push = urllib.request.Request(
            f"{double.url}/_double/pulls/acme/widgets/7/files",
            data=json.dumps({"files": [{"filename": "src/frob.rs", "patch": "@@ -0,0 +1,3 @@\n+a\n+b\n+c\n"}]}).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(push, timeout=10):
            pass
        submitted = await call(s, "submit_pending_review", {"pr_url": PR7, "event": "COMMENT", "body": "Notes."})
        assert not submitted.is_error, text(submitted)
        v = submitted.structured_content
        assert [c["body"] for c in v["dropped_comments"]] == ["its line leaves the diff"], v
        assert len(v["comments"]) == 1
        assert "GitHub dropped 1 comment(s) at submit" in text(submitted), text(submitted)


async def test_reply_and_resolve_and_resolving_many_report_each_outcome_a_failure_included(
    double: Double, start_http_server: Any
) -> None:
    async with await alice_session(start_http_server) as s:
        threads = (await call(s, "fetch_pr_review_comments", {"pr_url": PR7, "output": "json"})).structured_content[
            "threads"
        ]
        first, second = threads[0], threads[1]
        done = await call(
            s,
            "reply_and_resolve",
            {"pr_url": PR7, "comment_id": first["comments"][0]["id"], "thread_id": first["id"], "body": "Done."},
        )
        assert not done.is_error, text(done)
        assert done.structured_content["reply"]["id"] and done.structured_content["resolution"]["is_resolved"]
        many = await call(s, "resolve_review_threads", {"thread_ids": [second["id"], "PRRT_doesnotexist"]})
        assert many.is_error, "one failure makes the result an error"
        v = many.structured_content
        assert (v["succeeded"], v["failed"]) == (1, 1), v
        assert [t["thread_id"] for t in v["threads"]] == [second["id"], "PRRT_doesnotexist"]
        assert "PRRT_doesnotexist: FAILED" in text(many)
        after = (await call(s, "fetch_pr_review_comments", {"pr_url": PR7, "output": "json"})).structured_content
        state = {t["id"]: t["is_resolved"] for t in after["threads"]}
        assert state[first["id"]] and state[second["id"]], "the one that worked still changed"


async def test_zwj_is_kept_in_emoji_and_stripped_between_ascii_letters(double: Double, start_http_server: Any) -> None:
    async with await alice_session(start_http_server) as s:
        threads = (await call(s, "fetch_pr_review_comments", {"pr_url": PR7, "output": "json"})).structured_content[
            "threads"
        ]
        body = "Rename MARK-\u200dSMALL, says the \U0001F469\u200d\U0001F4BB."
        posted = await call(
            s, "reply_to_review_comment", {"pr_url": PR7, "comment_id": threads[0]["comments"][0]["id"], "body": body}
        )
        assert not posted.is_error, text(posted)
        both = await call(s, "fetch_pr_review_comments", {"pr_url": PR7, "output": "both"})
        bodies = [c["body"] for t in both.structured_content["threads"] for c in t["comments"]]
        assert "Rename MARK-SMALL, says the \U0001F469\u200d\U0001F4BB." in bodies, bodies
        assert "MARK-\u200dSMALL" not in text(both)
        assert "\U0001F469\u200d\U0001F4BB" in text(both)
