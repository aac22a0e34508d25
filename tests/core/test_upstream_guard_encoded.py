"""The request guard for services that take a path as ONE encoded segment (`Scope.encoded_slashes`, GitLab)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from mcp_hub.errors import PolicyDenied
from mcp_hub.upstream import RequestGuard, Route, Scope, normalise
from mcp_hub.upstream.guard import Refused
from tests.core.test_upstream_guard import HOSTILE_SEGMENTS

BASE = "https://git.example.test/api/v4"


def project_scope(encoded_slashes: bool = True) -> Scope:
    return Scope(
        service="gitlab",
        base_url=BASE,
        routes=(
            Route("file", r"/projects/(?P<key>[^/]+)/repository/files/[^/]+"),
            Route("project", r"/projects/(?P<key>[^/]+)(?:/issues)?"),
        ),
        allows=lambda key: key in ("acme/app", "1"),
        encoded_slashes=encoded_slashes,
    )


def test_an_encoded_path_is_one_segment_and_its_key_is_decoded() -> None:
    guard = RequestGuard(project_scope())
    target = guard.check("GET", f"{BASE}/projects/acme%2Fapp/repository/files/src%2Fmy%20file.py?ref=main")
    assert (target.key, target.route) == ("acme/app", "file")
    assert target.path == "/projects/acme%2Fapp/repository/files/src%2Fmy file.py"
    assert guard.check("GET", f"{BASE}/projects/1/issues").key == "1"
    # without the option the kit keeps refusing an encoded '/' (GitHub's reading)
    with pytest.raises(PolicyDenied, match="encoded '/'"):
        RequestGuard(project_scope(encoded_slashes=False)).check("GET", f"{BASE}/projects/acme%2Fapp")


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}/projects/1/repository/files/a%2F..%2F..%2Fsecret",
        f"{BASE}/projects/1/repository/files/..%2Fsecret",
        f"{BASE}/projects/1/repository/files/%2E%2E%2Fsecret",
        f"{BASE}/projects/1/repository/files/a%2F%2Fb",
        f"{BASE}/projects/1/repository/files/%2Fetc%2Fpasswd",
        f"{BASE}/projects/1/repository/files/a%252Fb",
        f"{BASE}/projects/1/repository/files/a%5Cb",
        f"{BASE}/projects/acme%2F..%2Fother%2Fsecret/issues",
        f"{BASE}/projects/acme%2Fapp%2F",
        f"{BASE}/projects/other%2Fsecret",
        f"{BASE}/projects/2",
        f"{BASE}/projects/acme%EF%BC%8F..%EF%BC%8Fx",
        f"{BASE}/projects/1/repository/files/a%00b",
    ],
)
def test_the_traversal_family_inside_an_encoded_segment_is_refused(url: str) -> None:
    guard = RequestGuard(project_scope())
    with pytest.raises(PolicyDenied):
        guard.check("GET", url)
    assert guard.refused == 1


@pytest.mark.parametrize("value", HOSTILE_SEGMENTS)
def test_hostile_pieces_never_read_two_ways(value: str) -> None:
    for encoded in (quote(f"src/{value}/x", safe=""), f"src%2F{value}%2Fx"):
        try:
            found = normalise(f"{BASE}/projects/1/repository/files/{encoded}", encoded_slashes=True)
        except Refused:
            continue
        assert found.segments[:6] == ("api", "v4", "projects", "1", "repository", "files")
        for segment in found.segments[6:]:
            pieces = segment.replace("%2F", "/").split("/")
            assert "." not in pieces and ".." not in pieces and "" not in pieces
