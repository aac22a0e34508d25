"""Contract checks: what PyGithub sends to the fake and what the fake answers, against GitHub's OpenAPI description.

`Contract` is the fake's `validator`: it sees every request under `/api/v3` with its response
and validates both with openapi-core against `data/github-openapi-trimmed.json` (see
`data/trim_spec.py`):

- the request: an operation of the description matches the method and path (a request to any
  other endpoint is a violation), path and query parameters (types, enums, bounds), and the
  JSON body;
- the response: its status is one the operation documents, the headers it documents when sent
  (`Location` of a redirect, `Link`), its media type, and the body against the response schema.

Properties a schema does not document count as violations too (openapi-core's "forbid" policy
for additionalProperties), so drift in the fake's payloads or the connector's bodies shows.
The signed log URL a job-log redirect points to is outside `/api/v3` (not part of the REST
API) and is not checked. Identical exchanges are validated once and the result reused.

The description's server is https://api.github.com; the fake is a GHES-style `/api/v3`, so
the checker strips that base path and validates as if sent to api.github.com. Path parameters
marked `x-multi-segment` (a file path, `heads/main`, `base...head`) may span slashes, which
openapi-core's own path matching does not allow, so routes are matched here and handed to
openapi-core as `path_pattern` plus path parameters. Only the contents path may be empty
(the root directory).

Violations are collected, not raised (the check runs in the fake's server thread);
the `fake` fixture fails the test that caused them, at teardown, with `report()`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema.exceptions import best_match  # type: ignore[import-untyped]
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.media_types.util import plain_loads
from starlette.requests import Request
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC = Path(__file__).resolve().parent / "data" / "github-openapi-trimmed.json"
API_PREFIX = "/api/v3"
HOST = "https://api.github.com"
#: Multi-segment path parameters that may be empty: `contents/` is the repository's root
#: directory (GitHub answers it; a path parameter cannot be optional in OpenAPI 3.0).
MAY_BE_EMPTY = {("get", "/repos/{owner}/{repo}/contents/{path}", "path")}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    operation_id: str
    regex: re.Pattern[str]
    literal_chars: int


@dataclass
class Violation:
    side: str  # "request" or "response"
    method: str
    path: str
    status: int | None
    operation: str
    errors: list[str]

    def __str__(self) -> str:
        status = f" -> {self.status}" if self.status is not None else ""
        lines = "\n".join(f"    - {e}" for e in self.errors)
        return f"  {self.side} {self.method} {self.path}{status} ({self.operation}):\n{lines}"


class _Request:
    """openapi-core's Request protocol (with `path_pattern`) for one request to the fake."""

    host_url = HOST

    def __init__(
        self,
        method: str,
        path: str,
        pattern: str,
        path_params: dict[str, str],
        query: ImmutableMultiDict[str, str],
        headers: Headers,
        body: bytes,
    ) -> None:
        self.method = method.lower()
        self.path = path
        self.path_pattern = pattern
        self.body = body or None
        self.content_type = (headers.get("content-type") or "").lower()
        self.parameters = RequestParameters(path=path_params, query=query, header=headers)


@dataclass
class _Response:
    status_code: int
    headers: Headers
    data: bytes | None

    @property
    def content_type(self) -> str:
        return (self.headers.get("content-type") or "").lower()


def _segment(method: str, pattern: str, name: str, multi: set[str]) -> str:
    if name not in multi:
        return "[^/]+"
    return ".*" if (method, pattern, name) in MAY_BE_EMPTY else ".+"


def _schema_error(err: Any) -> str:
    """`path: message`; for a failed oneOf/anyOf, the closest branch's own error instead of the whole value."""
    if err.context:
        err = best_match(err.context)
    where = "/".join(str(p) for p in err.absolute_path) or "(root)"
    return f"{where}: {str(err.message)[:300]}"


def _errors(exc: BaseException) -> list[str]:
    """Readable lines for an openapi-core error: its jsonschema errors if any, else its messages."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for link in chain:
        schema_errors = list(getattr(link, "schema_errors", None) or [])
        if schema_errors:
            more = [f"... and {len(schema_errors) - 40} more"] if len(schema_errors) > 40 else []
            return [_schema_error(err) for err in schema_errors[:40]] + more
    return [f"{type(link).__name__}: {str(link)[:300]}" for link in chain[:2]]


@dataclass
class Contract:
    spec_path: Path = SPEC
    requests: int = 0
    responses: int = 0
    repeats: int = 0
    operations: Counter[str] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)

    def __post_init__(self) -> None:
        data = json.loads(self.spec_path.read_text(encoding="utf-8"))
        self.spec: dict[str, Any] = data
        # Undocumented properties in the fake's payloads or in the SDK's bodies are drift too.
        # The description is checked once, by trim_spec.py when it writes it; not on every run.
        config = Config(
            spec_validator_cls=None,
            additional_properties_default_policy="forbid",
            extra_media_type_deserializers={"application/vnd.github.diff": plain_loads},
        )
        self.openapi = OpenAPI.from_dict(data, config=config)
        self.routes = self._routes(data)
        self._lock = threading.Lock()
        self._results: dict[bytes, tuple[str | None, list[Violation]]] = {}

    # -- routing -------------------------------------------------------------------------------

    @staticmethod
    def _routes(spec: Mapping[str, Any]) -> list[Route]:
        params = spec["components"]["parameters"]
        routes = []
        for pattern, item in spec["paths"].items():
            for method, op in item.items():
                if method == "parameters":
                    continue
                multi = set()
                for ref_or_param in [*item.get("parameters", []), *op.get("parameters", [])]:
                    param = ref_or_param
                    if "$ref" in param:
                        param = params[param["$ref"].rsplit("/", 1)[-1]]
                    if param.get("in") == "path" and param.get("x-multi-segment"):
                        multi.add(param["name"])
                regex = "".join(
                    f"(?P<{part[1:-1]}>{_segment(method, pattern, part[1:-1], multi)})"
                    if part.startswith("{")
                    else re.escape(part)
                    for part in re.split(r"(\{\w+\})", pattern)
                )
                literal = len(re.sub(r"\{\w+\}", "", pattern))
                routes.append(Route(method, pattern, op["operationId"], re.compile(regex + "$"), literal))
        # Most literal first: /commits/{ref}/check-runs before /commits/{ref}.
        return sorted(routes, key=lambda r: -r.literal_chars)

    def route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method == method.lower():
                match = route.regex.match(path)
                if match:
                    return route, match.groupdict()
        return None

    # -- checking ------------------------------------------------------------------------------

    def __call__(self, request: Request, raw: bytes, status: int, headers: dict[str, str], content: bytes) -> None:
        path = request.url.path
        if not path.startswith(API_PREFIX + "/"):
            return
        path = path.removeprefix(API_PREFIX)
        self.check(
            request.method,
            path,
            ImmutableMultiDict(list(request.query_params.multi_items())),
            Headers(list(request.headers.items())),
            raw,
            status,
            Headers(list(headers.items())),
            content,
        )

    def check(
        self,
        method: str,
        path: str,
        query: ImmutableMultiDict[str, str],
        request_headers: Headers,
        body: bytes,
        status: int,
        response_headers: Headers,
        content: bytes,
    ) -> None:
        # Validation is deterministic: an exchange identical to one already checked (a repeated
        # repository lookup, a retried page) reuses its result; rate-limit counters are not compared.
        key = hashlib.sha1(
            repr(
                (
                    method,
                    path,
                    sorted(query.items(multi=True)),
                    request_headers.get("content-type"),
                    body,
                    status,
                    sorted(
                        (k.lower(), v) for k, v in response_headers.items() if not k.lower().startswith("x-ratelimit")
                    ),
                    content,
                )
            ).encode()
        ).digest()
        with self._lock:
            self.requests += 1
            self.responses += 1
            if key not in self._results:
                self._results[key] = self._validate(
                    method, path, query, request_headers, body, status, response_headers, content
                )
            else:
                self.repeats += 1
            found = self._results[key]
            self.violations.extend(found[1])
            if found[0]:
                self.operations[found[0]] += 1

    def _validate(
        self,
        method: str,
        path: str,
        query: ImmutableMultiDict[str, str],
        request_headers: Headers,
        body: bytes,
        status: int,
        response_headers: Headers,
        content: bytes,
    ) -> tuple[str | None, list[Violation]]:
        found = self.route(method, path)
        if found is None:
            return None, [
                Violation("request", method, path, None, "-", ["no operation of the trimmed description matches"])
            ]
        route, params = found
        violations = []
        req = _Request(method, path, route.pattern, params, query, request_headers, body)
        errors = [line for exc in self.openapi.iter_request_errors(req) for line in _errors(exc)]
        if errors:
            violations.append(Violation("request", method, path, None, route.operation_id, errors))
        resp = _Response(status, response_headers, content or None)
        errors = [line for exc in self.openapi.iter_response_errors(req, resp) for line in _errors(exc)]
        if errors:
            violations.append(Violation("response", method, path, status, route.operation_id, errors))
        return route.operation_id, violations

    def take(self) -> list[Violation]:
        with self._lock:
            taken, self.violations = self.violations, []
        return taken

    @staticmethod
    def report(violations: list[Violation]) -> str:
        head = f"{len(violations)} contract violation(s) against GitHub's OpenAPI description:"
        return "\n".join([head, *(str(v) for v in violations)])

    def summary(self) -> str:
        ops = sum(1 for item in self.spec["paths"].values() for m in item if m != "parameters")
        unused = sorted(
            {r.operation_id for r in self.routes} - set(self.operations),
        )
        return (
            f"github contract: {self.requests} requests and {self.responses} responses validated "
            f"({self.repeats} repeated exchanges answered from the cache), "
            f"{len(self.operations)}/{ops} operations exercised"
            + (f"; never exercised: {', '.join(unused)}" if unused else "")
        )
