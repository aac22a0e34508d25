"""The Kustomize overlays, rendered by the real Kustomize and validated against Kubernetes' schemas."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from mcp_hub.config import load_config
from model.profiles import get_profile
from model.review.tool import ReviewSettings
from model.serve import ServeOptions, build_command
from model.settings import ModelSettings
from tests.deploy.manifests import (
    KUBE,
    OVERLAYS,
    Obj,
    kustomize_command,
    one,
    pod_spec,
    render,
    schema_errors,
    with_secret_files,
)

HUB_CLI = str(Path(sys.executable).with_name("mcp-hub"))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    tree = with_secret_files(tmp_path_factory.mktemp("kube"))
    return {overlay: render(tree / "overlays" / overlay) for overlay in OVERLAYS}


def container(deployment: Obj, name: str) -> Obj:
    return next(c for c in pod_spec(deployment)["containers"] if c["name"] == name)


def env_of(objects: list[Obj], deployment: Obj, name: str) -> dict[str, str]:
    """The container's environment as the kubelet builds it: envFrom ConfigMaps, then env."""
    spec = container(deployment, name)
    env: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        env |= one(objects, "ConfigMap", source["configMapRef"]["name"])["data"]
    env |= {e["name"]: e["value"] for e in spec.get("env", [])}
    return env


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_against_the_kubernetes_schemas(rendered: dict[str, list[Obj]], overlay: str) -> None:
    objects = rendered[overlay]
    assert schema_errors(objects) == []
    # Generated ConfigMaps and Secrets carry a content hash suffix.
    hashed = ("ConfigMap", "Secret")
    kinds = sorted(
        f"{o['kind']}/{o['metadata']['name'].rsplit('-', 1)[0] if o['kind'] in hashed else o['metadata']['name']}"
        for o in objects
    )
    assert kinds == sorted(
        [
            "Namespace/mcp-hub",
            "ServiceAccount/mcp-hub",
            "ConfigMap/mcp-hub-env",
            "Secret/mcp-hub-secrets",
            "Deployment/mcp-hub",
            "Service/mcp-hub",
            "HorizontalPodAutoscaler/mcp-hub",
            "PodDisruptionBudget/mcp-hub",
            "NetworkPolicy/default-deny",
            "NetworkPolicy/mcp-hub",
            "Deployment/vllm",
            "Service/vllm",
            "PersistentVolumeClaim/vllm-model-cache",
            "NetworkPolicy/vllm",
            "Deployment/mcp-hub-webhook",
            "Service/mcp-hub-webhook",
            "Ingress/mcp-hub-webhook",
            "PodDisruptionBudget/mcp-hub-webhook",
            "NetworkPolicy/mcp-hub-webhook",
            "Secret/mcp-hub-webhook-secrets",
            "StatefulSet/webhook-store",
            "Service/webhook-store",
            "NetworkPolicy/webhook-store",
            "Secret/webhook-store-secrets",
        ]
    )
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {"mcp-hub"}
    namespace = one(objects, "Namespace", "mcp-hub")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_schema_validation_catches_a_broken_object(rendered: dict[str, list[Obj]]) -> None:
    import copy

    broken = copy.deepcopy(one(rendered["aks"], "Deployment", "mcp-hub"))
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystm"] = True
    assert schema_errors([broken]) != []


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("name", ["mcp-hub", "vllm"])
def test_pods_are_locked_down_and_sized(rendered: dict[str, list[Obj]], overlay: str, name: str) -> None:
    deployment = one(rendered[overlay], "Deployment", name)
    spec = pod_spec(deployment)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] > 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    for c in spec["containers"]:
        security = c["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["privileged"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert "add" not in security["capabilities"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][kind]), (name, kind)
        # A read-only root needs somewhere to write: /tmp is a volume.
        assert "/tmp" in {m["mountPath"] for m in c["volumeMounts"]}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_hub_probes_hit_healthz_on_the_port_it_listens_on(rendered: dict[str, list[Obj]], overlay: str) -> None:
    objects = rendered[overlay]
    deployment = one(objects, "Deployment", "mcp-hub")
    hub = container(deployment, "hub")
    ports = {p["name"]: p["containerPort"] for p in hub["ports"]}
    env = env_of(objects, deployment, "hub")
    assert ports["http"] == int(env["MCP_HUB_HTTP__PORT"])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert hub[probe]["httpGet"]["path"] == "/healthz"
        assert ports[hub[probe]["httpGet"]["port"]] == ports["http"]
    service = one(objects, "Service", "mcp-hub")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_hub_reads_its_token_from_the_mounted_secret(rendered: dict[str, list[Obj]], overlay: str) -> None:
    objects = rendered[overlay]
    deployment = one(objects, "Deployment", "mcp-hub")
    env = env_of(objects, deployment, "hub")
    token_path = Path(env["MCP_HUB_HTTP__TOKENS__TEAM__TOKEN_FILE"])
    mounts = {m["name"]: m for m in container(deployment, "hub")["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
    secret_mount = next(m for m in mounts.values() if token_path.parent == Path(m["mountPath"]))
    assert secret_mount["readOnly"] is True and "subPath" not in secret_mount  # rotation reaches the pod
    secret = one(objects, "Secret", volumes[secret_mount["name"]]["secret"]["secretName"])
    assert token_path.name in secret["data"]
    # Every variable is one the hub and its model settings know: nothing invented.
    config = load_config(env=env)
    assert config.http.host == "0.0.0.0" and set(config.http.tokens) == {"team"}
    assert str(config.hub.audit_log) == "/dev/stdout"
    ModelSettings.model_validate(config.model)
    ReviewSettings.model_validate(config.connectors["review"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_allow_only_the_stated_egress(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    deny = one(objects, "NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}

    hub = one(objects, "NetworkPolicy", "mcp-hub")["spec"]
    assert hub["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "mcp-hub"}
    assert sorted(hub["policyTypes"]) == ["Egress", "Ingress"]
    assert [p["port"] for rule in hub["ingress"] for p in rule["ports"]] == [8080]
    by_port: dict[int, list[Any]] = {}
    for rule in hub["egress"]:
        assert rule.get("to"), "an egress rule without `to` allows every destination"
        assert rule.get("ports"), "an egress rule without ports allows every port"
        for peer in rule["to"]:
            assert peer.get("ipBlock", {}).get("cidr") not in ("0.0.0.0/0", "::/0")
        for port in rule["ports"]:
            by_port.setdefault(port["port"], []).append((port["protocol"], rule["to"]))
    assert sorted(by_port) == [53, 3128, 5432, 8000]  # DNS, egress proxy, database, vLLM
    assert sorted(proto for proto, _ in by_port[53]) == ["TCP", "UDP"]
    assert by_port[53][0][1][0]["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    assert by_port[8000][0][1] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "vllm"}}}]
    proxy_peer = by_port[3128][0][1][0]
    # The proxy the policy lets through is the one the hub is told to use.
    env = env_of(objects, one(objects, "Deployment", "mcp-hub"), "hub")
    proxy = urlsplit(env["HTTPS_PROXY"])
    service, namespace = proxy.hostname.split(".")[:2]  # type: ignore[union-attr]
    assert proxy.port == 3128
    assert proxy_peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == namespace
    assert proxy_peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == service
    database_peer = by_port[5432][0][1][0]
    if overlay == "aks":  # Azure Database for PostgreSQL: outside the cluster, by subnet
        assert set(database_peer) == {"ipBlock"}
    else:
        assert database_peer == {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "postgres"}}}

    vllm = one(objects, "NetworkPolicy", "vllm")["spec"]
    assert vllm["ingress"] == [
        {
            "from": [
                {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "mcp-hub"}}},
                {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "mcp-hub-webhook"}}},
            ],
            "ports": [{"protocol": "TCP", "port": 8000}],
        }
    ]
    assert sorted(p["port"] for rule in vllm["egress"] for p in rule["ports"]) == [53, 53, 3128]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_vllm_runs_the_serve_command_of_its_profile_on_as_many_gpus(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    deployment = one(objects, "Deployment", "vllm")
    vllm = container(deployment, "vllm")
    command = vllm["command"] + vllm["args"]
    tp = int(command[command.index("--tensor-parallel-size") + 1])
    profile = deployment["metadata"]["annotations"]["mcp-hub/model-profile"]
    assert command == build_command(get_profile(profile), ServeOptions(tp=tp, host="0.0.0.0", port=8000), env={})
    dry_run = subprocess.run(
        [HUB_CLI, "model", "serve", profile, "--tp", str(tp), "--host", "0.0.0.0", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert command == shlex.split(dry_run.stdout)
    for kind in ("requests", "limits"):
        assert int(vllm["resources"][kind]["nvidia.com/gpu"]) == tp
    port = int(command[command.index("--port") + 1])
    assert {p["containerPort"] for p in vllm["ports"]} == {port}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert vllm[probe]["httpGet"]["path"] == "/health"
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
    cache = one(objects, "PersistentVolumeClaim", volumes["model-cache"]["persistentVolumeClaim"]["claimName"])
    hf_home = next(e["value"] for e in vllm["env"] if e["name"] == "HF_HOME")
    mount = next(m for m in vllm["volumeMounts"] if m["name"] == "model-cache")
    assert hf_home.startswith(mount["mountPath"]) and cache["spec"]["resources"]["requests"]["storage"]
    # The hub's review tool and agent talk to this model, at this Service.
    env = env_of(objects, one(objects, "Deployment", "mcp-hub"), "hub")
    service = one(objects, "Service", "vllm")
    for prefix in ("MCP_HUB_REVIEW__", "MCP_HUB_MODEL__"):
        assert env[prefix + "PROFILE"] == profile
        url = urlsplit(env[prefix + "BASE_URL"])
        assert (url.hostname, url.port) == (service["metadata"]["name"], service["spec"]["ports"][0]["port"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_autoscaler_and_disruption_budget_target_the_hub(rendered: dict[str, list[Obj]], overlay: str) -> None:
    objects = rendered[overlay]
    labels = one(objects, "Deployment", "mcp-hub")["spec"]["template"]["metadata"]["labels"]
    assert "replicas" not in one(objects, "Deployment", "mcp-hub")["spec"]  # the HPA owns the count
    hpa = one(objects, "HorizontalPodAutoscaler", "mcp-hub")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "mcp-hub"}
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    assert 1 <= hpa["minReplicas"] < hpa["maxReplicas"]
    pdb = one(objects, "PodDisruptionBudget", "mcp-hub")["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    # A budget that a single replica can never meet would block node drains.
    assert pdb.get("maxUnavailable", 0) >= 1 or pdb.get("minAvailable", 0) < hpa["minReplicas"]


def test_aks_overlay_places_vllm_on_the_gpu_pool(rendered: dict[str, list[Obj]]) -> None:
    spec = pod_spec(one(rendered["aks"], "Deployment", "vllm"))
    assert spec["nodeSelector"] == {"kubernetes.azure.com/agentpool": "gpu"}
    assert {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"} in spec["tolerations"]
    pvc = one(rendered["aks"], "PersistentVolumeClaim", "vllm-model-cache")
    assert pvc["spec"]["storageClassName"] == "managed-csi-premium"


def test_keda_component_replaces_the_cpu_autoscaler(tmp_path: Path) -> None:
    tree = with_secret_files(tmp_path)
    kustomization = tree / "overlays" / "aks" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "components:\n  - ../../keda\n")
    objects = render(tree / "overlays" / "aks")
    assert not [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    scaled = one(objects, "ScaledObject", "mcp-hub")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "mcp-hub"
    assert {t["type"] for t in scaled["spec"]["triggers"]} == {"prometheus", "cpu"}
    assert schema_errors(o for o in objects if o["kind"] != "ScaledObject") == []


def test_an_overlay_without_its_token_file_does_not_render(tmp_path: Path) -> None:
    copy = tmp_path / "kubernetes"
    shutil.copytree(KUBE, copy, ignore=shutil.ignore_patterns("token"))
    done = subprocess.run(
        [*kustomize_command(), str(copy / "overlays" / "aks")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "secrets/token" in done.stderr
