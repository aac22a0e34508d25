"""The webhook service as deployed: the Kustomize overlays (rendered by the real Kustomize) and compose.yaml,
checked against the service itself: its probes are paths its app serves (asked in-process, store up and
down), its settings load from the manifests' environment, its policies select the pods they mean."""

from __future__ import annotations

import base64
import copy
import re
from pathlib import Path, PurePosixPath
from typing import Any

import httpx2
import pytest
import yaml

from mcp_hub.config import load_config
from mcp_hub.logs import EventLog
from mcp_hub.redaction import Redactor
from model.settings import ModelSettings
from model.webhook.app import Service, build_app
from model.webhook.backpressure import Backpressure
from model.webhook.metrics import Metrics
from model.webhook.settings import store_url, take_webhook_settings
from model.webhook.store import open_store
from tests.deploy.manifests import DEPLOY, OVERLAYS, Obj, one, pod_spec, render, with_secret_files

pytestmark = pytest.mark.anyio

WEBHOOK, STORE = "mcp-hub-webhook", "webhook-store"
#: Namespaces outside the rendered manifests that the policies name: their pods are not ours to check.
OUTSIDE = {"kube-system", "egress-proxy", "ingress-nginx"}
#: Pods a policy may name that the user runs beside ours: the hub's own database (deploy/README.md, single-vm).
USER_PROVIDED = [{"matchLabels": {"app.kubernetes.io/name": "postgres"}}]
#: A URL that carries a password (`scheme://user:password@host`).
PASSWORD_IN_URL = re.compile(r"://[^/@\s:]+:[^/@\s]+@")
URL = re.compile(r"postgresql://(?P<user>\w+):[^@\s]+@(?P<host>[\w-]+):(?P<port>\d+)/(?P<db>\w+)")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Obj]]:
    tree = with_secret_files(tmp_path_factory.mktemp("kube"))
    return {overlay: render(tree / "overlays" / overlay) for overlay in OVERLAYS}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def workloads(objects: list[Obj]) -> list[Obj]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]


def pod_labels(workload: Obj) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "only matchLabels selectors here"
    wanted: dict[str, str] = selector.get("matchLabels", {})
    return wanted.items() <= labels.items()


def env_of(objects: list[Obj], workload: Obj) -> dict[str, str]:
    (container,) = pod_spec(workload)["containers"]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env |= one(objects, "ConfigMap", source["configMapRef"]["name"])["data"]
    for item in container.get("env", []):
        assert "value" in item, f"{item['name']}: only literal values and files here (no valueFrom)"
        env[item["name"]] = item["value"]
    return env


def secret_files(objects: list[Obj], workload: Obj, tmp: Path) -> dict[str, Path]:
    """Each file the pod sees under a Secret volume (mount path/key), written under `tmp` as it would be."""
    (container,) = pod_spec(workload)["containers"]
    volumes = {v["name"]: v for v in pod_spec(workload)["volumes"]}
    files: dict[str, Path] = {}
    for mount in container["volumeMounts"]:
        source = volumes.get(mount["name"], {}).get("secret")
        if source is None:
            continue
        assert mount["readOnly"] is True and "subPath" not in mount  # rotation reaches the pod
        for key, value in one(objects, "Secret", source["secretName"])["data"].items():
            local = tmp / mount["mountPath"].strip("/") / key
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(base64.b64decode(value))
            files[f"{mount['mountPath']}/{key}"] = local
    return files


# -- Kubernetes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
async def test_probes_are_paths_the_service_serves_and_liveness_ignores_the_store(
    rendered: dict[str, list[Obj]], overlay: str, tmp_path: Path
) -> None:
    objects = rendered[overlay]
    deployment = one(objects, "Deployment", WEBHOOK)
    (container,) = pod_spec(deployment)["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = env_of(objects, deployment)
    # The manifests' own environment, with the Secret's files where the pod has them.
    files = secret_files(objects, deployment, tmp_path)
    env = {k: str(files.get(v, v)) if k.endswith("_FILE") else v for k, v in env.items()}
    settings = take_webhook_settings(load_config(env=env))
    assert (settings.host, settings.port) == ("0.0.0.0", ports["http"])
    assert container["args"] == ["webhook"]

    store = open_store(f"sqlite:///{tmp_path}/queue.db")
    await store.open()
    service = Service(settings, store, Metrics(), Backpressure(60, 10), EventLog(Redactor([])))
    app = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=build_app(service)), base_url="http://pod")
    probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
    async with app:
        for kind, probe in probes.items():
            assert ports[probe["port"]] == ports["http"], kind
            assert (await app.get(probe["path"])).status_code == 200, (kind, probe["path"])
        await store.close()  # the database goes away
        readiness = await app.get(probes["readinessProbe"]["path"])
        liveness = await app.get(probes["livenessProbe"]["path"])
    assert readiness.status_code == 503  # out of the Service's endpoints while the store is down …
    assert liveness.status_code == 200  # … but never restarted for it: the store reconnects by itself


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_files_never_values(rendered: dict[str, list[Obj]], overlay: str, tmp_path: Path) -> None:
    objects = rendered[overlay]
    for workload in (one(objects, "Deployment", WEBHOOK), one(objects, "StatefulSet", STORE)):
        env = env_of(objects, workload)
        files = secret_files(objects, workload, tmp_path / workload["metadata"]["name"])
        for name, value in env.items():
            assert not PASSWORD_IN_URL.search(value), f"{name} carries a password"
            if re.search(r"SECRET|TOKEN|PASSWORD|STORE|DSN", name):
                assert name.endswith("_FILE") and value in files, f"{name} must name a file of a mounted Secret"
    webhook = one(objects, "Deployment", WEBHOOK)
    env = env_of(objects, webhook)
    files = secret_files(objects, webhook, tmp_path / "check")
    assert {"MCP_HUB_WEBHOOK__STORE_FILE", "MCP_HUB_WEBHOOK__GITHUB_SECRET_FILE", "GITHUB_TOKEN_FILE"} <= set(env)
    store_env = env_of(objects, one(objects, "StatefulSet", STORE))
    assert "POSTGRES_PASSWORD" not in store_env and "POSTGRES_PASSWORD_FILE" in store_env
    # The URL's file is what the settings read (the stand-in content the test wrote there).
    local = {k: str(files.get(v, v)) if k.endswith("_FILE") else v for k, v in env.items()}
    assert store_url(take_webhook_settings(load_config(env=local))) == "test-webhook_store_url-not-a-secret"


def test_the_secret_check_catches_a_password_in_an_env_value(rendered: dict[str, list[Obj]]) -> None:
    leaky = copy.deepcopy(one(rendered["single-vm"], "Deployment", WEBHOOK))
    (container,) = pod_spec(leaky)["containers"]
    container["env"].append({"name": "MCP_HUB_WEBHOOK__STORE", "value": "postgresql://webhook:pw@webhook-store/w"})
    env = env_of(rendered["single-vm"], leaky)
    assert PASSWORD_IN_URL.search(env["MCP_HUB_WEBHOOK__STORE"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_webhook_and_store_run_locked_down(rendered: dict[str, list[Obj]], overlay: str) -> None:
    for workload in (one(rendered[overlay], "Deployment", WEBHOOK), one(rendered[overlay], "StatefulSet", STORE)):
        spec = pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] > 0
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        for c in spec["containers"]:
            security = c["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False and security["privileged"] is False
            assert security["capabilities"] == {"drop": ["ALL"]}
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and {"cpu", "memory"} <= set(
                c["resources"]["limits"]
            )
            assert "/tmp" in {m["mountPath"] for m in c["volumeMounts"]}
    store = pod_spec(one(rendered[overlay], "StatefulSet", STORE))
    (postgres,) = store["containers"]
    mounts = {m["mountPath"]: m["name"] for m in postgres["volumeMounts"]}
    # Where PostgreSQL writes with a read-only root: its data (a volume of its own), socket and /tmp.
    env = {e["name"]: e["value"] for e in postgres["env"]}
    assert env["PGDATA"].startswith("/var/lib/postgresql/data/") and mounts["/var/lib/postgresql/data"] == "data"
    assert "/var/run/postgresql" in mounts
    claim = one(rendered[overlay], "StatefulSet", STORE)["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data" and claim["spec"]["resources"]["requests"]["storage"]
    # The user and database the probes and the documented store URL name are the ones initdb creates.
    for probe in ("readinessProbe", "livenessProbe"):
        command = postgres[probe]["exec"]["command"]
        assert command[command.index("-U") + 1] == env["POSTGRES_USER"]
        assert command[command.index("-d") + 1] == env["POSTGRES_DB"]
    documented = documented_store_url()
    service = one(rendered[overlay], "Service", STORE)
    assert documented["host"] == service["metadata"]["name"]
    assert documented["port"] == str(service["spec"]["ports"][0]["port"])
    assert (documented["user"], documented["db"]) == (env["POSTGRES_USER"], env["POSTGRES_DB"])


def documented_store_url() -> dict[str, str]:
    """The store URL deploy/README.md tells the user to write into secrets/webhook_store_url."""
    return store_url_written((DEPLOY / "README.md").read_text().split("## Kubernetes", 1)[1])


def store_url_written(text: str) -> dict[str, str]:
    """The parts of the URL on the line that writes a `webhook_store_url` file."""
    for line in text.splitlines():
        found = URL.search(line)
        if found and re.search(r">\s*\S*webhook_store_url\b", line):
            return found.groupdict()
    raise AssertionError("deploy/README.md shows how to write the webhook store's URL")


def policy_problems(objects: list[Obj]) -> list[str]:
    """Every NetworkPolicy (but the namespace-wide default deny) selects pods that exist, and every peer
    inside the namespace selects pods that exist."""
    problems = []
    labels = [pod_labels(w) for w in workloads(objects)]
    for policy in (o for o in objects if o["kind"] == "NetworkPolicy"):
        name, spec = policy["metadata"]["name"], policy["spec"]
        if spec["podSelector"] == {}:
            continue
        if not any(selects(spec["podSelector"], lab) for lab in labels):
            problems.append(f"{name}: its podSelector matches no pod")
        for rule in spec.get("ingress", []) + spec.get("egress", []):
            for peer in rule.get("from", []) + rule.get("to", []):
                if "ipBlock" in peer or "namespaceSelector" in peer:
                    namespace = peer.get("namespaceSelector", {}).get("matchLabels", {})
                    assert "ipBlock" in peer or namespace.get("kubernetes.io/metadata.name") in OUTSIDE, peer
                    continue
                if peer["podSelector"] in USER_PROVIDED:
                    continue
                if not any(selects(peer["podSelector"], lab) for lab in labels):
                    problems.append(f"{name}: peer {peer['podSelector']} matches no pod")
    return problems


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_select_real_pods_and_allow_only_what_the_webhook_needs(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    assert policy_problems(objects) == []
    webhook, store = one(objects, "Deployment", WEBHOOK), one(objects, "StatefulSet", STORE)
    (container,) = pod_spec(webhook)["containers"]
    policy = one(objects, "NetworkPolicy", WEBHOOK)["spec"]
    assert selects(policy["podSelector"], pod_labels(webhook)) and sorted(policy["policyTypes"]) == [
        "Egress",
        "Ingress",
    ]
    # In: only the ingress controller, only on the port the service listens on.
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": container["ports"][0]["containerPort"]}]
    (peer,) = rule["from"]
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "ingress-nginx"}
    assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "ingress-nginx"}
    # Out: DNS, the store, vLLM, the egress proxy (the forges); each rule names its peers and ports.
    by_port: dict[int, list[Obj]] = {}
    for rule in policy["egress"]:
        assert rule.get("to") and rule.get("ports"), "an egress rule without peers or ports allows too much"
        for port in rule["ports"]:
            by_port.setdefault(port["port"], []).extend(rule["to"])
    assert sorted(by_port) == [53, 3128, 5432, 8000]
    (postgres,) = containers_of(store)
    assert postgres["ports"][0]["containerPort"] == 5432
    assert [selects(p["podSelector"], pod_labels(store)) for p in by_port[5432]] == [True]
    assert [selects(p["podSelector"], pod_labels(one(objects, "Deployment", "vllm"))) for p in by_port[8000]] == [True]
    assert not any(
        selects(p.get("podSelector", {}), pod_labels(one(objects, "Deployment", "mcp-hub")))
        for peers in by_port.values()
        for p in peers
        if "namespaceSelector" not in p
    )
    # The store takes connections from the webhook's pods only and sends nothing out.
    store_policy = one(objects, "NetworkPolicy", STORE)["spec"]
    assert selects(store_policy["podSelector"], pod_labels(store))
    (rule,) = store_policy["ingress"]
    assert [selects(p["podSelector"], pod_labels(webhook)) for p in rule["from"]] == [True]
    assert not any(selects(p["podSelector"], pod_labels(one(objects, "Deployment", "mcp-hub"))) for p in rule["from"])
    assert "Egress" in store_policy["policyTypes"] and not store_policy.get("egress")
    # vLLM lets the webhook in (its reviews call the model).
    vllm_from = one(objects, "NetworkPolicy", "vllm")["spec"]["ingress"][0]["from"]
    assert any(selects(p["podSelector"], pod_labels(webhook)) for p in vllm_from)


def containers_of(workload: Obj) -> list[Obj]:
    containers: list[Obj] = pod_spec(workload)["containers"]
    return containers


def test_the_policy_check_catches_a_selector_that_matches_no_pod(rendered: dict[str, list[Obj]]) -> None:
    objects = copy.deepcopy(rendered["single-vm"])
    policy = one(objects, "NetworkPolicy", WEBHOOK)
    policy["spec"]["egress"][1]["to"][0]["podSelector"]["matchLabels"] = {"app.kubernetes.io/name": "pg"}
    one(objects, "NetworkPolicy", STORE)["spec"]["podSelector"]["matchLabels"] = {"app": "webhook-store"}
    assert policy_problems(objects) == [
        "mcp-hub-webhook: peer {'matchLabels': {'app.kubernetes.io/name': 'pg'}} matches no pod",
        "webhook-store: its podSelector matches no pod",
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_and_ingress_reach_the_pods_on_the_delivery_paths_only(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    objects = rendered[overlay]
    webhook, store = one(objects, "Deployment", WEBHOOK), one(objects, "StatefulSet", STORE)
    for workload, service_name in ((webhook, WEBHOOK), (store, STORE)):
        service = one(objects, "Service", service_name)["spec"]
        assert selects({"matchLabels": service["selector"]}, pod_labels(workload))
        names = {p["name"] for c in pod_spec(workload)["containers"] for p in c["ports"]}
        assert {p["targetPort"] for p in service["ports"]} <= names
    assert one(objects, "StatefulSet", STORE)["spec"]["serviceName"] == STORE
    ingress = one(objects, "Ingress", WEBHOOK)["spec"]
    paths = [p for rule in ingress["rules"] for p in rule["http"]["paths"]]
    assert sorted(p["path"] for p in paths) == ["/webhooks/github", "/webhooks/gitlab"]
    assert {p["pathType"] for p in paths} == {"Exact"}  # /healthz and /metrics stay inside
    for path in paths:
        backend = path["backend"]["service"]
        assert backend["name"] == WEBHOOK
        assert backend["port"]["name"] in {p["name"] for p in one(objects, "Service", WEBHOOK)["spec"]["ports"]}
    pdb = one(objects, "PodDisruptionBudget", WEBHOOK)["spec"]
    assert selects(pdb["selector"], pod_labels(webhook)) and pdb["maxUnavailable"] >= 1
    assert webhook["spec"]["replicas"] >= 2  # the store is shared: a second replica takes over leases


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_webhook_talks_to_the_model_vllm_serves(rendered: dict[str, list[Obj]], overlay: str) -> None:
    objects = rendered[overlay]
    env = env_of(objects, one(objects, "Deployment", WEBHOOK))
    config = load_config(env={k: v for k, v in env.items() if not k.endswith("_FILE")})
    model = ModelSettings.model_validate(config.model)
    vllm = one(objects, "Deployment", "vllm")
    assert model.profile == vllm["metadata"]["annotations"]["mcp-hub/model-profile"]
    assert str(model.base_url).startswith(f"http://{one(objects, 'Service', 'vllm')['metadata']['name']}:8000/")
    assert config.hub.allow_writes is True  # reviews are posted


# -- compose --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return parsed


def test_compose_webhook_is_locked_down_with_file_secrets_and_its_store(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    webhook, store = compose["services"]["webhook"], compose["services"]["webhook-store"]
    hub = compose["services"]["hub"]
    assert webhook["build"] == hub["build"] and webhook["image"] == hub["image"] and webhook["command"] == ["webhook"]
    for service in (webhook, store):
        assert service["user"].split(":")[0] not in ("0", "root") and service["read_only"] is True
        assert service["cap_drop"] == ["ALL"] and "no-new-privileges:true" in service["security_opt"]
        assert "ports" not in service or all(p.startswith("127.0.0.1:") for p in service["ports"])
    env: dict[str, str] = webhook["environment"]
    secrets = {name: compose["secrets"][name]["file"] for name in webhook["secrets"]}
    for name, value in env.items():
        assert not PASSWORD_IN_URL.search(value), name
        if name.endswith("_FILE"):
            path = PurePosixPath(value)
            assert path.parent == PurePosixPath("/run/secrets") and path.name in secrets, name
            assert (DEPLOY / secrets[path.name]).parent == DEPLOY / "secrets"
    # The settings load from this environment, with the secrets where compose mounts them.
    for name in secrets:
        (tmp_path / name).write_text(f"{name}-value\n")
    local = {k: str(tmp_path / PurePosixPath(v).name) if k.endswith("_FILE") else v for k, v in env.items()}
    settings = take_webhook_settings(load_config(env=local))
    assert store_url(settings) == "webhook_store_url-value" and settings.github_secret is not None
    port = settings.port
    assert webhook["ports"] == [f"127.0.0.1:{port}:{port}"] and settings.host == "0.0.0.0"
    assert f"127.0.0.1:{port}/healthz" in " ".join(webhook["healthcheck"]["test"])
    assert "ProxyHandler({})" in " ".join(webhook["healthcheck"]["test"])  # never through HTTPS_PROXY
    # The store: PostgreSQL with its password from a file, healthy before the webhook starts.
    assert webhook["depends_on"] == {"webhook-store": {"condition": "service_healthy"}}
    store_env = store["environment"]
    assert "POSTGRES_PASSWORD" not in store_env
    assert PurePosixPath(store_env["POSTGRES_PASSWORD_FILE"]).name in store["secrets"]
    assert {"/var/run/postgresql", "/tmp"} <= set(store["tmpfs"])
    assert "ports" not in store  # not published
    documented = documented_compose_store_url()
    assert (documented["user"], documented["db"]) == (store_env["POSTGRES_USER"], store_env["POSTGRES_DB"])
    assert documented["host"] == "webhook-store" and documented["port"] == "5432"


def documented_compose_store_url() -> dict[str, str]:
    return store_url_written((DEPLOY / "README.md").read_text().split("## Kubernetes", 1)[0])
