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
        _github = build_schema(SCHEMA.read_text(), assume_valid_sdl=True)
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


def variables_for(operation, thread_id):
    """Values for an operation's variables: by name where known, else by type."""
    by_name = {"owner": "acme", "name": "widgets", "number": 7, "id": thread_id, "body": "from fidelity"}
    out = {}
    for var in operation.variable_definitions:
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


@pytest.mark.parametrize("doc", DOCUMENTS, ids=[d.name for d in DOCUMENTS])
def test_document_runs_on_the_double_without_errors(double, alice, doc):
    tree = parse(doc.read_text())
    thread_id = a_thread_id(double, alice)
    for op in tree.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        body = post(alice, double, doc.read_text(), variables_for(op, thread_id))
        assert "errors" not in body, body["errors"]
        assert body["data"], body


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
