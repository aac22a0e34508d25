"""The request guard and segment encoding of `mcp_hub.upstream`, on their own and on a real `requests` session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route as StarletteRoute

from mcp_hub.errors import InvalidInput, PolicyDenied
from mcp_hub.upstream import RequestGuard, Route, Scope, journal, normalise
from mcp_hub.upstream.guard import Refused
from mcp_hub.upstream.journal import provenance_mismatch
from mcp_hub.upstream.segments import path, segment
from mcp_hub.upstream.transport_requests import guard_session
from tests.support.http_server import serve_in_thread

BASE = "https://api.example.test/api/v3"

#: The traversal family: every spelling of "leave this repository" a model might try.
HOSTILE_SEGMENTS = [
    "..",
    ".",
    "%2e%2e",
    "%2E%2E",
    "%252e%252e",
    "%25252e%25252e",
    "..%2f",
    "..%2F..",
    "..\\",
    "a\\b",
    "a/b",
    "a%2fb",
    "?x=1",
    "a#b",
    "a%3fb",
    "a\x00b",
    "a\nb",
    "a\x7fb",
    "\uff0e\uff0e",  # fullwidth full stops: NFKC '..'
    "\u2024\u2024",  # one dot leaders
    "a\uff0fb",  # fullwidth solidus
    "%c0%ae%c0%ae",  # overlong UTF-8 dots
    "",
]


def repo_scope(allowed: tuple[str, ...] = ("acme/widgets",)) -> Scope:
    return Scope(
        service="github",
        base_url=BASE,
        routes=(
            Route("user", r"/user"),
            Route(
                "repository",
                r"/repos/(?P<key>[^/]+/[^/]+)(?:/.*)?",
                methods=frozenset({"GET", "POST"}),
                resource=lambda m: m.group(0).removeprefix("/repos/"),
            ),
        ),
        allows=lambda key: key.lower() in allowed,
        redirect_hosts=("*.blob.example.test",),
        allow_list_name="the repos setting",
    )


def test_allowed_request_answers_with_what_it_addresses() -> None:
    guard = RequestGuard(repo_scope())
    target = guard.check("get", f"{BASE}/repos/acme/widgets/contents/src/app.py?ref=main")
    assert (target.method, target.key, target.route) == ("GET", "acme/widgets", "repository")
    assert target.uri == "github://acme/widgets/contents/src/app.py"
    # the host is compared without case, the key as decoded
    assert guard.check("GET", "https://API.Example.Test./api/v3/repos/%61cme/widgets").key == "acme/widgets"


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}/repos/acme/widgets/contents/../../../other/secret/contents/keys.txt",
        f"{BASE}/repos/acme/widgets/contents/%2e%2e/%2e%2e/%2e%2e/other/secret",
        f"{BASE}/repos/acme/widgets/contents/%252e%252e/x",
        f"{BASE}/repos/acme/widgets/contents/..%2f..%2fother",
        f"{BASE}/repos/acme/widgets/contents/..\\..\\other",
        f"{BASE}/repos/acme/widgets/contents/a%5c..%5cb",
        f"{BASE}/repos/acme/widgets/contents/\uff0e\uff0e/x",
        f"{BASE}/repos/acme/widgets%2f..%2fsecret",
        f"{BASE}/repos/acme/widgets//x",
        f"{BASE}/repos/acme/widgets/a%00b",
        f"{BASE}/repos/acme/widgets/a%3fb",
        f"{BASE}/repos/acme/widgets#frag",
        f"{BASE}/repos/other/secret",
        f"{BASE}/repos/ACME/Secret",
        f"{BASE}/orgs/acme",
        "https://evil.test/api/v3/repos/acme/widgets",
        "https://user:pw@api.example.test/api/v3/repos/acme/widgets",
        "http://api.example.test/api/v3/repos/acme/widgets",
        "https://api.example.test:8443/api/v3/repos/acme/widgets",
        "https://api.example.test/api/v4/repos/acme/widgets",
        "ftp://api.example.test/api/v3/repos/acme/widgets",
    ],
)
def test_requests_outside_scope_are_refused(url: str) -> None:
    guard = RequestGuard(repo_scope())
    with pytest.raises(PolicyDenied) as refused:
        guard.check("GET", url)
    assert refused.value.kind == "denied"
    assert guard.refused == 1


def test_methods_are_an_allow_list_per_route() -> None:
    guard = RequestGuard(repo_scope())
    assert guard.check("POST", f"{BASE}/repos/acme/widgets/issues").route == "repository"
    with pytest.raises(PolicyDenied, match="DELETE is not used"):
        guard.check("DELETE", f"{BASE}/repos/acme/widgets")


def test_redirects_only_when_asked_and_only_to_listed_hosts() -> None:
    guard = RequestGuard(repo_scope())
    origin = guard.check("GET", f"{BASE}/repos/acme/widgets/actions/jobs/1/logs")
    blob = "https://store.blob.example.test/logs/1?sig=abc"
    with pytest.raises(PolicyDenied):
        guard.check("GET", blob)  # not a redirect the connector follows
    followed = guard.check("GET", blob, redirect_from=origin)
    assert followed.redirected and followed.key == "acme/widgets" and followed.resource == origin.resource
    with pytest.raises(PolicyDenied):
        guard.check("GET", "https://evil.test/x", redirect_from=origin)
    with pytest.raises(PolicyDenied):  # a redirect into the API is checked like any request
        guard.check("GET", f"{BASE}/repos/other/secret", redirect_from=origin)


@pytest.mark.parametrize("value", HOSTILE_SEGMENTS)
def test_hostile_segments_never_normalise_into_another_path(value: str) -> None:
    url = f"{BASE}/repos/acme/widgets/contents/{value}/x"
    try:
        found = normalise(url)
    except Refused:
        return
    # whatever passes reads one way only: the same segments, none of them a dot segment
    assert found.segments[:5] == ("api", "v3", "repos", "acme", "widgets")
    assert ".." not in found.segments and "." not in found.segments


@pytest.mark.parametrize("value", HOSTILE_SEGMENTS)
def test_segment_refuses_the_traversal_family(value: str) -> None:
    with pytest.raises(InvalidInput):
        segment(value, what="ref")


def test_segments_are_encoded_one_at_a_time() -> None:
    with pytest.raises(InvalidInput):
        segment("feature/x", what="ref")  # a branch with a slash is a path, not one segment
    assert path("feature/x", what="ref") == "feature/x"
    assert segment("v1.0", what="ref") == "v1.0"
    assert segment("a b&c", what="ref") == "a%20b%26c"
    assert path("/src/my file.py/", what="path") == "src/my%20file.py"
    assert path("", what="path") == ""
    for hostile in ["../../other/secret", "src/../../x", "src/%2e%2e/x", "a//b", "a\\b", "a?b", "a#b", "a/\x00"]:
        with pytest.raises(InvalidInput):
            path(hostile, what="path")


def test_provenance_must_name_a_request_that_was_sent() -> None:
    guard = RequestGuard(repo_scope(("acme/widgets", "acme/other")))
    with journal() as sent:
        sent.record(guard.check("GET", f"{BASE}/repos/acme/widgets/issues/1"))
    assert provenance_mismatch("github://acme/widgets/issues/1", sent) is None
    assert provenance_mismatch("github://acme/other/issues/1", sent) is not None
    with journal() as nothing:
        pass
    assert provenance_mismatch("github://anything", nothing) is None


# -- on the wire -----------------------------------------------------------------------------------


@pytest.fixture
def wire() -> Iterator[tuple[str, list[str]]]:
    """A tiny server that records the raw path of every request it receives."""
    seen: list[str] = []

    async def anything(request: Request) -> PlainTextResponse | RedirectResponse:
        seen.append(request.scope["raw_path"].decode())
        if request.url.path.endswith("/go"):
            return RedirectResponse(str(request.query_params["to"]), 302)
        return PlainTextResponse("ok")

    app = Starlette(routes=[StarletteRoute("/{rest:path}", anything, methods=["GET", "POST"])])
    with serve_in_thread(app) as base:
        yield base, seen


def test_a_guarded_session_sends_nothing_outside_scope(wire: tuple[str, list[str]]) -> None:
    base, seen = wire
    scope = Scope(
        "svc",
        base + "/api",
        (Route("repo", r"/repos/(?P<key>[^/]+/[^/]+)(?:/.*)?"),),
        allows=lambda key: key == "acme/widgets",
    )
    session = requests.Session()
    guard_session(session, RequestGuard(scope))
    with journal() as sent:
        assert session.get(f"{base}/api/repos/acme/widgets/contents/a.txt").text == "ok"
    assert [t.resource for t in sent.targets] == ["repos/acme/widgets/contents/a.txt"]
    for hostile in [
        f"{base}/api/repos/acme/widgets/contents/../../../other/secret",  # requests removes the dots itself
        f"{base}/api/repos/acme/widgets/contents/%2e%2e/%2e%2e/other/secret",  # requests decodes %2e to '.'
        f"{base}/api/repos/acme/widgets/contents/%252e%252e/x",
        f"{base}/api/repos/acme/widgets/contents/..%2fother",
        f"{base}/api/repos/other/secret",
    ]:
        with pytest.raises(PolicyDenied):
            session.get(hostile)
    # requests follows this redirect itself: the second hop goes through the adapter too
    with pytest.raises(PolicyDenied):
        session.get(f"{base}/api/repos/acme/widgets/go", params={"to": f"{base}/api/repos/other/secret"})
    assert seen == ["/api/repos/acme/widgets/contents/a.txt", "/api/repos/acme/widgets/go"]
