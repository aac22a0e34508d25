"""Hostile arguments for every string argument of every tool, and what a fake must (not) have seen.

Shared by the connectors' traversal tests (issue 18). A connector's test gives an `Exposure`: the
hub (writes allowed), its fake's request log (`Wire` entries, recorded before routing), a predicate
saying why a request is out of scope, how a provenance label names its scope key, and valid values
for the arguments not under attack. `probe_all` then calls every tool of the live catalog (so new
tools are covered without touching the test) once per hostile value per string argument, and
`hostile_values()` / `hostile_text()` give the traversal family and a hypothesis strategy built
from it. A problem is a request the fake received outside scope, or a successful result labelled
with a scope key that is not allowed or that no request of that call addressed.

The tests share their harness from here too: the `portal`, `session` and `slots_of` fixtures (bind
them in the test module, which provides `hub`, with writes allowed, and `exposed`, a fresh `Exposure`
per call), `compositions(n)` (hypothesis settings for the random-composition test) and `probe_drawn`
(its body: draw a slot and a value, probe, assert).

Fakes record requests with `wire_entry(scope)` in their ASGI app and may route by `lenient_path`
(backslashes as slashes, decoded, dot segments resolved), so an escape really lands, and shows.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from mcp import Client
from mcp_types import CallToolResult

PROVENANCE = "mcp_hub/provenance"


@dataclass(frozen=True)
class Wire:
    """One request as the fake received it."""

    method: str
    raw_path: str
    #: The path as the fake serves it (`lenient_path`): where the request really went.
    path: str
    query: dict[str, list[str]]
    host: str


def lenient_path(path: str) -> str:
    """The path a lenient server would serve: `\\` as `/`, decoded until stable, dot segments resolved."""
    for _ in range(4):
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    path = path.replace("\\", "/")
    resolved = posixpath.normpath("/" + path.lstrip("/"))
    resolved = "/" + resolved.lstrip("/")  # normpath keeps a leading '//'
    return resolved + ("/" if path.endswith("/") and resolved != "/" else "")


def wire_entry(scope: Mapping[str, Any]) -> Wire:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    raw = scope.get("raw_path") or scope["path"].encode()
    return Wire(
        method=str(scope["method"]),
        raw_path=raw.decode("latin-1"),
        path=lenient_path(scope["path"]),
        query=parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True),
        host=headers.get("host", ""),
    )


#: Spellings of "somewhere else"; `{other}` is an out-of-scope name (owner/repo, project path, channel id).
TEMPLATES = [
    "..",
    ".",
    "../..",
    "../../..",
    "%2e%2e",
    "%2E%2E",
    "%252e%252e",
    "..%2f",
    "..%2F..%2F..",
    "..\\",
    "..\\..\\..",
    "/",
    "//",
    "?",
    "#",
    "?ref=main",
    "#top",
    "\x00",
    "\n",
    "\r\n",
    "\t",
    "\x7f",
    "\uff0e\uff0e",
    "\u2024\u2024",
    "\uff0e\uff0e\uff0f\uff0e\uff0e",
    "https://evil.example/x",
    "//evil.example/x",
    "http://127.0.0.1:1/x",
    "{other}",
    "{other}/",
    "/{other}",
    "../../{other}",
    "../../../{other}",
    "../../../../{other}/contents/secret",
    "../../{other}/contents/keys.txt",
    "main/../../../{other}",
    "%2e%2e/%2e%2e/%2e%2e/{other}",
    "%252e%252e%252f%252e%252e%252f{other}",
    "..%2f..%2f..%2f{other}",
    "..\\..\\..\\{other}",
    "\uff0e\uff0e/\uff0e\uff0e/\uff0e\uff0e/{other}",
    "x?/../../{other}",
    "x#/../../{other}",
    "repo:{other}",
    "{other_upper}",
    "{other_encoded}",
]


#: One spelling per mechanism (dot segments, each encoding, backslash, separators, controls, look-alikes,
#: absolute and scheme-relative URLs, a named escape): what every slot gets in the exhaustive pass.
CORE = [
    "..",
    "%2e%2e",
    "%252e%252e",
    "..%2f",
    "..\\",
    "/",
    "?",
    "#",
    "\x00",
    "\uff0e\uff0e",
    "https://evil.example/x",
    "//evil.example/x",
    "../../../{other}",
    "%2e%2e/%2e%2e/%2e%2e/{other}",
    "..\\..\\..\\{other}",
    "{other}",
]


def hostile_values(others: Sequence[str], templates: Sequence[str] = TEMPLATES) -> list[str]:
    """The traversal family (or the `CORE` of it), aimed at each of `others`."""
    values: list[str] = []
    for other in others:
        fills = {"other": other, "other_upper": other.upper(), "other_encoded": other.replace("/", "%2f")}
        for template in templates:
            value = template.format(**fills)
            if value not in values:
                values.append(value)
    return values


def hostile_text(others: Sequence[str]) -> st.SearchStrategy[str]:
    """Random compositions of the family: plain prefixes, hostile middles, suffixes, and noise."""
    family = hostile_values(others)
    noise = st.text(alphabet="./\\%2eEfF5cC?#:@~ \x00abc" + "".join(others), max_size=24)
    part = st.one_of(st.sampled_from(family), noise, st.sampled_from(["main", "src", "a", "README.md", "1"]))
    return st.lists(part, min_size=1, max_size=4).map("/".join) | st.lists(part, min_size=1, max_size=3).map("".join)


# -- the catalog's string arguments --------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One string the model can choose: `tool`'s argument at `where` (a key path into the arguments)."""

    tool: str
    where: tuple[str | int, ...]
    base: dict[str, Any]

    def with_value(self, value: str) -> dict[str, Any]:
        arguments = copy.deepcopy(self.base)
        holder: Any = arguments
        for key in self.where[:-1]:
            holder = holder[key]
        holder[self.where[-1]] = value
        return arguments

    def __str__(self) -> str:
        return f"{self.tool}({'.'.join(str(k) for k in self.where)})"


def _resolve(schema: Any, root: Mapping[str, Any]) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root.get("$defs", {}).get(name, {})
    return schema


def _variants(schema: Any, root: Mapping[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, root)
    if not isinstance(schema, dict):
        return []
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return [v for o in options for v in _variants(o, root)]
    return [schema]


def _is_string(schema: Any, root: Mapping[str, Any]) -> bool:
    return any(v.get("type") == "string" and "enum" not in v and "const" not in v for v in _variants(schema, root))


def _example(name: str, schema: Any, root: Mapping[str, Any], valid: Mapping[str, Any]) -> Any:
    if name in valid:
        return copy.deepcopy(valid[name])
    for variant in _variants(schema, root):
        if "default" in variant:
            return variant["default"]
        if "enum" in variant:
            return variant["enum"][0]
        if "const" in variant:
            return variant["const"]
        kind = variant.get("type")
        if kind == "string":
            return "x" * max(1, int(variant.get("minLength", 1)))
        if kind == "integer":
            return max(1, int(variant.get("minimum", 1)))
        if kind == "number":
            return 1
        if kind == "boolean":
            return False
        if kind == "array":
            return [_example(name, variant.get("items", {}), root, valid)] if variant.get("minItems") else []
        if kind == "object":
            return _object(variant, root, valid)
        if kind == "null":
            continue
    return None


def _object(schema: Mapping[str, Any], root: Mapping[str, Any], valid: Mapping[str, Any]) -> dict[str, Any]:
    required = set(schema.get("required", []))
    return {
        name: _example(name, prop, root, valid)
        for name, prop in schema.get("properties", {}).items()
        if name in required or name in valid
    }


def slots(
    tools: Sequence[Any], valid: Mapping[str, Any], valid_for: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Slot]:
    """Every string a model can put in the arguments of `tools` (top level, in arrays, in array items).

    `valid` gives values by argument name, `valid_for` per tool name (it wins).
    """
    found: list[Slot] = []
    for tool in tools:
        root = tool.input_schema
        values = {**valid, **(valid_for or {}).get(tool.name, {})}
        base = _object(root, root, values)
        for name, prop in root.get("properties", {}).items():
            if name == "instance":
                continue
            if _is_string(prop, root):
                found.append(Slot(tool.name, (name,), base))
                continue
            for variant in _variants(prop, root):
                if variant.get("type") != "array":
                    continue
                items = variant.get("items", {})
                if _is_string(items, root):
                    found.append(Slot(tool.name, (name, 0), base | {name: ["x"]}))
                for item in _variants(items, root):
                    if item.get("type") != "object":
                        continue
                    template = _object(item, root, values)
                    for field_name, field_schema in item.get("properties", {}).items():
                        if _is_string(field_schema, root):
                            element = template | {field_name: "x"}
                            found.append(Slot(tool.name, (name, 0, field_name), base | {name: [element]}))
    return found


# -- probing -------------------------------------------------------------------------------------------


@dataclass
class Exposure:
    """What a connector's traversal test knows about its fake and its scope."""

    #: The fake's request log (`Wire` entries), growing as requests arrive.
    wire: Callable[[], Sequence[Wire]]
    #: Why a request the fake received is out of scope, or None.
    out_of_scope: Callable[[Wire], str | None]
    #: The scope key a request addressed (a repository, a project), or None for account-level requests.
    request_key: Callable[[Wire], str | None]
    #: The scope key a provenance resource URI claims, or None (account-level or search results).
    label_key: Callable[[str], str | None]
    allowed: Callable[[str], bool]
    #: Valid values of arguments not under attack, by argument name.
    valid: Mapping[str, Any]
    #: Out-of-scope names the hostile values aim at.
    others: Sequence[str]
    #: The true visibility of a scope key, to check labels against (optional).
    visibility: Callable[[str], str] | None = None
    #: Valid values for one tool's arguments (tool name -> argument -> value), where `valid` does not fit.
    valid_for: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    calls: int = 0
    #: Tool -> whether its control call (valid arguments only) succeeded: proof the probes reach the service.
    controls: dict[str, bool] = field(default_factory=dict)


async def catalog_slots(client: Client, exposure: Exposure) -> list[Slot]:
    tools = (await client.list_tools()).tools
    return slots(tools, exposure.valid, exposure.valid_for)


async def probe(client: Client, exposure: Exposure, slot: Slot, value: str) -> list[str]:
    """Call `slot`'s tool with `value` there; the problems seen (also added to `exposure.problems`)."""
    before = len(exposure.wire())
    result = await client.call_tool(slot.tool, slot.with_value(value))
    exposure.calls += 1
    sent = list(exposure.wire()[before:])
    problems = [
        f"{slot} = {value!r}: {why} ({w.method} {w.raw_path})" for w in sent if (why := exposure.out_of_scope(w))
    ]
    problems += _label_problems(slot, value, result, sent, exposure)
    exposure.problems += problems
    return problems


def _label_problems(slot: Slot, value: str, result: CallToolResult, sent: list[Wire], exposure: Exposure) -> list[str]:
    if result.is_error:
        return []
    meta = (result.meta or {}).get(PROVENANCE) or {}
    resource = str(meta.get("resource", ""))
    key = exposure.label_key(resource)
    if key is None:
        return []
    problems = []
    if not exposure.allowed(key):
        problems.append(f"{slot} = {value!r}: result labelled {resource}, outside the allow-list")
    keys = {k.lower() for w in sent if (k := exposure.request_key(w)) is not None}
    if sent and key.lower() not in keys:
        problems.append(f"{slot} = {value!r}: labelled {resource} but the requests addressed {sorted(keys)}")
    if exposure.visibility is not None and meta.get("visibility") != exposure.visibility(key):
        problems.append(
            f"{slot} = {value!r}: labelled {meta.get('visibility')} but {key} is {exposure.visibility(key)}"
        )
    return problems


async def probe_all(client: Client, exposure: Exposure, values: Sequence[str] | None = None) -> list[Slot]:
    """Every slot of the live catalog × every hostile value; returns the slots probed.

    Each tool is first called once with valid arguments only (its labels checked the same way), and
    `exposure.controls` says which of those succeeded.
    """
    found = await catalog_slots(client, exposure)
    for slot in {s.tool: s for s in reversed(found)}.values():  # the first slot of each tool: its plain base
        before = len(exposure.problems)
        control = await client.call_tool(slot.tool, slot.base)
        sent = list(exposure.wire()[-20:])
        exposure.problems += _label_problems(slot, "(control)", control, sent, exposure)
        exposure.controls[slot.tool] = not control.is_error and len(exposure.problems) == before
    for slot in found:
        for value in values if values is not None else hostile_values(exposure.others):
            await probe(client, exposure, slot, value)
    return found


# -- the tests' shared harness ----------------------------------------------------------------------


@pytest.fixture
def portal() -> Iterator[BlockingPortal]:
    """An event loop in a thread: hypothesis drives sync tests, the MCP client is async."""
    with start_blocking_portal("asyncio") as running:
        yield running


@pytest.fixture
def session(portal: BlockingPortal, hub: Any) -> Iterator[Client]:
    """An in-memory MCP client of the test module's `hub` fixture, open for the whole test."""
    with portal.wrap_async_context_manager(Client(hub)) as client:
        yield client


@pytest.fixture
def slots_of(portal: BlockingPortal, session: Client, exposed: Callable[[], Exposure]) -> list[Slot]:
    """Every string slot of the live catalog, once per test (the examples draw from it)."""
    return portal.call(catalog_slots, session, exposed())


def compositions(max_examples: int) -> settings:
    """Settings of a random-composition test: the hub and its fake are fixtures shared by the examples."""
    return settings(
        max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )


def probe_drawn(
    portal: BlockingPortal,
    session: Client,
    exposure: Exposure,
    slots_of: Sequence[Slot],
    data: st.DataObject,
    values: st.SearchStrategy[str],
) -> None:
    """One example: a string slot of the catalog and a hostile value drawn, probed, and no problem seen."""
    slot = data.draw(st.sampled_from(slots_of), label="slot")
    value = data.draw(values, label="value")
    problems = portal.call(probe, session, exposure, slot, value)
    assert not problems, "\n".join(problems)
