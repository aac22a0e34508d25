"""One-off: trim Slack's Swagger 2.0 Web API spec to the methods we use and convert it to OpenAPI 3.0.

    python tests/connectors/slack/data/convert_spec.py [/path/to/slack_web_openapi_v2.json.gz]

Needs Node (npx downloads `swagger2openapi` from the npm registry on first use). openapi-core reads only
OpenAPI 3, so the committed result (`slack_web_openapi3.json`) is what the tests load; re-run this only to
pick up a newer spec. The source is slackapi/slack-api-specs (MIT, see LICENSE.slack-api-specs).

Overrides applied after conversion, because the published spec disagrees with what Slack serves:

- Auth: every operation declares a `token` query/header/form parameter (and an OAuth2 `slackAuth`
  requirement); slack-sdk sends `Authorization: Bearer …` instead. The `token` parameters are removed and a
  bearer scheme is declared.
- `conversations.history` / `conversations.replies` omit `response_metadata` (the cursor) and demand
  `minItems: 1` and `pin_count`/`channel_actions_*`, which Slack does not always send: we add the cursor
  and relax those.
- Error enums lack codes Slack returns for these methods (`not_in_channel`, `ratelimited`, …): added.
- Message (incl. the replies' inline parent/reply schemas), user and conversation objects forbid
  properties the current API returns (`user_team`, `source_team`, `is_stranger`, …):
  `additionalProperties` is allowed on those objects.
- `objs_user_profile` requires `fields`, which users.info / users.list profiles do not carry: not required.
- JSON-Schema-draft-4 tuple `items: [a, b]` (the spec's way to say "a or null") becomes `anyOf`.
- Methods with form parameters also take the same fields as JSON (`consumes` lists both; the converter
  keeps only the form): slack-sdk posts `chat.postMessage` as JSON.
- Slack takes GET or POST for every method; slack-sdk POSTs `auth.test`, which the spec has as GET only:
  the operation is duplicated as POST.
- Slack sends `ok: false` errors with HTTP 200, while the spec files them under `default`: the tests'
  checker validates `ok: false` bodies against `default` (no change to the document).
- `search.messages`: its success schema is a placeholder; kept (it only checks `ok`).
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DEFAULT_SOURCE = Path("/work/shared/specs/slack_web_openapi_v2.json.gz")
OUT = HERE / "slack_web_openapi3.json"
PATHS = [
    "/auth.test",
    "/conversations.list",
    "/conversations.info",
    "/conversations.history",
    "/conversations.replies",
    "/search.messages",
    "/users.info",
    "/users.list",
    "/chat.postMessage",
    "/reactions.add",
]
EXTRA_ERRORS = ["ratelimited", "not_in_channel", "missing_scope", "invalid_auth", "channel_not_found"]
OPEN_OBJECTS = ["objs_message", "objs_user", "objs_conversation", "objs_user_profile", "objs_bot_profile"]


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def trim(spec: dict[str, Any]) -> dict[str, Any]:
    paths = {p: spec["paths"][p] for p in PATHS}
    names: set[str] = set()
    _refs(paths, names)
    while True:
        more: set[str] = set()
        for name in names:
            _refs(spec["definitions"][name], more)
        if more <= names:
            break
        names |= more
    keep = {k: spec[k] for k in ("swagger", "info", "host", "basePath", "schemes", "externalDocs")}
    return keep | {"paths": paths, "definitions": {n: spec["definitions"][n] for n in sorted(names)}}


def _tuple_items(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _tuple_items(v) for k, v in node.items()}
        items = node.get("items")
        if isinstance(items, dict) and "anyOf" in items and node.get("type") != "array":
            node["anyOf"] = node.pop("items")["anyOf"]  # the converter's reading of a top-level tuple
            return node
        if isinstance(items, list):
            del node["items"]
            kinds = [i for i in items if i.get("type") != "null"]
            if len(kinds) < len(items):
                node["nullable"] = True
            if node.get("type") == "array":
                node["items"] = {"anyOf": kinds} if len(kinds) > 1 else (kinds[0] if kinds else {})
            else:
                node["anyOf"] = kinds
                node.pop("type", None)
        return node
    if isinstance(node, list):
        return [_tuple_items(v) for v in node]
    return node


def override(doc: dict[str, Any]) -> dict[str, Any]:
    doc = _tuple_items(doc)
    doc["components"].setdefault("securitySchemes", {}).clear()
    doc["components"]["securitySchemes"]["bearer"] = {"type": "http", "scheme": "bearer"}
    doc["security"] = [{"bearer": []}]
    doc["servers"] = [{"url": "/api"}]
    for item in doc["paths"].values():
        for op in item.values():
            op.pop("security", None)
            op["parameters"] = [p for p in op.get("parameters", []) if p.get("name") != "token"]
            body = op.get("requestBody", {}).get("content", {})
            if "application/x-www-form-urlencoded" in body:
                body.setdefault("application/json", json.loads(json.dumps(body["application/x-www-form-urlencoded"])))
            for media in body.values():
                props = media.get("schema", {}).get("properties", {})
                props.pop("token", None)
                required = media.get("schema", {}).get("required")
                if required and "token" in required:
                    required.remove("token")
            for status, response in op["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                error = schema.get("properties", {}).get("error", {})
                if status == "default" and "enum" in error:
                    error["enum"] += [e for e in EXTRA_ERRORS if e not in error["enum"]]
    for name in ("/conversations.history", "/conversations.replies"):
        schema = doc["paths"][name]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        schema["properties"]["response_metadata"] = {
            "type": "object",
            "properties": {"next_cursor": {"type": "string"}},
        }
        schema["properties"]["messages"].pop("minItems", None)
        _open(schema["properties"]["messages"].get("items", {}))
        schema["required"] = [r for r in schema["required"] if r in ("ok", "messages")]
    auth = doc["paths"]["/auth.test"]
    auth["post"] = json.loads(json.dumps(auth["get"])) | {"operationId": "auth_test_post"}
    schemas = doc["components"]["schemas"]
    profile = schemas["objs_user_profile"]
    profile["required"] = [r for r in profile.get("required", []) if r != "fields"]
    for name in OPEN_OBJECTS:
        _open(schemas[name])
    return doc


def _open(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("additionalProperties") is False:
            node["additionalProperties"] = True
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in node.get(key, []):
                _open(sub)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        trimmed = trim(json.load(handle))
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp, "v2.json"), Path(tmp, "v3.json")
        src.write_text(json.dumps(trimmed), encoding="utf-8")
        subprocess.run(["npx", "--yes", "swagger2openapi@7", "--patch", "-o", str(dst), str(src)], check=True)
        converted = json.loads(dst.read_text(encoding="utf-8"))
    OUT.write_text(json.dumps(override(converted), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
