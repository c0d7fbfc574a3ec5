"""The deeper review loop (issue 14) through the official Python SDK, which checks
every structuredContent against the tool's outputSchema: inline positions checked
against the diff before anything is posted, suggestions and file comments, the
caller's pending review (read, edit, delete, add to), bot-aware reading, deltas and
output budgets."""

from __future__ import annotations

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
