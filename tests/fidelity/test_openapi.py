"""Every REST endpoint the double implements answers with a body that validates
against GitHub's OpenAPI description."""

import urllib.parse

import jsonschema
import pytest
import requests

from openapi import response_schema, spec, to_json_schema

# (OpenAPI path, concrete path, token fixture name)
GETS = [
    ("/user", "/user", "alice"),
    ("/rate_limit", "/rate_limit", "alice"),
    ("/repos/{owner}/{repo}", "/repos/acme/widgets", "alice"),
    ("/repos/{owner}/{repo}", "/repos/acme/public", "bob"),
    ("/repos/{owner}/{repo}/pulls", "/repos/acme/widgets/pulls?state=all", "alice"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", "/repos/acme/widgets/pulls/7", "bob"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", "/repos/acme/widgets/pulls/8", "bob"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", "/repos/acme/widgets/pulls/9", "bob"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/comments", "/repos/acme/widgets/pulls/7/comments?per_page=100", "alice"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "/repos/acme/widgets/pulls/7/reviews?per_page=100", "alice"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/files", "/repos/acme/widgets/pulls/7/files", "alice"),
    ("/repos/{owner}/{repo}/pulls", "/repos/acme/widgets/pulls?state=all&sort=updated&direction=desc", "bob"),
    ("/repos/{owner}/{repo}/pulls", "/repos/acme/widgets/pulls?state=open&head=acme:feature-x&base=main", "bob"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "/repos/acme/widgets/issues/7/comments", "bob"),
    ("/repos/{owner}/{repo}/commits/{ref}/check-runs", "/repos/acme/widgets/commits/feature-x/check-runs", "bob"),
    ("/repos/{owner}/{repo}/commits/{ref}/check-runs",
     "/repos/acme/widgets/commits/6dcb09b5b57875f334f61aebed695e2e4193db5e/check-runs?filter=all", "bob"),
    ("/repos/{owner}/{repo}/commits/{ref}/status", "/repos/acme/widgets/commits/feature-x/status", "bob"),
    ("/repos/{owner}/{repo}/commits/{ref}/status", "/repos/acme/widgets/commits/fix/status", "alice"),
    # The bot-reviewed pull request: bot users, file-level and outdated comments.
    ("/repos/{owner}/{repo}/pulls/{pull_number}/comments", "/repos/acme/widgets/pulls/11/comments", "bob"),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "/repos/acme/widgets/pulls/11/reviews", "bob"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "/repos/acme/widgets/issues/11/comments", "bob"),
    ("/repos/{owner}/{repo}/pulls/comments/{comment_id}", "/repos/acme/widgets/pulls/comments/2600000001", "bob"),
    ("/repos/{owner}/{repo}/pulls/comments/{comment_id}", "/repos/acme/widgets/pulls/comments/2600000007", "bob"),
    ("/repos/{owner}/{repo}/pulls/comments/{comment_id}", "/repos/acme/widgets/pulls/comments/2600000008", "bob"),
]


def validate(body, schema):
    jsonschema.Draft4Validator(schema).validate(body)


def test_nullable_becomes_a_null_type():
    s = to_json_schema({"type": "object", "properties": {"a": {"type": "string", "nullable": True}}})
    assert s["properties"]["a"]["type"] == ["string", "null"]
    s = to_json_schema({"nullable": True, "allOf": [{"type": "object"}]})
    assert {"type": "null"} in s["anyOf"]


@pytest.mark.parametrize("spec_path,path,who", GETS, ids=[g[1] for g in GETS])
def test_get_bodies_match_openapi(double, request, spec_path, path, who):
    session = request.getfixturevalue(who)
    for prefix in ("", "/api/v3"):
        r = session.get(double + prefix + path)
        assert r.status_code == 200, r.text
        body = r.json()
        validate(body, response_schema(spec_path, "get", 200))
        if isinstance(body, list):
            assert body, "list endpoints return data for this seed"
        if "check_runs" in body:
            assert body["check_runs"], "check runs are seeded"


def test_single_comment_matches_openapi(double, alice):
    comments = alice.get(double + "/repos/acme/widgets/pulls/7/comments").json()
    for c in comments[:5]:
        r = alice.get(double + f"/repos/acme/widgets/pulls/comments/{c['id']}")
        assert r.status_code == 200
        validate(r.json(), response_schema("/repos/{owner}/{repo}/pulls/comments/{comment_id}", "get", 200))


def test_errors_match_openapi_basic_error(double, alice):
    r = alice.get(double + "/repos/acme/nope/pulls/7")
    assert r.status_code == 404
    validate(r.json(), response_schema("/repos/{owner}/{repo}/pulls/{pull_number}", "get", 404))


def test_write_endpoints_match_openapi(double, alice):
    first = alice.get(double + "/repos/acme/widgets/pulls/7/comments?per_page=1").json()[0]
    r = alice.post(
        double + f"/repos/acme/widgets/pulls/7/comments/{first['id']}/replies", json={"body": "Thanks"}
    )
    assert r.status_code == 201, r.text
    validate(
        r.json(),
        response_schema("/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies", "post", 201),
    )
    r = alice.post(
        double + "/repos/acme/widgets/pulls/7/reviews",
        json={"event": "COMMENT", "body": "A note", "comments": [{"path": "src/lib.rs", "line": 2, "body": "here"}]},
    )
    assert r.status_code == 200, r.text
    validate(r.json(), response_schema("/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "post", 200))


REVIEWS = "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"
REVIEW = REVIEWS + "/{review_id}"


def test_pending_review_lifecycle_matches_openapi(double, dave, bob):
    base = double + "/repos/acme/widgets/pulls/7/reviews"
    r = dave.post(base, json={"body": "draft", "comments": [
        {"path": "src/lib.rs", "start_line": 2, "line": 3, "side": "RIGHT", "start_side": "RIGHT", "body": "range"}]})
    assert r.status_code == 200, r.text
    pending = r.json()
    validate(pending, response_schema(REVIEWS, "post", 200))
    assert pending["state"] == "PENDING"
    r = dave.get(f"{base}/{pending['id']}")
    assert r.status_code == 200
    validate(r.json(), response_schema(REVIEW, "get", 200))
    r = dave.get(f"{base}/{pending['id']}/comments")
    assert r.status_code == 200
    assert [c["body"] for c in r.json()] == ["range"]
    validate(r.json(), response_schema(REVIEW + "/comments", "get", 200))
    assert bob.get(f"{base}/{pending['id']}").status_code == 404
    r = dave.post(base, json={})
    assert r.status_code == 422
    validate(r.json(), response_schema(REVIEWS, "post", 422))
    assert r.json()["errors"] == ["User can only have one pending review per pull request"]
    r = dave.delete(f"{base}/{pending['id']}")
    assert r.status_code == 200, r.text
    validate(r.json(), response_schema(REVIEW, "delete", 200))

    r = dave.post(base, json={"body": "again"})
    pending = r.json()
    r = dave.post(f"{base}/{pending['id']}/events", json={"event": "APPROVE", "body": "LGTM"})
    assert r.status_code == 200, r.text
    validate(r.json(), response_schema(REVIEW + "/events", "post", 200))
    assert r.json()["state"] == "APPROVED"
    r = dave.delete(f"{base}/{pending['id']}")
    assert r.status_code == 422
    validate(r.json(), response_schema(REVIEW, "delete", 422))
    r = dave.post(f"{base}/{pending['id']}/events", json={"event": "COMMENT"})
    assert r.status_code == 422
    validate(r.json(), response_schema(REVIEW + "/events", "post", 422))


@pytest.mark.parametrize("body,message", [
    ({"event": "REQUEST_CHANGES"}, "Body is required when using REQUEST_CHANGES for the event parameter"),
    ({"event": "COMMENT", "body": "x", "comments": [{"path": "nope.rs", "line": 1, "body": "b"}]},
     "Path could not be resolved"),
    ({"event": "COMMENT", "body": "x", "comments": [{"path": "src/lib.rs", "line": 90, "body": "b"}]},
     "pull_request_review_thread.line must be part of the diff"),
])
def test_review_validation_errors_match_openapi(double, dave, body, message):
    r = dave.post(double + "/repos/acme/widgets/pulls/7/reviews", json=body)
    assert r.status_code == 422, r.text
    validate(r.json(), response_schema(REVIEWS, "post", 422))
    assert r.json()["message"] == "Unprocessable Entity"
    assert r.json()["errors"] == [message]


def test_own_pull_cannot_be_approved(double, alice):
    r = alice.post(double + "/repos/acme/widgets/pulls/7/reviews", json={"event": "APPROVE"})
    assert r.status_code == 422
    validate(r.json(), response_schema(REVIEWS, "post", 422))
    assert r.json()["errors"] == ["Can not approve your own pull request"]


def test_readers_get_403_matching_openapi(double, bob, carol):
    r = bob.post(double + "/repos/acme/widgets/pulls/7/reviews", json={"event": "COMMENT", "body": "x"})
    assert r.status_code == 403
    validate(r.json(), response_schema(REVIEWS, "post", 403))
    assert r.json()["message"] == "Resource not accessible by personal access token"
    r = bob.post(double + "/repos/acme/widgets/issues/7/comments", json={"body": "x"})
    assert r.status_code == 403
    validate(r.json(), response_schema("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post", 403))
    assert carol.post(double + "/repos/acme/widgets/issues/7/comments", json={"body": "x"}).status_code == 404


def test_issue_comment_creation_matches_openapi(double, dave):
    r = dave.post(double + "/repos/acme/widgets/issues/7/comments", json={"body": "Tomorrow"})
    assert r.status_code == 201, r.text
    validate(r.json(), response_schema("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post", 201))
    r = dave.post(double + "/repos/acme/widgets/issues/7/comments", json={})
    assert r.status_code == 422
    validate(r.json(), response_schema("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post", 422))


def test_pull_request_carries_review_requests(double, bob):
    body = bob.get(double + "/repos/acme/widgets/pulls/7").json()
    # dave is requested in the seed until he submits a review (other tests do).
    assert {u["login"] for u in body["requested_reviewers"]} <= {"dave"}
    assert body["requested_teams"][0]["slug"] == "core"
    assert body["mergeable_state"] == "unstable"


COMMENTS = "/repos/{owner}/{repo}/pulls/{pull_number}/comments"
COMMENT = "/repos/{owner}/{repo}/pulls/comments/{comment_id}"


def test_bots_are_bots_in_rest(double, bob):
    comments = bob.get(double + "/repos/acme/widgets/pulls/11/comments").json()
    users = {c["user"]["login"]: c["user"]["type"] for c in comments}
    assert users == {"coderabbitai[bot]": "Bot", "copilot-pull-request-reviewer[bot]": "Bot",
                     "gemini-code-assist[bot]": "Bot", "alice": "User", "bob": "User", "dave": "User"}
    outdated = next(c for c in comments if c["id"] == 2600000007)
    assert "line" not in outdated and outdated["original_line"] == 3
    file_level = next(c for c in comments if c["id"] == 2600000008)
    assert file_level["subject_type"] == "file" and "line" not in file_level
    assert {c["subject_type"] for c in comments} == {"line", "file"}


def head_sha(double, who, number):
    return who.get(double + f"/repos/acme/widgets/pulls/{number}").json()["head"]["sha"]


def test_comment_creation_edit_and_delete_match_openapi(double, dave, bob):
    url = double + "/repos/acme/widgets/pulls/7/comments"
    sha = head_sha(double, dave, 7)
    r = dave.post(url, json={"body": "whole file", "commit_id": sha, "path": "src/lib.rs", "subject_type": "file"})
    assert r.status_code == 201, r.text
    validate(r.json(), response_schema(COMMENTS, "post", 201))
    assert r.json()["subject_type"] == "file"
    r = dave.post(url, json={"body": "a line", "commit_id": sha, "path": "src/lib.rs", "line": 2})
    assert r.status_code == 201, r.text
    validate(r.json(), response_schema(COMMENTS, "post", 201))
    line = r.json()
    assert (line["subject_type"], line["line"]) == ("line", 2)
    for body, message in [
        ({"body": "b", "commit_id": sha, "path": "nope.rs", "subject_type": "file"}, "Path could not be resolved"),
        ({"body": "b", "commit_id": sha, "path": "src/lib.rs", "line": 90},
         "pull_request_review_thread.line must be part of the diff"),
    ]:
        r = dave.post(url, json=body)
        assert r.status_code == 422, r.text
        validate(r.json(), response_schema(COMMENTS, "post", 422))
        assert r.json()["errors"][0]["message"] == message
    r = bob.post(url, json={"body": "b", "commit_id": sha, "path": "src/lib.rs", "line": 2})
    assert r.status_code == 403
    validate(r.json(), response_schema(COMMENTS, "post", 403))

    one = double + f"/repos/acme/widgets/pulls/comments/{line['id']}"
    assert bob.patch(one, json={"body": "not mine"}).status_code == 403
    r = dave.patch(one, json={"body": "a better line"})
    assert r.status_code == 200, r.text
    validate(r.json(), response_schema(COMMENT, "patch", 200))
    assert r.json()["body"] == "a better line"
    r = dave.delete(one)
    assert r.status_code == 204 and r.content == b""
    r = dave.delete(one)
    assert r.status_code == 404
    validate(r.json(), response_schema(COMMENT, "delete", 404))


def test_push_outdates_and_bodies_still_match_openapi(double, alice, dave):
    """The push control outdates the bot's line-15 thread on widgets#11; the REST
    bodies keep GitHub's shapes, and a pending comment off the new diff is dropped
    at submit."""
    base = double + "/repos/acme/widgets/pulls/11"
    r = dave.post(base + "/reviews", json={"comments": [
        {"path": "src/parser.rs", "line": 15, "body": "gone after the push"},
        {"path": "src/parser.rs", "line": 47, "body": "kept"}]})
    assert r.status_code == 200, r.text
    review = r.json()
    old = head_sha(double, alice, 11)
    r = alice.post(double + "/_double/pulls/acme/widgets/11/files", json={"files": [{
        "filename": "src/parser.rs",
        "patch": "@@ -40,2 +46,4 @@ fn build(tokens: &[Token]) -> Result<Ast, Error> {\n"
                 "     let root = Node::root();\n+    let cache = HashMap::new();\n+    let _ = cache;\n     Ok(Ast { root })"}]})
    assert r.status_code == 200, r.text
    assert r.json()["head_sha"] != old
    comments = alice.get(base + "/comments?per_page=100").json()
    validate(comments, response_schema(COMMENTS, "get", 200))
    limit = next(c for c in comments if c["id"] == 2600000003)
    assert "line" not in limit and limit["original_line"] == 15
    assert limit["original_commit_id"] == old == limit["commit_id"]
    r = dave.post(base + f"/reviews/{review['id']}/events", json={"event": "COMMENT"})
    assert r.status_code == 200, r.text
    validate(r.json(), response_schema(REVIEW + "/events", "post", 200))
    r = dave.get(base + f"/reviews/{review['id']}/comments")
    validate(r.json(), response_schema(REVIEW + "/comments", "get", 200))
    assert [c["body"] for c in r.json()] == ["kept"]


def _check_run(session, double, name):
    runs = session.get(double + "/repos/acme/widgets/commits/feature-x/check-runs").json()["check_runs"]
    return next(r for r in runs if r["name"] == name)


ANNOTATIONS = "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations"
JOB_LOGS = "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs"


def test_check_run_annotations_match_openapi(double, bob):
    run = _check_run(bob, double, "lint")
    assert run["output"]["annotations_count"] == 3
    for prefix in ("", "/api/v3"):
        r = bob.get(double + prefix + f"/repos/acme/widgets/check-runs/{run['id']}/annotations")
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body) == 3
        validate(body, response_schema(ANNOTATIONS, "get", 200))
    r = bob.get(double + f"/repos/acme/widgets/check-runs/{run['id']}/annotations?per_page=2&page=1")
    assert len(r.json()) == 2 and 'rel="next"' in r.headers["Link"]


def test_job_logs_redirect_as_openapi_describes(double, bob, carol):
    run = _check_run(bob, double, "lint")
    op = spec()["paths"][JOB_LOGS]["get"]
    assert set(op["responses"]) == {"302"}
    r = bob.get(double + f"/repos/acme/widgets/actions/jobs/{run['id']}/logs", allow_redirects=False)
    assert r.status_code == 302
    assert all(h in r.headers for h in op["responses"]["302"]["headers"]), r.headers
    location = r.headers["Location"]
    # Another host than the API's (127.0.0.1), as GitHub's pipelines host is.
    assert urllib.parse.urlsplit(location).hostname == "localhost"
    download = requests.get(location)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/plain")
    assert "Process completed with exit code" in download.text
    assert carol.get(double + f"/repos/acme/widgets/actions/jobs/{run['id']}/logs",
                     allow_redirects=False).status_code == 404
    build = _check_run(bob, double, "build")
    r = bob.get(double + f"/repos/acme/widgets/actions/jobs/{build['id']}/logs", allow_redirects=False)
    assert r.status_code == 404
    # The 404 body is GitHub's `basic-error`, as every endpoint's.
    validate(r.json(), response_schema("/repos/{owner}/{repo}/pulls/{pull_number}", "get", 404))
