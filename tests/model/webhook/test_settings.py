"""[webhook] settings: the store's URL from a file (it carries a password), the retention of finished jobs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_hub.config import load_config
from mcp_hub.errors import ConfigError
from model.webhook.settings import store_url, take_webhook_settings
from model.webhook.store import DONE_TTL_S


def test_the_store_url_comes_from_its_file_and_never_prints(tmp_path: Path) -> None:
    dsn = "postgresql://webhook:s3cret-pw@webhook-store:5432/webhook"
    (tmp_path / "store_url").write_text(dsn + "\n")
    settings = take_webhook_settings(load_config(env={"MCP_HUB_WEBHOOK__STORE_FILE": str(tmp_path / "store_url")}))
    assert store_url(settings) == dsn
    assert "s3cret-pw" not in repr(settings) and "s3cret-pw" not in settings.model_dump_json()


def test_an_inline_store_url_and_the_default_retention() -> None:
    settings = take_webhook_settings(load_config(env={"MCP_HUB_WEBHOOK__STORE": "redis://127.0.0.1:6379/0"}))
    assert store_url(settings) == "redis://127.0.0.1:6379/0"
    assert settings.done_ttl_s == DONE_TTL_S == 30 * 86400


def test_retention_is_configurable_and_bounded() -> None:
    settings = take_webhook_settings(load_config(env={"MCP_HUB_WEBHOOK__DONE_TTL_S": "86400"}))
    assert settings.done_ttl_s == 86400
    with pytest.raises(ConfigError, match="done_ttl_s"):
        take_webhook_settings(load_config(env={"MCP_HUB_WEBHOOK__DONE_TTL_S": "1"}))
