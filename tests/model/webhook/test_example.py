"""examples/webhook/webhook.toml is a working configuration: the service starts with it and answers."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx2

from mcp_hub.config import load_config
from model.settings import take_model_settings
from model.triage.settings import take_triage_settings
from model.webhook.settings import take_webhook_settings
from tests.model.webhook.test_restart import start
from tests.support.http_server import free_port

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "webhook" / "webhook.toml"


def test_example_config_starts_the_service(tmp_path: Path, github: Any, github_served: tuple[Any, str]) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "github-webhook").write_text("gh-secret-value")
    (secrets / "gitlab-webhook").write_text("gl-token-value")
    text = EXAMPLE.read_text().replace('"secrets/', f'"{secrets}/')
    text = text.replace("sqlite:///var/lib/mcp-hub/webhook.db", f"sqlite:///{tmp_path}/webhook.db")
    config_file = tmp_path / "webhook.toml"
    config_file.write_text(text)
    config = load_config(config_file, env={})
    webhook = take_webhook_settings(config)
    assert webhook.github_secret is not None and webhook.github_secret.get_secret_value() == "gh-secret-value"
    assert take_triage_settings(config).channel(None) == "triage"
    assert take_model_settings(config).base_url == "http://127.0.0.1:8000/v1"
    port = free_port()
    proc = start(config_file, github_served[1], port)
    try:
        health = httpx2.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health["status"] == "ok" and health["queue"] == {"queued": 0, "running": 0, "done": 0}
        unsigned = httpx2.post(f"http://127.0.0.1:{port}/webhooks/gitlab", content=b"{}")
        assert unsigned.status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
