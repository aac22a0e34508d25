"""deploy/compose.yaml: parsed (no Docker engine here), checked against the code and the Dockerfile."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from mcp_hub.config import load_config
from model.profiles import get_profile
from model.review.tool import ReviewSettings
from model.serve import ServeOptions, build_command
from model.settings import ModelSettings
from tests.deploy.dockerfile import stages
from tests.deploy.manifests import DEPLOY, ROOT

COMPOSE = DEPLOY / "compose.yaml"
HUB_CLI = str(Path(sys.executable).with_name("mcp-hub"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return parsed


def env_dict(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    return dict(env) if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


def test_services_and_optional_profiles(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"vllm", "hub", "postgres", "redis", "webhook", "webhook-store"}
    assert "profiles" not in services["vllm"] and "profiles" not in services["hub"]
    assert services["postgres"]["profiles"] == ["postgres"]
    assert services["redis"]["profiles"] == ["redis"]
    assert services["webhook"]["profiles"] == services["webhook-store"]["profiles"] == ["webhook"]
    # Every interpolated variable has a default: `docker compose up` needs no .env file.
    assert all(":-" in match for match in re.findall(r"\$\{[^}]*\}", COMPOSE.read_text()))


def test_services_refer_to_files_that_exist(compose: dict[str, Any]) -> None:
    hub = compose["services"]["hub"]
    context = (DEPLOY / hub["build"]["context"]).resolve()
    assert context == ROOT
    assert (context / hub["build"]["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    for env_file in hub["env_file"]:
        assert env_file["required"] is False
        assert (DEPLOY / (env_file["path"] + ".example")).is_file()
    assert "deploy/hub.env" in (ROOT / ".gitignore").read_text().split()
    named = set(compose["volumes"])
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).is_dir(), source
            else:
                assert source in named, source
    # The secrets directory exists in a clone and keeps every secret out of git.
    assert (DEPLOY / "secrets" / ".gitignore").read_text().splitlines()[-2:] == ["*", "!.gitignore"]


def test_vllm_command_is_the_profile_serve_command(compose: dict[str, Any]) -> None:
    vllm = compose["services"]["vllm"]
    command = vllm["entrypoint"] + vllm["command"]
    profile = vllm["labels"]["mcp-hub.model-profile"]
    tp = int(command[command.index("--tensor-parallel-size") + 1])
    dry_run = subprocess.run(
        [HUB_CLI, "model", "serve", profile, "--tp", str(tp), "--host", "0.0.0.0", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert command == shlex.split(dry_run.stdout)
    assert command == build_command(get_profile(profile), ServeOptions(tp=tp, host="0.0.0.0"), env={})
    (device,) = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert device["count"] == tp and device["capabilities"] == ["gpu"]
    port = command[command.index("--port") + 1]
    assert vllm["ports"] == [f"127.0.0.1:{port}:{port}"]  # loopback only on the host
    assert f"127.0.0.1:{port}/health" in " ".join(vllm["healthcheck"]["test"])
    assert vllm["image"].endswith(":v0.33.0")  # model.profiles.PINNED_VLLM


def test_hub_runs_locked_down_with_its_token_and_real_settings(compose: dict[str, Any]) -> None:
    hub = compose["services"]["hub"]
    runtime = stages()[-1]
    assert hub["user"] == runtime.all("USER")[0]
    assert hub["read_only"] is True
    assert hub["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in hub["security_opt"]
    assert [t.split(":")[0] for t in hub["tmpfs"]] == ["/tmp"]
    image_port = runtime.env()["MCP_HUB_HTTP__PORT"]
    assert hub["ports"] == [f"{image_port}:{image_port}"]
    env = runtime.env() | env_dict(hub)
    env.pop("PATH")
    token = PurePosixPath(env["MCP_HUB_HTTP__TOKENS__TEAM__TOKEN_FILE"])
    mounts = {PurePosixPath(v.split(":")[1]): v.split(":")[0] for v in hub["volumes"]}
    assert token.parent in mounts and mounts[token.parent] == "./secrets"
    config = load_config(env=env)  # every variable is one the hub knows: nothing invented
    assert config.http.host == "0.0.0.0" and set(config.http.tokens) == {"team"}
    ModelSettings.model_validate(config.model)
    ReviewSettings.model_validate(config.connectors["review"])
    vllm = compose["services"]["vllm"]["command"]
    for prefix in ("MCP_HUB_REVIEW__", "MCP_HUB_MODEL__"):
        url = urlsplit(env[prefix + "BASE_URL"])
        assert (url.hostname, str(url.port)) == ("vllm", vllm[vllm.index("--port") + 1])
        assert env[prefix + "PROFILE"] == compose["services"]["vllm"]["labels"]["mcp-hub.model-profile"]


def test_optional_postgres_and_redis(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    password = PurePosixPath(env_dict(postgres)["POSTGRES_PASSWORD_FILE"])
    assert f"./secrets:{password.parent}:ro" in postgres["volumes"]
    assert "POSTGRES_PASSWORD" not in env_dict(postgres)
    redis = compose["services"]["redis"]
    assert redis["command"][:1] == ["redis-server"] and "ports" not in redis  # not published
    assert redis["user"] != "0" and redis["cap_drop"] == ["ALL"]


def test_azure_scripts_parse_and_name_what_exists() -> None:
    for script in ("vm.sh", "aks.sh"):
        path = DEPLOY / "azure" / script
        subprocess.run(["bash", "-n", str(path)], check=True, timeout=30)
        assert path.read_text().startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in path.read_text()
    aks = (DEPLOY / "azure" / "aks.sh").read_text()
    overlay = re.search(r"^OVERLAY=(\S+)$", aks, re.M)
    assert overlay is not None and (ROOT / overlay.group(1) / "kustomization.yaml").is_file()
    acr = re.search(r"^ACR_NAME=\$\{ACR_NAME:-(\w+)\}$", aks, re.M)
    assert acr is not None
    assert f"newName: {acr.group(1)}.azurecr.io/mcp-hub" in (ROOT / overlay.group(1) / "kustomization.yaml").read_text()
    assert "--file deploy/Dockerfile ." in aks
    vm = (DEPLOY / "azure" / "vm.sh").read_text()
    assert (DEPLOY / "azure" / "cloud-init.yaml").is_file() and 'dirname "$0")/cloud-init.yaml' in vm
    assert yaml.safe_load((DEPLOY / "azure" / "cloud-init.yaml").read_text())["runcmd"]
