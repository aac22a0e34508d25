"""A stateful fake of GitHub's REST API (GHES-style under /api/v3) for PyGithub to talk to.

Link-header pagination, ETags and 304s (which cost no rate limit), primary and
secondary rate limits, error bodies as GitHub sends them, App installation
tokens (JWT checked with the App's public key), and injectable failures. Every
API request is logged (method, path, status) so tests can count them; an optional
`validator` checks each request/response pair against GitHub's OpenAPI description.

Every request that reaches the server at all (any path, before routing) is also
recorded in `state.wire` with its raw path, and the fake then serves it the way
the most lenient server or proxy would: backslashes read as slashes, the path
percent-decoded and its `.`/`..` segments resolved. A request that walks out of
a repository therefore really reaches the other one here, and shows in the log.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable
from urllib.parse import unquote

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tests.connectors.github import fake_render as fr
from tests.connectors.github import payloads as p
from tests.connectors.github.fake_actions import ActionHandlers
from tests.connectors.github.fake_git import GitHandlers
from tests.connectors.github.fake_graphql import GraphqlHandlers
from tests.connectors.github.fake_handlers import Handlers, Req, Result, error, paginate
from tests.connectors.github.fake_seed import seed
from tests.connectors.github.fake_state import FakeState, file_patches, sha_of
from tests.support.hostile import lenient_path, wire_entry

NOT_FOUND = error(404, "Not Found")


class FakeGithub(Handlers, GitHandlers, ActionHandlers, GraphqlHandlers):
    def __init__(self) -> None:
        self.state = FakeState()
        seed(self.state)
        self.validator: Callable[[Request, bytes, int, dict[str, str], bytes], None] | None = None
        self.routes: list[tuple[str, re.Pattern[str], Callable[[Req], Result]]] = []
        R = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
        for method, pattern, handler in [
            ("POST", r"/app/installations/(?P<id>\d+)/access_tokens", self.access_token),
            ("GET", r"/app", self.get_app),
            ("GET", r"/user", self.get_user),
            ("GET", r"/search/code", self.search_code),
            ("GET", r"/search/issues", self.search_issues),
            ("GET", R, self.get_repo),
            ("GET", R + r"/contents/?(?P<path>.*)", self.get_contents),
            ("PUT", R + r"/contents/(?P<path>.+)", self.put_contents),
            ("GET", R + r"/branches", self.branches),
            ("GET", R + r"/commits", self.commits),
            ("GET", R + r"/commits/(?P<ref>[^/]+)/check-runs", self.check_runs),
            ("POST", R + r"/check-runs", self.create_check_run),
            ("PATCH", R + r"/check-runs/(?P<id>\d+)", self.update_check_run),
            ("GET", R + r"/commits/(?P<ref>[^/]+)", self.commit),
            ("GET", R + r"/compare/(?P<base>.+)\.\.\.(?P<head>.+)", self.compare),
            ("GET", R + r"/collaborators/(?P<login>[^/]+)/permission", self.collaborator_permission),
            ("GET", R + r"/issues", self.list_issues),
            ("POST", R + r"/issues", self.create_issue),
            ("GET", R + r"/issues/(?P<n>\d+)", self.get_issue),
            ("PATCH", R + r"/issues/(?P<n>\d+)", self.update_issue),
            ("GET", R + r"/labels", self.list_labels),
            ("POST", R + r"/issues/(?P<n>\d+)/labels", self.add_labels),
            ("GET", R + r"/issues/(?P<n>\d+)/comments", self.issue_comments),
            ("POST", R + r"/issues/(?P<n>\d+)/comments", self.add_comment),
            ("PATCH", R + r"/issues/comments/(?P<cid>\d+)", self.update_issue_comment),
            ("GET", R + r"/pulls", self.list_pulls),
            ("POST", R + r"/pulls", self.create_pull),
            ("GET", R + r"/pulls/(?P<n>\d+)", self.get_pull),
            ("GET", R + r"/pulls/(?P<n>\d+)/files", self.pull_files),
            ("GET", R + r"/pulls/(?P<n>\d+)/reviews", self.list_reviews),
            ("POST", R + r"/pulls/(?P<n>\d+)/reviews", self.create_review),
            ("GET", R + r"/pulls/(?P<n>\d+)/comments", self.list_review_comments),
            ("POST", R + r"/pulls/(?P<n>\d+)/comments/(?P<cid>\d+)/replies", self.reply),
            ("PATCH", R + r"/pulls/comments/(?P<cid>\d+)", self.update_review_comment),
            ("PUT", R + r"/pulls/(?P<n>\d+)/merge", self.merge),
            ("GET", R + r"/git/ref/(?P<ref>.+)", self.get_ref),
            ("POST", R + r"/git/refs", self.create_ref),
            ("PATCH", R + r"/git/refs/(?P<ref>.+)", self.update_ref),
            ("GET", R + r"/git/commits/(?P<sha>\w+)", self.git_commit),
            ("POST", R + r"/git/blobs", self.create_blob),
            ("POST", R + r"/git/trees", self.create_tree),
            ("POST", R + r"/git/commits", self.create_commit),
            ("GET", R + r"/actions/runs", self.list_runs),
            ("GET", R + r"/actions/runs/(?P<id>\d+)/jobs", self.run_jobs),
            ("GET", R + r"/actions/jobs/(?P<id>\d+)", self.get_job),
            ("GET", R + r"/actions/jobs/(?P<id>\d+)/logs", self.job_logs),
        ]:
            self.routes.append((method, re.compile(pattern + "$"), handler))
        self.routed = Starlette(
            routes=[
                Route("/api/v3/{rest:path}", self.handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
                Route("/api/blobs/logs/{id}", self.log_blob),
                Route("/api/graphql", self.graphql, methods=["POST"]),
            ]
        )

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            """Record every request as received, then route it by its leniently resolved path."""
            if scope["type"] == "http":
                self.state.wire.append(wire_entry(scope))
                path = lenient_path(scope["path"])
                scope = dict(scope, path=path, raw_path=path.encode())
            await self.routed(scope, receive, send)

        self.app = app

    def reset(self) -> None:
        self.state = FakeState()
        seed(self.state)

    # -- plumbing ------------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        raw = await request.body()
        status, body, headers = self.dispatch(request, raw)
        if isinstance(body, (dict, list)):
            content = json.dumps(body).encode()
            headers.setdefault("content-type", "application/json; charset=utf-8")
        elif isinstance(body, str):
            content = body.encode()
            headers.setdefault("content-type", "text/plain; charset=utf-8")
        else:
            content = b""
        if request.method == "GET" and status == 200 and content:
            etag = 'W/"' + hashlib.sha1(content).hexdigest() + '"'
            headers["etag"] = etag
            if request.headers.get("if-none-match") == etag:
                status, content = 304, b""
                headers.pop("content-type", None)
        if status != 304 and not request.url.path.endswith("/access_tokens"):
            self.state.rate_remaining = max(0, self.state.rate_remaining - 1)
        headers |= self.rate_headers()
        self.state.log.append((request.method, request.url.path.removeprefix("/api/v3"), status))
        if self.validator is not None:
            self.validator(request, raw, status, headers, content)
        return Response(content, status, headers)

    def rate_headers(self) -> dict[str, str]:
        s = self.state
        return {
            "x-ratelimit-limit": str(s.rate_limit),
            "x-ratelimit-remaining": str(s.rate_remaining),
            "x-ratelimit-reset": str(s.rate_reset or int(time.time()) + 3600),
            "x-ratelimit-used": str(s.rate_limit - s.rate_remaining),
            "x-ratelimit-resource": "core",
        }

    def dispatch(self, request: Request, raw: bytes) -> Result:
        path = "/" + request.path_params["rest"]
        for injected in list(self.state.inject):
            if injected.path_contains in path:
                self.state.inject.remove(injected)
                return injected.status, injected.body, dict(injected.headers)
        auth = request.headers.get("authorization", "")
        self.state.auth_seen.append(auth)
        if path == "/app" or path.startswith("/app/"):
            if not self.valid_jwt(auth):
                return error(401, "A JSON web token could not be decoded")
        elif not self.state.valid_token(auth.split(" ", 1)[-1]):
            return error(401, "Bad credentials")
        if self.state.rate_remaining <= 0:
            self.state.rate_reset = self.state.rate_reset or int(time.time()) + 3600
            return error(
                403,
                "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, "
                "please include the request ID.",
            )
        api = f"{request.url.scheme}://{request.url.netloc}/api/v3"
        for method, pattern, handler in self.routes:
            match = pattern.match(path)
            if match and method == request.method:
                body = json.loads(raw) if raw else None
                params = dict(request.query_params)
                headers = {k.lower(): v for k, v in request.headers.items()}
                return handler(Req(request.method, path, params, body, headers, api, match))
        return NOT_FOUND

    def valid_jwt(self, auth: str) -> bool:
        if not auth.startswith("Bearer ") or self.state.app_public_key is None:
            return False
        try:
            claims = jwt.decode(auth[7:], self.state.app_public_key, algorithms=["RS256"])
        except jwt.PyJWTError:
            return False
        return str(claims.get("iss")) == self.state.app_id

    async def log_blob(self, request: Request) -> Response:
        job = int(request.path_params["id"])
        if request.query_params.get("sig") != sha_of("log", job)[:12]:
            return Response("denied", 403)
        return Response(self.state.logs[job], 200, {"content-type": "text/plain"})

    # -- apps ----------------------------------------------------------------------------------

    def access_token(self, req: Req) -> Result:
        self.state.token_exchanges += 1
        token = f"ghs_installation_{self.state.token_exchanges:04d}"
        expires = time.time() + self.state.installation_token_ttl
        self.state.installation_tokens[token] = expires
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
        return 201, {"token": token, "expires_at": stamp, "permissions": {"contents": "read"}}, {}

    def get_app(self, req: Req) -> Result:
        # docs.github.com "Get the authenticated app" (JWT only)
        slug, stamp = self.state.app_slug, "2026-01-05T10:00:00Z"
        web = req.api.removesuffix("/api/v3")
        app = {
            "id": int(self.state.app_id),
            "slug": slug,
            "node_id": p.node_id("A", slug),
            "owner": p.user(req.api, "octo-org"),
            "name": slug.replace("-", " ").title(),
            "description": None,
            "external_url": f"{web}/{slug}",
            "html_url": f"{web}/apps/{slug}",
            "created_at": stamp,
            "updated_at": stamp,
            "permissions": {"contents": "read", "pull_requests": "write", "issues": "write"},
            "events": ["pull_request"],
        }
        return 200, app, {}

    def get_user(self, req: Req) -> Result:
        # docs.github.com "Get the authenticated user"; installation tokens are refused, as on GitHub
        if req.actor(self.state).endswith("[bot]"):
            return error(403, "Resource not accessible by integration")
        stamp = "2026-01-05T10:00:00Z"
        profile = {"name": "Hub Bot", "company": None, "blog": "", "location": None, "email": None}
        profile |= {"hireable": None, "bio": None, "public_repos": 0, "public_gists": 0, "followers": 0}
        profile |= {"following": 0, "created_at": stamp, "updated_at": stamp, "collaborators": 0, "disk_usage": 0}
        profile |= {"owned_private_repos": 0, "private_gists": 0, "total_private_repos": 0}
        profile |= {"two_factor_authentication": True, "user_view_type": "private"}
        return 200, p.user(req.api, "hub-bot") | profile, {}

    def collaborator_permission(self, req: Req) -> Result:
        # docs.github.com "Get repository permissions for a user": `permission` is the base role
        # (maintain -> write, triage -> read), `role_name` the role itself.
        r = req.repo(self.state)
        login = req.m["login"]
        if r is None or login.startswith("ghost"):
            return NOT_FOUND
        role = self.state.roles.get(r.full, {}).get(login) or ("read" if r.visibility == "public" else "none")
        base = {"maintain": "write", "triage": "read"}.get(role, role)
        user = p.user(req.api, login) | {
            "permissions": {
                "admin": base == "admin",
                "maintain": role in ("admin", "maintain"),
                "push": base in ("admin", "write"),
                "triage": base != "none",
                "pull": base != "none",
            },
            "role_name": role,
        }
        return 200, {"permission": base, "role_name": role, "user": user}, {}

    # -- repos ---------------------------------------------------------------------------------

    def get_repo(self, req: Req) -> Result:
        r = req.repo(self.state)
        return (
            (200, p.repo(req.api, r.owner, r.name, r.visibility, r.default_branch, full_repo=True), {})
            if r
            else NOT_FOUND
        )

    def get_contents(self, req: Req) -> Result:
        r = req.repo(self.state)
        commit = self.resolve(r, req.params.get("ref")) if r else None
        if r is None or commit is None:
            return NOT_FOUND
        path = unquote(req.m["path"]).strip("/")
        ref = req.params.get("ref", r.default_branch)
        if path in commit.tree:
            return 200, fr.content_json(req.api, r, path, commit.tree[path], ref), {}
        prefix = path + "/" if path else ""
        children: dict[str, tuple[str, int]] = {}
        for name, data in commit.tree.items():
            if name.startswith(prefix):
                head, _, rest = name[len(prefix) :].partition("/")
                children[prefix + head] = ("dir", 0) if rest else ("file", len(data))
        if not children:
            return NOT_FOUND
        return 200, [fr.dir_entry(req.api, r, k, kind, size) for k, (kind, size) in sorted(children.items())], {}

    def put_contents(self, req: Req) -> Result:
        r = req.repo(self.state)
        if r is None or req.body.get("branch", r.default_branch) not in r.branches:
            return NOT_FOUND
        branch = req.body.get("branch", r.default_branch)
        path = unquote(req.m["path"])
        current = r.commits[r.branches[branch]].tree.get(path)
        if current is not None and not req.body.get("sha"):
            return error(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if current is not None and req.body["sha"] != sha_of("blob", current):
            return error(409, f"{path} does not match {req.body['sha']}")
        sha = r.commit(branch, {path: base64.b64decode(req.body["content"])}, req.body["message"])
        return (201 if current is None else 200), fr.file_commit_json(req.api, r, path, branch, r.commits[sha]), {}

    def search_code(self, req: Req) -> Result:
        words = req.params.get("q", "").split()
        scopes = [w for w in words if w.startswith(("repo:", "user:"))]
        terms = [w for w in words if w not in scopes]
        hits = []
        for r in self.state.repos.values():
            if scopes and not any(s in (f"repo:{r.full}", f"user:{r.owner}") for s in scopes):
                continue
            commit = r.commits[r.branches[r.default_branch]]
            for path, data in sorted(commit.tree.items()):
                if all(t.encode() in data for t in terms):
                    hits.append(
                        {
                            "name": path.rsplit("/", 1)[-1],
                            "path": path,
                            "sha": sha_of("blob", data),
                            "url": f"{req.api}/repos/{r.full}/contents/{path}",
                            "git_url": "",
                            "html_url": "",
                            "repository": p.repo(req.api, r.owner, r.name, r.visibility),
                            "score": 1.0,
                        }
                    )
        items, headers = paginate(req, hits)
        return 200, {"total_count": len(hits), "incomplete_results": False, "items": items}, headers

    def branches(self, req: Req) -> Result:
        r = req.repo(self.state)
        if r is None:
            return NOT_FOUND
        items = [
            {"name": n, "commit": {"sha": s, "url": f"{req.api}/repos/{r.full}/commits/{s}"}, "protected": n == "main"}
            for n, s in sorted(r.branches.items())
        ]
        page, headers = paginate(req, items)
        return 200, page, headers

    def commits(self, req: Req) -> Result:
        r = req.repo(self.state)
        head = self.resolve(r, req.params.get("sha")) if r else None
        if r is None or head is None:
            return NOT_FOUND
        shas = self.history(r, head.sha)
        if "path" in req.params:
            path = req.params["path"]
            shas = [
                s
                for s in shas
                if r.commits[s].tree.get(path)
                != (r.commits[r.commits[s].parents[0]].tree.get(path) if r.commits[s].parents else None)
            ]
        page, headers = paginate(req, [fr.commit_json(req.api, r, r.commits[s]) for s in shas])
        return 200, page, headers

    def commit(self, req: Req) -> Result:
        r = req.repo(self.state)
        c = self.resolve(r, req.m["ref"]) if r else None
        if r is None or c is None:
            return error(422, f"No commit found for SHA: {req.m['ref']}")
        return 200, fr.commit_json(req.api, r, c, with_files=True), {}

    def compare(self, req: Req) -> Result:
        r = req.repo(self.state)
        base = self.resolve(r, unquote(req.m["base"])) if r else None
        head = self.resolve(r, unquote(req.m["head"])) if r else None
        if r is None or base is None or head is None:
            return NOT_FOUND
        head_hist, base_hist = self.history(r, head.sha), self.history(r, base.sha)
        ahead = [s for s in head_hist if s not in base_hist]
        behind = [s for s in base_hist if s not in head_hist]
        files = [f | fr.file_urls(req.api, r, head.sha, f["filename"]) for f in file_patches(base.tree, head.tree)]
        status = "identical" if not ahead and not behind else "ahead" if not behind else "diverged"
        return (
            200,
            {
                "url": f"{req.api}{req.path}",
                "html_url": "",
                "permalink_url": "",
                "diff_url": "",
                "patch_url": "",
                "base_commit": fr.commit_json(req.api, r, base),
                "merge_base_commit": fr.commit_json(req.api, r, base),
                "status": status,
                "ahead_by": len(ahead),
                "behind_by": len(behind),
                "total_commits": len(ahead),
                "commits": [fr.commit_json(req.api, r, r.commits[s]) for s in reversed(ahead)],
                "files": files,
            },
            {},
        )
