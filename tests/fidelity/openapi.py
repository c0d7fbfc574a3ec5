"""OpenAPI 3.0 response schemas as JSON Schema (draft 4 validators)."""

import copy
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "crates" / "github-double" / "api" / "rest-api.github.com.json"


def to_json_schema(schema):
    """Converts OpenAPI 3.0 `nullable: true` into JSON Schema's `null` type, recursively."""
    if isinstance(schema, list):
        return [to_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: to_json_schema(v) for k, v in schema.items() if k not in ("nullable", "example", "examples")}
    if schema.get("nullable"):
        if "type" in out:
            t = out["type"]
            out["type"] = (t if isinstance(t, list) else [t]) + ["null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = out["enum"] + [None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


_spec = None


def spec():
    global _spec
    if _spec is None:
        _spec = json.loads(OPENAPI.read_text())
    return _spec


def response_schema(path, method, status):
    """JSON Schema of the `application/json` response of `method path` with `status`."""
    op = spec()["paths"][path][method]
    content = op["responses"][str(status)]["content"]["application/json"]
    return to_json_schema(copy.deepcopy(content["schema"]))
