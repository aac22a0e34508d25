"""The contract checker itself: it catches wrong shapes, and its description is what trim_spec.py writes."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import requests

from mcp_hub.server import HubServer
from tests.connectors.github.contract import SPEC, Contract
from tests.connectors.github.data import trim_spec
from tests.connectors.github.fake_app import FakeGithub
from tests.connectors.github.fake_state import PAT, Injected
from tests.connectors.github.test_reads import W, call


@pytest.mark.anyio
async def test_checker_catches_a_response_missing_required_fields(
    make_hub: Callable[..., HubServer], fake: FakeGithub, contract: Contract
) -> None:
    # A pull request list whose item has a number, title and state but none of the other required fields.
    fake.state.inject.append(Injected(200, [{"number": 7, "title": "t", "state": "open"}], {}, "/pulls"))
    await call(make_hub(), "list_pull_requests", repo=W)
    violations = contract.take()  # taken, so this test's teardown does not fail on them
    [pulls] = [v for v in violations if v.operation == "pulls/list"]
    assert (pulls.side, pulls.status, pulls.path) == ("response", 200, "/repos/acme/widgets/pulls")
    for field in ("url", "head", "base", "user"):
        assert f"0: '{field}' is a required property" in pulls.errors
    report = Contract.report(violations)
    assert (
        report.startswith("1 contract violation(s)") and "GET /repos/acme/widgets/pulls -> 200 (pulls/list)" in report
    )


def test_checker_catches_bad_requests_and_unknown_endpoints(fake: FakeGithub, api: str, contract: Contract) -> None:
    auth = {"Authorization": f"token {PAT}"}
    with requests.Session() as http:
        http.post(f"{api}/repos/{W}/issues", json={"labels": "bug"}, headers=auth, timeout=5)
        http.get(f"{api}/repos/{W}/pulls", params={"state": "merged"}, headers=auth, timeout=5)
        http.get(f"{api}/repos/{W}/wiki", headers=auth, timeout=5)
    by_path = {(v.side, v.method, v.path): v for v in contract.take()}
    body = by_path["request", "POST", "/repos/acme/widgets/issues"]
    assert "(root): 'title' is a required property" in body.errors
    assert "labels: 'bug' is not of type 'array'" in body.errors
    query = by_path["request", "GET", "/repos/acme/widgets/pulls"]
    assert any("'merged' is not one of ['open', 'closed', 'all']" in e for e in query.errors), query.errors
    unknown = by_path["request", "GET", "/repos/acme/widgets/wiki"]
    assert unknown.errors == ["no operation of the trimmed description matches"]


def test_trimmed_description_is_what_trim_spec_writes() -> None:
    trimmed = json.loads(SPEC.read_text(encoding="utf-8"))
    ops = {(m, p) for p, item in trimmed["paths"].items() for m in item if m != "parameters"}
    assert ops == set(trim_spec.OPERATIONS) and len(ops) == 46
    assert all(name in trimmed["info"]["x-trimmed"] for name, _ in trim_spec.OVERRIDES)
    assert trimmed["info"]["version"] == "23.0.2" and trimmed["servers"] == [{"url": "https://api.github.com"}]
    licence = (SPEC.parent / "LICENSE.octokit-openapi").read_text(encoding="utf-8")
    assert licence.startswith("MIT License Copyright (c) 2020 Octokit contributors")
    # Where the project's copy of the full description is at hand (shared/specs), regenerate and compare.
    source = next((p for p in trim_spec.DEFAULT_SOURCES if p.exists()), None)
    if source is not None:
        assert trim_spec.trim(trim_spec.load(source)) == trimmed, "stale: run data/trim_spec.py"
