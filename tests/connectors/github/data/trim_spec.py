"""Trim GitHub's OpenAPI description to the operations the github connector uses.

Source: `generated/api.github.com.json` of the npm package `@octokit/openapi` 23.0.2 (GitHub's
official description with Octokit's extensions; MIT, see `LICENSE.octokit-openapi` beside this
file). The project keeps a copy in `shared/specs/api.github.com.json.gz`.

    python tests/connectors/github/data/trim_spec.py [SOURCE.json[.gz]]

writes `github-openapi-trimmed.json` beside this script: exactly the paths and methods in
`OPERATIONS`, the components they reference (transitively), no examples (documentation only,
half again the size), and the overrides below, each with its reason. Every override first
checks that the source still says what it corrects, so a newer description that fixes it makes
this script fail instead of silently keeping a stale patch.

The description's server is https://api.github.com; the fake serves GHES-style under `/api/v3`.
The contract checker (`tests/connectors/github/contract.py`) strips that base path, so the
description is used as it is.
"""

from __future__ import annotations

import copy
import gzip
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "github-openapi-trimmed.json"
#: The project's copy, in shared/ beside the checkout.
DEFAULT_SOURCES = (HERE.parents[3].parent / "shared" / "specs" / "api.github.com.json.gz",)

#: (method, path) of every request the connector sends, App token exchange included.
OPERATIONS: tuple[tuple[str, str], ...] = (
    ("post", "/app/installations/{installation_id}/access_tokens"),
    ("get", "/app"),
    ("get", "/user"),
    ("get", "/search/code"),
    ("get", "/search/issues"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("put", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/repos/{owner}/{repo}/branches"),
    ("get", "/repos/{owner}/{repo}/commits"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("get", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("get", "/repos/{owner}/{repo}/issues"),
    ("post", "/repos/{owner}/{repo}/issues"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("patch", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("get", "/repos/{owner}/{repo}/labels"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("post", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/files"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/comments"),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies"),
    ("patch", "/repos/{owner}/{repo}/pulls/comments/{comment_id}"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("get", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("post", "/repos/{owner}/{repo}/git/refs"),
    ("patch", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("get", "/repos/{owner}/{repo}/git/commits/{commit_sha}"),
    ("post", "/repos/{owner}/{repo}/git/blobs"),
    ("post", "/repos/{owner}/{repo}/git/trees"),
    ("post", "/repos/{owner}/{repo}/git/commits"),
    ("get", "/repos/{owner}/{repo}/actions/runs"),
    ("get", "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs"),
    ("get", "/repos/{owner}/{repo}/actions/jobs/{job_id}"),
    ("get", "/repos/{owner}/{repo}/actions/jobs/{job_id}/logs"),
)

#: Webhook payload schemas (components, no path) kept for the webhook service's tests: the deliveries
#: it reads are checked against them (tests/model/webhook/test_payload_contract.py).
WEBHOOK_SCHEMAS: tuple[str, ...] = (
    "webhook-issue-comment-created",
    "webhook-issue-comment-edited",
    "webhook-pull-request-review-comment-created",
)

Spec = dict[str, Any]


# -- overrides ---------------------------------------------------------------------------------
#
# Each takes the whole (copied) description, asserts that the source still says what it
# corrects, and patches it. Kept minimal: a field, a response, a keyword.

BASIC_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/basic-error"}}}
NOTE = " (added by trim_spec.py)"

#: Statuses GitHub can send for any operation, though the description lists each only on some:
#: 401 bad or expired credentials; 403 a missing permission or the primary rate limit; 404 a
#: resource that does not exist or that the credentials may not see (GitHub hides private
#: resources behind 404); 429 and 403 secondary rate limits; 5xx server failures. Documented in
#: GitHub's "Troubleshooting the REST API" and "Rate limits for the REST API".
ANY_OPERATION: dict[str, Any] = {
    "401": {"$ref": "#/components/responses/requires_authentication"},
    "403": {"$ref": "#/components/responses/forbidden"},
    "404": {"$ref": "#/components/responses/not_found"},
    "429": {"description": "Secondary rate limit" + NOTE, "content": BASIC_ERROR},
    "5XX": {"description": "Server error" + NOTE, "content": BASIC_ERROR},
}
#: A GET with a matching If-None-Match is answered 304 by any endpoint (conditional requests,
#: which do not count against the rate limit; the connector sends them for every repeated GET).
ANY_GET: dict[str, Any] = {"304": {"$ref": "#/components/responses/not_modified"}}


def _operation(spec: Spec, method: str, path: str) -> Spec:
    op: Spec = spec["paths"][path][method]
    return op


def _json_schema(spec: Spec, method: str, path: str, status: str) -> Spec:
    schema: Spec = _operation(spec, method, path)["responses"][status]["content"]["application/json"]["schema"]
    return schema


def any_status(spec: Spec) -> None:
    for method, path in OPERATIONS:
        responses = _operation(spec, method, path)["responses"]
        for status, response in (ANY_OPERATION | (ANY_GET if method == "get" else {})).items():
            responses.setdefault(status, copy.deepcopy(response))


def nullable_enums(spec: Spec) -> None:
    """GitHub sends null for nullable enums (`state_reason` of an open issue, `conclusion` of a
    running check), but OpenAPI 3.0.3 says an enum must list null for a nullable schema to accept
    it, and GitHub's enums do not: add null to every nullable enum."""
    count = 0

    def walk(node: Any) -> None:
        nonlocal count
        if isinstance(node, dict):
            if node.get("nullable") is True and isinstance(node.get("enum"), list) and None not in node["enum"]:
                node["enum"].append(None)
                count += 1
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert count, "no nullable enum without null left: drop this override"


def label_description_nullable(spec: Spec) -> None:
    """A label's `description` is null when it has none. `pull-request` and `label` say so;
    `pull-request-simple`'s copy of the same label object (pulls/list) says a non-null string."""
    schemas = spec["components"]["schemas"]
    full = schemas["pull-request"]["properties"]["labels"]["items"]["properties"]["description"]
    simple = schemas["pull-request-simple"]["properties"]["labels"]["items"]["properties"]["description"]
    assert full.get("nullable") and not simple.get("nullable"), "pull-request-simple labels fixed upstream"
    simple["nullable"] = True


def contents_discriminator(spec: Spec) -> None:
    """repos/get-content's oneOf has a discriminator on `type` mapping "array" to a directory
    listing, but a listing is a JSON array with no `type` property, so every directory listing
    fails; the oneOf alone tells the four shapes apart."""
    schema = _json_schema(spec, "get", "/repos/{owner}/{repo}/contents/{path}", "200")
    assert schema["discriminator"]["mapping"]["array"] == "#/components/schemas/content-directory"
    del schema["discriminator"]


def overlapping_error_bodies(spec: Spec) -> None:
    """Some error responses are a oneOf of `basic-error` (or `validation-error`) and
    `repository-rule-violation-error`, whose properties are all optional: every GitHub error body
    matches both, which oneOf forbids. anyOf keeps the meaning."""
    changed = 0
    for method, path in OPERATIONS:
        for status, response in _operation(spec, method, path)["responses"].items():
            schema = (response.get("content") or {}).get("application/json", {}).get("schema", {})
            branches = [b.get("$ref", "") for b in schema.get("oneOf", [])]
            if status.startswith("4") and "#/components/schemas/repository-rule-violation-error" in branches:
                schema["anyOf"] = schema.pop("oneOf")
                changed += 1
    assert changed, "no overlapping oneOf error bodies left: drop this override"


def pull_diff_media_type(spec: Spec) -> None:
    """pulls/get serves the pull request as a unified diff for `Accept: application/vnd.github.diff`
    (its description says so) but lists only application/json under 200."""
    op = _operation(spec, "get", "/repos/{owner}/{repo}/pulls/{pull_number}")
    content = op["responses"]["200"]["content"]
    assert "application/vnd.github.diff" in op["description"] and "application/vnd.github.diff" not in content
    content["application/vnd.github.diff"] = {"schema": {"type": "string"}}


def flatten_issue_update(spec: Spec) -> None:
    """issues/update answers `allOf: [issue, {suggestions}]`. The contract checker forbids
    properties a schema does not document (to catch drift in the fake), and openapi-core applies
    that to each allOf branch alone, so each branch rejects the other's properties. The one allOf
    of the trimmed set becomes the equivalent single object schema."""
    schema = _json_schema(spec, "patch", "/repos/{owner}/{repo}/issues/{issue_number}", "200")
    issue_ref, extra = schema["allOf"]
    assert issue_ref == {"$ref": "#/components/schemas/issue"} and set(extra["properties"]) == {"suggestions"}
    flat = copy.deepcopy(spec["components"]["schemas"]["issue"])
    flat["properties"] |= extra["properties"]
    schema.clear()
    schema.update(flat)


def error_status_field(spec: Spec) -> None:
    """GitHub's error bodies carry `status` (the HTTP status as a string) beside `message` and
    `documentation_url`; `basic-error` documents it, `validation-error` and the inline error
    schemas (pulls/merge 405/409) do not."""
    components = spec["components"]
    added = 0

    def resolve(node: Spec) -> Spec:
        while "$ref" in node:
            _, _, kind, name = node["$ref"].split("/", 3)
            node = components[kind][name]
        return node

    def patch(schema: Spec) -> None:
        nonlocal added
        schema = resolve(schema)
        for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
            patch(branch)
        props = schema.get("properties")
        if schema.get("type") == "object" and props and "message" in props and "status" not in props:
            props["status"] = {"type": "string", "description": "The HTTP status" + NOTE}
            added += 1

    for method, path in OPERATIONS:
        for status, response in _operation(spec, method, path)["responses"].items():
            if status[0] in "45":
                for media in (resolve(response).get("content") or {}).values():
                    patch(media["schema"])
    assert added, "every error schema documents status: drop this override"


OVERRIDES: list[tuple[str, Callable[[Spec], None]]] = [
    ("statuses GitHub sends for any operation (401/403/404/429/5xx, 304 on GET)", any_status),
    ("null allowed in nullable enums", nullable_enums),
    ("pull-request-simple label description nullable", label_description_nullable),
    ("no discriminator on repos/get-content (a directory listing is an array)", contents_discriminator),
    ("anyOf for error bodies that match both alternatives", overlapping_error_bodies),
    ("pulls/get 200 as application/vnd.github.diff", pull_diff_media_type),
    ("`status` in error bodies", error_status_field),
    ("issues/update 200 allOf flattened (for the checker's no-undocumented-properties policy)", flatten_issue_update),
]


# -- trimming ----------------------------------------------------------------------------------


def load(source: Path) -> Spec:
    opener: Any = gzip.open if source.suffix == ".gz" else open
    with opener(source, "rt", encoding="utf-8") as f:
        data: Spec = json.load(f)
    return data


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def _strip_examples(node: Any) -> None:
    """Drop `examples`/`example` of media types and parameters (not of schemas: a schema may have
    a property called `examples`)."""
    if not isinstance(node, dict):
        return
    for parameter in node.get("parameters", []):
        if isinstance(parameter, dict):
            parameter.pop("examples", None)
    bodies = [node.get("requestBody"), *(node.get("responses") or {}).values()]
    for body in bodies:
        for media in ((body or {}).get("content") or {}).values():
            media.pop("examples", None)
            media.pop("example", None)


def trim(spec: Spec) -> Spec:
    """The trimmed description (patches `spec`, as loaded by `load`, in place)."""
    for _name, override in OVERRIDES:
        override(spec)
    paths: Spec = {}
    for method, path in OPERATIONS:
        item = spec["paths"][path]
        kept = paths.setdefault(path, {k: v for k, v in item.items() if k == "parameters"})
        kept[method] = item[method]
        _strip_examples(kept[method])
    components: dict[str, Spec] = {}
    pending = [*refs(paths), *(f"#/components/schemas/{name}" for name in WEBHOOK_SCHEMAS)]
    while pending:
        ref = pending.pop()
        _, section, kind, name = ref.split("/", 3)
        assert section == "components", ref
        if name in components.get(kind, {}):
            continue
        node = copy.deepcopy(spec["components"][kind][name])
        if kind in ("responses", "requestBodies"):
            _strip_examples({"responses": {name: node}})
        components.setdefault(kind, {})[name] = node
        pending.extend(refs(node))
    info = dict(spec["info"])
    info["x-trimmed"] = (
        "Trimmed by tests/connectors/github/data/trim_spec.py to the operations the mcp-hub github "
        "connector uses; overrides: " + "; ".join(name for name, _ in OVERRIDES)
    )
    return {
        "openapi": spec["openapi"],
        "info": info,
        "servers": spec["servers"],
        "paths": paths,
        "components": {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())},
    }


def main(argv: list[str]) -> int:
    candidates = [Path(argv[1])] if len(argv) > 1 else [p for p in DEFAULT_SOURCES if p.exists()]
    if not candidates or not candidates[0].exists():
        print("usage: trim_spec.py SOURCE (api.github.com.json[.gz] of @octokit/openapi 23.0.2)", file=sys.stderr)
        return 2
    trimmed = trim(load(candidates[0]))
    from openapi_spec_validator import validate  # only here: the tests load the output unchecked

    validate(trimmed)
    OUTPUT.write_text(json.dumps(trimmed, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    ops = sum(len([k for k in item if k != "parameters"]) for item in trimmed["paths"].values())
    schemas = len(trimmed["components"].get("schemas", {}))
    print(f"wrote {OUTPUT.name}: {ops} operations, {schemas} schemas, {OUTPUT.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
