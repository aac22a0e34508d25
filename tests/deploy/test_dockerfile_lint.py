"""deploy/Dockerfile passes our lint (tests/deploy/dockerfile.py), and each rule catches its mistake.

hadolint is not installable from the registries this project uses, and no Docker engine runs in CI
here: `.ci/run` builds the image only where `docker info` answers and the base can be pulled.
"""

from __future__ import annotations

import re

import pytest

from tests.deploy.dockerfile import DOCKERFILE, LOCK_DIR, global_args, lint, stages

TEXT = DOCKERFILE.read_text()


def test_the_dockerfile_is_clean() -> None:
    assert lint(TEXT) == []


def test_every_stage_starts_from_the_pinned_digest() -> None:
    (image,) = {stage.base for stage in stages()}
    assert image == "${PYTHON_IMAGE}"
    pinned = global_args()["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", pinned)
    assert "bump" in TEXT.split("ARG PYTHON_IMAGE", 1)[0].lower()  # the comment says how to move it


def _swap(old: str, new: str, count: int = 1) -> str:
    assert old in TEXT, old
    return TEXT.replace(old, new, count)


PINNED = global_args()["PYTHON_IMAGE"]


@pytest.mark.parametrize(
    ("broken", "says"),
    [
        pytest.param(_swap(PINNED, "python:3.11-slim"), "is not pinned as name:tag@sha256", id="tag-only"),
        pytest.param(_swap(PINNED, "python:latest"), "uses latest", id="latest"),
        pytest.param(_swap(PINNED, "python"), "uses latest (or no tag)", id="no-tag"),
        pytest.param(
            _swap(PINNED, PINNED.replace("@sha256:", "@sha256:0")), "is not pinned", id="digest-of-wrong-length"
        ),
        pytest.param(
            _swap("FROM ${PYTHON_IMAGE} AS runtime", "FROM python:3.11-slim AS runtime"),
            "stage runtime: base 'python:3.11-slim' is not pinned",
            id="second-stage-unpinned",
        ),
        pytest.param(
            _swap('pip install --no-cache-dir --require-hashes -r "$requirements"', 'pip install -r "$requirements"'),
            "without --no-cache-dir",
            id="pip-cache",
        ),
        pytest.param(
            _swap('--no-cache-dir --require-hashes -r "$requirements"', '--no-cache-dir -r "$requirements"'),
            "installs from the index without --require-hashes",
            id="no-hashes",
        ),
        pytest.param(
            _swap("--no-deps --no-index /tmp/wheels/*.whl", "--no-deps /tmp/wheels/*.whl"),
            "installs from the index without --require-hashes",
            id="wheel-from-index",
        ),
        pytest.param(_swap("USER 10001:10001", "USER root"), "numeric non-root uid", id="user-root"),
        pytest.param(_swap("USER 10001:10001", "USER 0:0"), "numeric non-root uid", id="user-0"),
        pytest.param(_swap("USER 10001:10001", "USER mcphub"), "numeric non-root uid", id="user-by-name"),
        pytest.param(_swap("USER 10001:10001\n", ""), "no USER: the container would run as root", id="no-user"),
        pytest.param(
            _swap("COPY deploy/entrypoint.sh", "ADD deploy/entrypoint.sh"), "ADD (use COPY", id="add-instead-of-copy"
        ),
        pytest.param(
            # the source copied before the lock: every source change would reinstall the dependencies
            _swap(f"COPY {LOCK_DIR} ./{LOCK_DIR}\n", f"COPY model ./model\nCOPY {LOCK_DIR} ./{LOCK_DIR}\n"),
            "install it before copying the source",
            id="source-before-lock",
        ),
        pytest.param(_swap(f"COPY {LOCK_DIR} ./{LOCK_DIR}\n", ""), "no stage copies the lock's exports", id="no-lock"),
    ],
)
def test_each_rule_catches_its_mistake(broken: str, says: str) -> None:
    assert broken != TEXT
    problems = lint(broken)
    assert any(says in problem for problem in problems), problems
