"""The server's GraphQL documents are valid against GitHub's schema and run on the
double without errors; the double's own schema is a subset of GitHub's."""

import pathlib

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    OperationDefinitionNode,
    build_client_schema,
    build_schema,
    get_introspection_query,
    parse,
    validate,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "crates" / "github-double" / "api" / "schema.graphql"
DOCUMENTS = sorted((ROOT / "crates" / "github-review-mcp" / "src" / "github" / "graphql").glob("*.graphql"))

_github = None


def github_schema():
    global _github
    if _github is None:
        # Lenient, as ../shared/README.md advises: the published schema defines a few fields
        # twice, so neither the SDL nor the schema is validated (graphql-core 3.3 checks
        # the schema in validate() unless assume_valid); documents still are.
        _github = build_schema(SCHEMA.read_text(), assume_valid_sdl=True, assume_valid=True)
    return _github


def test_there_are_documents_to_check():
    assert DOCUMENTS, "no .graphql documents found in the server crate"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=[d.name for d in DOCUMENTS])
def test_document_is_valid_against_githubs_schema(doc):
    errors = validate(github_schema(), parse(doc.read_text()))
    assert not errors, [e.message for e in errors]


def post(session, url, query, variables=None):
    r = session.post(url + "/graphql", json={"query": query, "variables": variables or {}})
    assert r.status_code == 200, r.text
    return r.json()


def a_thread_id(double, alice):
    body = post(
        alice,
        double,
        'query { repository(owner: "acme", name: "widgets") { pullRequest(number: 7) '
        "{ reviewThreads(first: 1) { nodes { id } } } } }",
    )
    return body["data"]["repository"]["pullRequest"]["reviewThreads"]["nodes"][0]["id"]


def variables_for(operation, thread_id, review_id=None):
    """Values for an operation's variables: by name where known, else by type."""
    by_name = {"owner": "acme", "name": "widgets", "number": 7, "id": thread_id, "body": "from fidelity",
               "path": "src/lib.rs", "line": 3, "startLine": 2, "side": "RIGHT", "startSide": "RIGHT"}
    if review_id:
        by_name["reviewId"] = review_id
    out = {}
    for var in operation.variable_definitions or ():
        name = var.variable.name.value
        t = var.type
        required = t.kind == "non_null_type"
        base = t.type.name.value if required else getattr(t, "name", None) and t.name.value
        if name in by_name:
            out[name] = by_name[name]
        elif name.endswith("Page") or base == "Int":
            out[name] = 10
        elif base == "ID":
            out[name] = thread_id
        elif required and base == "String":
            out[name] = "x"
        elif required and base == "Boolean":
            out[name] = False
        elif required:
            pytest.fail(f"don't know a value for ${name}: {base}")
    return out


@pytest.fixture
def pending_review(double, dave):
    """Node id of a pending review of dave's on widgets#7, deleted afterwards."""
    base = double + "/repos/acme/widgets/pulls/7/reviews"
    r = dave.post(base, json={})
    assert r.status_code == 200, r.text
    yield r.json()["node_id"]
    dave.delete(f"{base}/{r.json()['id']}")


def _returns_something(value):
    if isinstance(value, dict):
        return any(_returns_something(v) for v in value.values())
    return value is not None


@pytest.mark.parametrize("doc", DOCUMENTS, ids=[d.name for d in DOCUMENTS])
def test_document_runs_on_the_double_without_errors(double, alice, dave, pending_review, doc):
    """Every document executes without errors (mutations as a writer who is not the
    author, on dave's pending review) and returns data."""
    tree = parse(doc.read_text())
    thread_id = a_thread_id(double, alice)
    for op in tree.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        session = dave if op.operation.value == "mutation" else alice
        body = post(session, double, doc.read_text(), variables_for(op, thread_id, pending_review))
        assert "errors" not in body, body["errors"]
        assert _returns_something(body["data"]), body


def test_mutations_without_permission_are_forbidden(double, alice, bob):
    thread_id = a_thread_id(double, alice)
    for name, field in [("resolve_thread.graphql", "resolveReviewThread"),
                        ("unresolve_thread.graphql", "unresolveReviewThread")]:
        doc = (ROOT / "crates/github-review-mcp/src/github/graphql" / name).read_text()
        body = post(bob, double, doc, {"threadId": thread_id})
        assert body["data"] == {field: None}
        assert body["errors"][0]["type"] == "FORBIDDEN"
        assert body["errors"][0]["path"] == [field]


def test_pending_comments_are_visible_only_to_their_author(double, alice, dave, pending_review):
    doc = (ROOT / "crates/github-review-mcp/src/github/graphql/add_pending_comment.graphql").read_text()
    body = post(dave, double, doc, {"reviewId": pending_review, "path": "src/lib.rs", "line": 4, "body": "mine"})
    thread = body["data"]["addPullRequestReviewThread"]["thread"]["id"]
    seen = post(alice, double, "query($id: ID!) { node(id: $id) { id } }", {"id": thread})
    assert seen["data"]["node"] is None and seen["errors"][0]["type"] == "NOT_FOUND"
    mine = post(dave, double, "query($id: ID!) { node(id: $id) { id } }", {"id": thread})
    assert mine["data"]["node"]["id"] == thread


def test_double_schema_is_a_subset_of_githubs(double, alice):
    """Every type, field, argument and enum value the double serves exists on GitHub
    with the same type, so documents valid on the double are valid on GitHub."""
    intro = post(alice, double, get_introspection_query())["data"]
    ours = build_client_schema(intro)
    theirs = github_schema()
    problems = []
    for name, t in ours.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Boolean", "ID", "Float"):
            continue
        g = theirs.type_map.get(name)
        if g is None:
            problems.append(f"type {name} not in GitHub's schema")
            continue
        if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType, GraphQLInputObjectType)):
            for fname, f in t.fields.items():
                gf = g.fields.get(fname)
                if gf is None:
                    problems.append(f"{name}.{fname} not on GitHub")
                    continue
                if str(f.type) != str(gf.type):
                    problems.append(f"{name}.{fname}: {f.type} vs GitHub {gf.type}")
                for aname, a in getattr(f, "args", {}).items():
                    ga = gf.args.get(aname)
                    if ga is None or str(a.type) != str(ga.type):
                        problems.append(f"{name}.{fname}({aname}) differs")
        if isinstance(t, GraphQLEnumType):
            extra = set(t.values) - set(g.values)
            if extra:
                problems.append(f"enum {name} has extra values {extra}")
        if isinstance(t, GraphQLObjectType):
            missing = {i.name for i in t.interfaces} - {i.name for i in g.interfaces}
            if missing:
                problems.append(f"{name} implements {missing} which GitHub's does not")
    assert not problems, "\n".join(problems)


def test_not_found_has_githubs_shape(double, bob):
    doc = (ROOT / "crates/github-review-mcp/src/github/graphql/review_threads.graphql").read_text()
    body = post(
        bob, double, doc, {"owner": "acme", "name": "nope", "number": 1, "threadsPage": 1, "commentsPage": 1}
    )
    assert body["data"]["repository"] is None
    err = body["errors"][0]
    assert err["type"] == "NOT_FOUND"
    assert err["path"] == ["repository"]
    assert err["message"] == "Could not resolve to a Repository with the name 'acme/nope'."


BOT_AUTHORS = """
query BotAuthors($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviews(first: 10) { nodes { author { __typename login } } }
      reviewThreads(first: 20) {
        nodes {
          subjectType isOutdated line originalLine
          comments(first: 5) {
            nodes {
              author { login }
              byType: author { __typename login ... on Bot { id url avatarUrl } ... on User { id name } }
            }
          }
        }
      }
    }
  }
}
"""


def test_bot_authors_are_bots_without_the_suffix(double, bob):
    errors = validate(github_schema(), parse(BOT_AUTHORS))
    assert not errors, [e.message for e in errors]
    body = post(bob, double, BOT_AUTHORS, {"owner": "acme", "name": "widgets", "number": 11})
    assert "errors" not in body, body
    pr = body["data"]["repository"]["pullRequest"]
    firsts = [t["comments"]["nodes"][0] for t in pr["reviewThreads"]["nodes"]]
    assert [c["author"]["login"] for c in firsts] == [
        "coderabbitai", "coderabbitai", "copilot-pull-request-reviewer", "gemini-code-assist", "coderabbitai", "dave"]
    assert [c["byType"]["__typename"] for c in firsts] == ["Bot"] * 5 + ["User"]
    assert firsts[0]["byType"]["url"].endswith("/apps/coderabbitai")
    assert "name" not in firsts[0]["byType"] and "url" not in firsts[5]["byType"]
    threads = pr["reviewThreads"]["nodes"]
    assert [t["subjectType"] for t in threads][-1] == "FILE"
    assert threads[5]["line"] is None and threads[5]["isOutdated"] is False
    assert {r["author"]["__typename"] for r in pr["reviews"]["nodes"]} == {"Bot", "User"}


EDITS = """
mutation AddFile($pr: ID!) {
  addPullRequestReviewThread(input: {pullRequestId: $pr, path: "src/new_name.rs", subjectType: FILE, body: "whole file"}) {
    thread { id subjectType line startLine isOutdated comments(first: 1) { nodes { id } } }
  }
}
mutation AddOffDiff($pr: ID!) {
  addPullRequestReviewThread(input: {pullRequestId: $pr, path: "src/lib.rs", line: 90, body: "off the diff"}) {
    thread { id }
  }
}
mutation Edit($id: ID!) {
  updatePullRequestReviewComment(input: {pullRequestReviewCommentId: $id, body: "edited"}) {
    pullRequestReviewComment { body lastEditedAt state }
  }
}
mutation Delete($id: ID!) {
  deletePullRequestReviewComment(input: {id: $id}) {
    pullRequestReviewComment { id } pullRequestReview { state }
  }
}
"""


def test_file_threads_edits_and_deletes_run_as_on_github(double, dave, bob):
    errors = validate(github_schema(), parse(EDITS))
    assert not errors, [e.message for e in errors]
    pr = post(dave, double, 'query { repository(owner: "acme", name: "widgets") { pullRequest(number: 7) { id } } }')
    pr_id = pr["data"]["repository"]["pullRequest"]["id"]
    run = lambda who, op, v: who.post(double + "/graphql", json={"query": EDITS, "operationName": op, "variables": v}).json()
    body = run(dave, "AddFile", {"pr": pr_id})
    assert "errors" not in body, body
    thread = body["data"]["addPullRequestReviewThread"]["thread"]
    assert (thread["subjectType"], thread["line"], thread["startLine"], thread["isOutdated"]) == ("FILE", None, None, False)
    comment = thread["comments"]["nodes"][0]["id"]
    # GitHub answers a line off the diff with no thread and no error.
    body = run(dave, "AddOffDiff", {"pr": pr_id})
    assert body == {"data": {"addPullRequestReviewThread": {"thread": None}}}
    # dave's comment is pending: invisible to bob.
    body = run(bob, "Edit", {"id": comment})
    assert body["data"] == {"updatePullRequestReviewComment": None}
    assert body["errors"][0]["type"] == "NOT_FOUND"
    assert body["errors"][0]["path"] == ["updatePullRequestReviewComment"]
    body = run(dave, "Edit", {"id": comment})
    assert "errors" not in body, body
    edited = body["data"]["updatePullRequestReviewComment"]["pullRequestReviewComment"]
    assert (edited["body"], edited["state"]) == ("edited", "PENDING") and edited["lastEditedAt"]
    body = run(dave, "Delete", {"id": comment})
    assert "errors" not in body, body
    assert body["data"]["deletePullRequestReviewComment"]["pullRequestReview"]["state"] == "PENDING"
    seen = post(dave, double, "query($id: ID!) { node(id: $id) { id } }", {"id": thread["id"]})
    assert seen["data"]["node"] is None, "the thread went with its only comment"
    # Leave no pending review behind for the other tests.
    reviews = dave.get(double + "/repos/acme/widgets/pulls/7/reviews?per_page=100").json()
    for v in reviews:
        if v["state"] == "PENDING":
            dave.delete(double + f"/repos/acme/widgets/pulls/7/reviews/{v['id']}")
