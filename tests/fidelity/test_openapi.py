"""Every REST endpoint the double implements answers with a body that validates
against GitHub's OpenAPI description."""

import jsonschema
import pytest

from openapi import response_schema, to_json_schema

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
        double + "/repos/acme/widgets/pulls/9/reviews",
        json={"event": "COMMENT", "body": "A note", "comments": [{"path": "src/lib.rs", "line": 2, "body": "here"}]},
    )
    assert r.status_code == 200, r.text
    validate(r.json(), response_schema("/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "post", 200))
