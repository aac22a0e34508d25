"""Two processes sharing one store (SQLite file, PostgreSQL, Redis) never run the same job twice."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from model.webhook.store import Store
from tests.model.webhook.conftest import any_job

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[3]


async def test_two_processes_never_take_the_same_job(
    store: Store, store_kind: str, tmp_path: Path, pg_dsn: object, prefix: str
) -> None:
    from tests.model.webhook.conftest import store_url

    jobs = [any_job(number=n, sha=f"{n:040d}") for n in range(1, 61)]
    for job in jobs:
        await store.enqueue(job)
    url = store_url(store_kind, tmp_path, pg_dsn)  # type: ignore[arg-type]
    outs = [tmp_path / f"w{i}.txt" for i in (1, 2)]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.model.webhook.consumer", url, prefix, f"w{i}", str(out)], cwd=ROOT, env=env
        )
        for i, out in zip((1, 2), outs, strict=True)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    taken = [line for out in outs for line in out.read_text().splitlines()]
    assert Counter(taken) == Counter(job.key for job in jobs)  # each exactly once
    assert all(out.read_text() for out in outs), "one process took every job: no concurrency was tested"
    assert await store.counts() == {"queued": 0, "running": 0, "done": 60}
