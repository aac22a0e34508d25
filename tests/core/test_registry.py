"""Connectors found through manifests are imported only when configured."""

from __future__ import annotations

import subprocess
import sys

from mcp_hub.config import load_config
from mcp_hub.connector import ConnectorManifest
from mcp_hub.registry import Registry
from mcp_hub.server import build_server
from tests.support.notes_connector import NotesConnector

NOTES = ConnectorManifest("notes", "tests.support.notes_connector:NotesConnector", {"NOTES_TOKEN": "token"})
BROKEN = ConnectorManifest("broken", "tests.support.no_such_module:Nothing", {"BROKEN_TOKEN": "token"})


def test_unconfigured_connectors_are_not_imported_for_serving() -> None:
    registry = Registry([NOTES, BROKEN])
    config = load_config(env={"NOTES_TOKEN": "t0ken-value"}, ecosystem_env=registry.ecosystem_env())
    statuses = registry.resolve(config, include_unconfigured=False)
    assert [(s.connector, s.enabled) for s in statuses] == [("notes", True)]
    everything = registry.resolve(config)  # config check: every connector, with the reason
    broken = next(s for s in everything if s.connector == "broken")
    assert not broken.enabled and broken.reason is not None and "cannot be loaded" in broken.reason
    server = build_server(config, registry=Registry([NOTES, BROKEN]), include_unconfigured=False)
    assert "notes_list_notes" in server.hub_tools


def test_classes_and_manifests_both_register() -> None:
    registry = Registry([NotesConnector])
    assert registry.manifests["notes"].ecosystem_env == {"NOTES_TOKEN": "token"}
    assert registry.connector_class("notes") is NotesConnector


def test_serve_imports_no_unconfigured_connector() -> None:
    probe = (
        "import sys\n"
        "from mcp_hub import cli\n"
        "cli._build(cli._parser([]).parse_args(['serve']))\n"
        "print(sorted(m for m in sys.modules if m.endswith('.connector') and m.startswith('connectors.')))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['connectors.postgres.connector']"
