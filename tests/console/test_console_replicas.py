"""Two hub replicas sharing Redis or PostgreSQL state: a call held on one is approved in the other's
console and resumes; the control shows that without shared state the other replica never sees it."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx2
import pytest

from tests.console.support import ADMIN, BackgroundCall, console_hub, csrf_of, login, notes, wait_for
from tests.pg import TestDatabase


@pytest.mark.parametrize("store", ["redis", "postgres", "in-process"])
def test_approve_on_one_replica_resumes_the_other(tmp_path: Path, request: pytest.FixtureRequest, store: str) -> None:
    shared = store != "in-process"  # in-process: the control
    env: dict[str, str] = {}
    if store == "redis":
        redis = request.getfixturevalue("redis_target")
        env = {"MCP_HUB_STATE_URL": redis.url, "MCP_HUB_STATE_PREFIX": redis.prefix}
    elif store == "postgres":
        db: TestDatabase = request.getfixturevalue("pg_dsn")
        env = {"MCP_HUB_STATE_URL": db.superuser_dsn, "MCP_HUB_STATE_PREFIX": f"console-{uuid.uuid4().hex[:10]}:"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with console_hub(tmp_path / "a", env) as (replica_a, _), console_hub(tmp_path / "b", env) as (replica_b, _):
        held = BackgroundCall(replica_a, "notes_add_note", {"text": "from replica a"})
        with httpx2.Client() as http:
            login(http, replica_b, ADMIN)

            def pending_on_b() -> str | None:
                found = re.search(
                    r'href="/console/approvals/([\w-]+)"', http.get(f"{replica_b}/console/approvals").text
                )
                return found.group(1) if found else None

            if not shared:  # without shared state the other replica never sees the held call
                with pytest.raises(AssertionError, match="timed out"):
                    wait_for(pending_on_b, timeout_s=2)
                with httpx2.Client() as own:  # let the held call finish: deny it on its own replica
                    login(own, replica_a, ADMIN)
                    approval = re.search(
                        r'href="/console/approvals/([\w-]+)"', own.get(f"{replica_a}/console/approvals").text
                    )
                    assert approval is not None
                    page = own.get(f"{replica_a}/console/approvals/{approval.group(1)}").text
                    own.post(
                        f"{replica_a}/console/approvals/{approval.group(1)}/decide",
                        data={"decision": "deny", "note": "control", "csrf": csrf_of(page)},
                    )
                assert held.join().is_error
                return
            approval_id = wait_for(pending_on_b)
            page = http.get(f"{replica_b}/console/approvals/{approval_id}").text
            answer = http.post(
                f"{replica_b}/console/approvals/{approval_id}/decide",
                data={"decision": "approve", "note": "ok from b", "csrf": csrf_of(page)},
            )
            assert answer.status_code == 303
            # a second decision (here: a deny racing in late) does not change the first
            late = http.post(
                f"{replica_b}/console/approvals/{approval_id}/decide",
                data={"decision": "deny", "note": "too late", "csrf": csrf_of(page)},
            )
            assert late.status_code == 409
        result = held.join()
        assert not result.is_error, result
        assert notes(replica_a).count("from replica a") == 1
