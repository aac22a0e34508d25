"""server.json, the MCP registry entry, validates against the registry's published schema and runs.

The schema is committed as test data (tests/data/mcp-registry/, MIT, see THIRD_PARTY_NOTICES.md):
the test runs offline, and a new schema version is a deliberate update of that file.
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client, StdioServerParameters

from mcp_hub.registry import Registry
from tests.cli.test_transports import HUB, hub_env

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "tests" / "data" / "mcp-registry" / "server.schema.json").read_text())
ENTRY = json.loads((ROOT / "server.json").read_text())
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def validate(entry: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    validator.validate(entry)


def test_server_json_validates_against_the_published_schema() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert ENTRY["$schema"] == SCHEMA["$id"]  # the schema version it claims is the one committed
    validate(ENTRY)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("name",), "mcp-hub"),  # reverse-DNS with exactly one slash
        (("description",), "x" * 101),
        (("packages", 0, "version"), "latest"),
        (("packages", 0, "transport", "type"), "websocket"),
        (("packages", 0, "registryType"), "crates"),
    ],
    ids=["name-without-namespace", "description-too-long", "version-latest", "unknown-transport", "unknown-registry"],
)
def test_the_schema_rejects_what_the_registry_rejects(path: tuple[Any, ...], value: Any) -> None:
    entry = copy.deepcopy(ENTRY)
    target: Any = entry
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        validate(entry)


def test_the_package_is_this_distribution_and_the_readme_names_the_entry() -> None:
    (package,) = ENTRY["packages"]
    assert package["registryType"] == "pypi"
    assert package["identifier"] == PROJECT["name"] == "mcp-hub-selfhosted"
    assert package["version"] == ENTRY["version"] == PROJECT["version"]
    # PyPI ownership: the registry looks for this line in the package's description (the README).
    assert f"mcp-name: {ENTRY['name']}" in (ROOT / PROJECT["readme"]).read_text()
    # Every variable it offers is one a connector reads (or DATABASE_URL, the Postgres default instance).
    offered = {v["name"] for v in package["environmentVariables"]}
    read = {var for env in Registry.discover().ecosystem_env().values() for var in env}
    assert offered <= read, offered - read


@pytest.mark.anyio
async def test_the_package_starts_as_the_entry_says(pg_dsn: Any) -> None:
    (package,) = ENTRY["packages"]
    assert package["transport"] == {"type": "stdio"}
    args = [a["value"] for a in package["packageArguments"]]
    assert list(PROJECT["scripts"]) == ["mcp-hub"]
    params = StdioServerParameters(command=HUB, args=args, env=hub_env(pg_dsn.reader_dsn))
    async with Client(params) as session:
        tools = {t.name for t in (await session.list_tools()).tools}
    assert "postgres_query" in tools
