"""Every log the deployed processes write lands where they can write it: the audit log and the verdict log (set,
or derived beside the audit log by `VerdictLog.beside`) are a stream of the process (`/dev/stdout`) or a file
on a writable mount, never a new file on a read-only root (`/dev/stdout.agent.jsonl`, `/var/log/…`).

Checked for each container of the image in the rendered Kustomize overlays and in compose.yaml, with the
image's own ENV under the manifest's (the image sets MCP_HUB_AUDIT_LOG=/dev/stdout for every command)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from model.gate import STREAM_NAMES, VerdictLog
from tests.deploy.dockerfile import stages
from tests.deploy.manifests import DEPLOY, OVERLAYS, Obj, one, pod_spec, render, with_secret_files

Derive = Callable[[Path], Path | None]
IMAGE = "mcp-hub"


def image_env() -> dict[str, str]:
    return stages()[-1].env()


def log_problems(where: str, env: dict[str, str], writable: list[str] | None, derive: Derive) -> list[str]:
    """`writable`: the mount points a read-only root leaves writable (None: the root is writable)."""
    audit = env.get("MCP_HUB_AUDIT_LOG") or None
    verdict = env.get("MCP_HUB_MODEL__VERDICT_LOG") or (str(derive(Path(audit))) if audit else None)
    problems = []
    for name, path in (("audit log", audit), ("verdict log", verdict)):
        if path is None or STREAM_NAMES.match(path) or writable is None:
            continue
        if not any(PurePosixPath(path).is_relative_to(mount) for mount in writable):
            problems.append(f"{where}: the {name} {path} is on the read-only root (writable: {writable})")
    return problems


def kube_problems(objects: list[Obj], derive: Derive = VerdictLog.beside) -> list[str]:
    problems = []
    for workload in (o for o in objects if o["kind"] in ("Deployment", "StatefulSet")):
        spec = pod_spec(workload)
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for container in spec["containers"]:
            if container["image"].split(":")[0].split("/")[-1] != IMAGE:
                continue
            env = dict(image_env())
            for source in container.get("envFrom", []):
                env |= one(objects, "ConfigMap", source["configMapRef"]["name"])["data"]
            env |= {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}
            writable = [
                m["mountPath"]
                for m in container.get("volumeMounts", [])
                if not m.get("readOnly") and "secret" not in volumes.get(m["name"], {})
            ]
            read_only = container.get("securityContext", {}).get("readOnlyRootFilesystem", False)
            where = f"{workload['metadata']['name']}/{container['name']}"
            problems += log_problems(where, env, writable if read_only else None, derive)
    return problems


def compose_problems(compose: dict[str, Any], derive: Derive = VerdictLog.beside) -> list[str]:
    problems = []
    for name, service in compose["services"].items():
        if not str(service.get("image", "")).startswith(IMAGE + ":"):
            continue
        env = image_env() | {k: str(v) for k, v in (service.get("environment") or {}).items()}
        writable = [entry.split(":")[0] for entry in service.get("tmpfs", [])]
        writable += [v.split(":")[1] for v in service.get("volumes", []) if not v.endswith(":ro")]
        problems += log_problems(f"compose {name}", env, writable if service.get("read_only") else None, derive)
    return problems


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    tree = with_secret_files(tmp_path_factory.mktemp("kube"))
    return {overlay: render(tree / "overlays" / overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return parsed


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kubernetes_logs_go_where_the_pods_can_write(rendered: dict[str, list[Obj]], overlay: str) -> None:
    assert image_env()["MCP_HUB_AUDIT_LOG"] == "/dev/stdout"  # what the checks below build on
    assert kube_problems(rendered[overlay]) == []


def test_compose_logs_go_where_the_containers_can_write(compose: dict[str, Any]) -> None:
    assert [s for s in compose["services"].values() if str(s.get("image", "")).startswith(IMAGE + ":")]
    assert compose_problems(compose) == []


def _beside_a_stream_as_before(audit: Path) -> Path:
    return audit.with_name(audit.stem + ".agent" + (audit.suffix or ".jsonl"))


def test_the_check_catches_a_verdict_log_derived_beside_stdout(
    rendered: dict[str, list[Obj]], compose: dict[str, Any]
) -> None:
    """The derivation before `beside` knew streams: the hub's pod (no verdict log of its own) gets a file in /dev."""
    problems = kube_problems(rendered["single-vm"], derive=_beside_a_stream_as_before)
    assert any("mcp-hub/hub: the verdict log /dev/stdout.agent.jsonl" in p for p in problems), problems
    assert any("/dev/stdout.agent.jsonl" in p for p in compose_problems(compose, derive=_beside_a_stream_as_before))


def test_the_check_catches_a_file_on_the_read_only_root(rendered: dict[str, list[Obj]]) -> None:
    objects = copy.deepcopy(rendered["single-vm"])
    container = pod_spec(one(objects, "Deployment", "mcp-hub"))["containers"][0]
    (audit,) = [item for item in container["env"] if item["name"] == "MCP_HUB_AUDIT_LOG"]
    audit["value"] = "/var/log/mcp-hub/audit.jsonl"
    problems = kube_problems(objects)
    assert any("audit log /var/log/mcp-hub/audit.jsonl" in p for p in problems)
    assert any("verdict log /var/log/mcp-hub/audit.agent.jsonl" in p for p in problems)
    audit["value"] = "/tmp/audit.jsonl"  # the emptyDir: writable
    assert kube_problems(objects) == []
