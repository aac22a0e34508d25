"""Configuration from TOML and the environment, secrets from files, clear errors."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mcp_hub.config import load_config
from mcp_hub.errors import ConfigError
from mcp_hub.registry import Registry
from tests.support.notes_connector import NotesConnector

ECOSYSTEM = {"notes": {"NOTES_TOKEN": "token"}}


def test_env_nesting_and_types() -> None:
    config = load_config(
        env={
            "MCP_HUB_ALLOW_WRITES": "true",
            "MCP_HUB_TOOLSETS": "notes.read, admin",
            "MCP_HUB_HTTP__PORT": "9000",
            "MCP_HUB_HTTP__TOKENS__CI__TOKEN": "ci-token-value-0123456789",
            "MCP_HUB_NOTES__INSTANCES__WORK__TOKEN": "w",
            "UNRELATED": "x",
        }
    )
    assert config.hub.allow_writes is True
    assert config.hub.toolsets == ["notes.read", "admin"]
    assert config.http.port == 9000
    assert config.http.tokens["ci"].token.get_secret_value() == "ci-token-value-0123456789"
    assert config.connectors == {"notes": {"instances": {"work": {"token": "w"}}}}


def test_precedence_ecosystem_then_toml_then_env(tmp_path: Path) -> None:
    toml = tmp_path / "hub.toml"
    toml.write_text('[hub]\nallow_writes = true\n[notes]\ntoken = "from-toml"\nvisibility = "public"\n')
    only_eco = load_config(env={"NOTES_TOKEN": "eco"}, ecosystem_env=ECOSYSTEM)
    assert only_eco.connectors["notes"]["token"] == "eco"
    with_toml = load_config(toml, env={"NOTES_TOKEN": "eco"}, ecosystem_env=ECOSYSTEM)
    assert with_toml.connectors["notes"]["token"] == "from-toml"
    assert with_toml.hub.allow_writes is True
    with_env = load_config(toml, env={"NOTES_TOKEN": "eco", "MCP_HUB_NOTES__TOKEN": "env"}, ecosystem_env=ECOSYSTEM)
    assert with_env.connectors["notes"]["token"] == "env"
    assert with_env.connectors["notes"]["visibility"] == "public"


def test_secret_file_reread_when_changed(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("first-value\n")
    config = load_config(env={"MCP_HUB_HTTP__TOKENS__BOT__TOKEN_FILE": str(secret)})
    token = config.http.tokens["bot"].token
    assert token.get_secret_value() == "first-value"
    assert "first-value" not in repr(config)
    secret.write_text("rotated-value\n")
    later = time.time() + 5
    os.utime(secret, (later, later))
    assert token.get_secret_value() == "rotated-value"


def test_ecosystem_file_variant(tmp_path: Path) -> None:
    secret = tmp_path / "t"
    secret.write_text("from-file")
    registry = Registry([NotesConnector])
    config = load_config(env={"NOTES_TOKEN_FILE": str(secret)}, ecosystem_env=registry.ecosystem_env())
    statuses = registry.resolve(config)
    assert statuses[0].enabled and statuses[0].settings is not None
    assert statuses[0].settings.token.get_secret_value() == "from-file"  # type: ignore[attr-defined]


def test_missing_credentials_reported_with_reason() -> None:
    registry = Registry([NotesConnector])
    statuses = registry.resolve(load_config(env={}))
    assert [(s.instance, s.enabled, s.reason) for s in statuses] == [
        ("default", False, "no token: set MCP_HUB_NOTES__TOKEN")
    ]


def test_shared_section_is_not_an_instance_when_named_ones_exist() -> None:
    registry = Registry([NotesConnector])
    env = {"MCP_HUB_NOTES__VISIBILITY": "public", "MCP_HUB_NOTES__INSTANCES__A__TOKEN": "a-token"}
    statuses = registry.resolve(load_config(env=env))
    assert [(s.instance, s.enabled) for s in statuses] == [("a", True)]
    assert statuses[0].settings is not None and statuses[0].settings.visibility == "public"


def test_errors_name_the_field_not_the_value(tmp_path: Path) -> None:
    registry = Registry([NotesConnector])
    with pytest.raises(ConfigError, match=r"\[githubb\]: unknown section \(known: .*notes"):
        registry.resolve(load_config(env={"MCP_HUB_GITHUBB__TOKEN": "x"}))
    with pytest.raises(ConfigError) as info:
        registry.resolve(
            load_config(env={"MCP_HUB_NOTES__TOKEN": "t", "MCP_HUB_NOTES__VISIBILITY": "secret-value-xyz"})
        )
    assert "visibility" in info.value.message and "secret-value-xyz" not in info.value.message
    with pytest.raises(ConfigError, match="port"):
        load_config(env={"MCP_HUB_HTTP__PORT": "not-a-port"})
    bad = tmp_path / "bad.toml"
    bad.write_text("[hub\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, env={})
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml", env={})


def test_every_problem_at_once_with_its_full_path(tmp_path: Path) -> None:
    registry = Registry([NotesConnector])
    config = tmp_path / "hub.toml"
    config.write_text(
        "[hub]\nallow_wirtes = true\n[http]\nport = 99999\n[notez]\ntoken = 'x'\n"
        "[notes]\nvisibility = 'secret-value-xyz'\n[notes.instances.b]\ncolour = 'red'\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(config, env={"MCP_HUB_TOOLSETZ": "all"}, check_connectors=registry.problems)
    lines = info.value.message.splitlines()[1:]  # several problems: one per line
    assert [line.strip().split(":")[0] for line in lines] == [
        "hub.toolsetz",
        "hub.allow_wirtes",
        "http.port",
        "[notez]",
        "notes.visibility",
        "notes.instances.b.visibility",
        "notes.instances.b.colour",
    ]
    assert "unknown setting" in lines[1] and "secret-value-xyz" not in info.value.message


def test_test_runner_variables_are_not_configuration() -> None:
    env = {
        "MCP_HUB_TEST_DSN": "postgresql://postgres@127.0.0.1/postgres",
        "MCP_HUB_TEST_REDIS_URL": "redis://127.0.0.1:6379/0",
        "MCP_HUB_LIVE_MODEL_URL": "http://127.0.0.1:8000/v1",
        "MCP_HUB_UPDATE_SNAPSHOT": "1",
        "MCP_HUB_NOTES__TOKEN": "t",
    }
    config = load_config(env=env)
    assert set(config.connectors) == {"notes"}
    # A connector section spelled with two underscores is still configuration, and a typo still an error.
    assert load_config(env={"MCP_HUB_TEST__ENABLED": "1"}).connectors == {"test": {"enabled": "1"}}
    with pytest.raises(ConfigError, match=r"hub\.tests_dsn: unknown setting"):
        load_config(env={"MCP_HUB_TESTS_DSN": "x"})
