"""Handlers of the fake GitHub for issues, pull requests and reviews (see fake_app), and the request plumbing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.connectors.github import fake_render as fr
from tests.connectors.github.fake_state import Commit, FakeState, RepoState, sha_of

DOCS = "https://docs.github.com/rest"
Result = tuple[int, Any, dict[str, str]]


def error(status: int, message: str, **extra: Any) -> Result:
    return status, {"message": message, "documentation_url": DOCS, "status": str(status)} | extra, {}


NOT_FOUND = error(404, "Not Found")


def _missing_body(resource: str) -> Result:
    return error(422, "Validation Failed", errors=[{"resource": resource, "code": "missing_field", "field": "body"}])


@dataclass
class Req:
    method: str
    path: str
    params: dict[str, str]
    body: Any
    headers: dict[str, str]
    api: str
    m: re.Match[str]

    def repo(self, state: FakeState) -> RepoState | None:
        return state.repos.get(f"{self.m['owner']}/{self.m['repo']}")

    def actor(self, state: FakeState) -> str:
        """Who posts: an installation token acts as the App's bot, any other token as the user `hub-bot`."""
        token = self.headers.get("authorization", "").split(" ", 1)[-1]
        return f"{state.app_slug}[bot]" if token in state.installation_tokens else "hub-bot"

    def association(self, state: FakeState) -> str:
        """An App's bot has no association with the repository (GitHub says NONE)."""
        return "NONE" if self.actor(state).endswith("[bot]") else "MEMBER"

    def int(self, name: str, default: int) -> int:
        try:
            return int(self.params.get(name, default))
        except ValueError:
            return default


def same_hunk(patch: str, start: int, end: int) -> bool:
    """Whether new-side lines start..end all lie in one hunk of `patch` (GitHub's rule for multi-line comments)."""
    new, in_hunk, lines = 0, False, set[int]()
    for raw in patch.split("\n"):
        match = re.match(r"^@@ -\d+(?:,\d+)? \+(\d+)", raw)
        if match:
            if in_hunk and start in lines and end in lines:
                return start <= end
            new, in_hunk, lines = int(match.group(1)), True, set()
            continue
        if raw.startswith("-"):
            continue
        lines.add(new)
        new += 1
    return start in lines and end in lines and start <= end


def paginate(req: Req, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
    per_page = min(max(req.int("per_page", 30), 1), 100)
    page = max(req.int("page", 1), 1)
    last = max(1, -(-len(items) // per_page))
    links = []

    def url(n: int) -> str:
        return f"{req.api}{req.path}?{urlencode(req.params | {'page': n, 'per_page': per_page})}"

    if page < last:
        links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
    if page > 1:
        links += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
    return items[(page - 1) * per_page : page * per_page], ({"link": ", ".join(links)} if links else {})


class Handlers:
    state: FakeState

    def resolve(self, r: RepoState, ref: str | None) -> Commit | None:
        """A branch, a SHA (or a prefix of 7+) or a pull request's `pull/N/head` ref of `r`."""
        match = re.match(r"^(?:refs/)?pull/(\d+)/head$", ref or "")
        if match:
            pr = self.state.pulls.get(r.full, {}).get(int(match.group(1)))
            return r.commits.get(r.branches.get(pr["head"], "")) if pr else None
        return r.resolve(ref)

    def _issue_items(self, full: str) -> dict[int, tuple[dict[str, Any], bool]]:
        items = {n: (i, False) for n, i in self.state.issues.get(full, {}).items()}
        for n, pr in self.state.pulls.get(full, {}).items():
            items[n] = ({**pr, "state": "closed" if pr["merged"] else pr["state"], "assignees": []}, True)
        return items

    # -- issues --------------------------------------------------------------------------------

    def list_issues(self, req: Req) -> Result:
        r = req.repo(self.state)
        if r is None:
            return error(404, "Not Found")
        want = req.params.get("state", "open")
        labels = [x for x in req.params.get("labels", "").split(",") if x]
        out = []
        for _n, (item, pull) in sorted(self._issue_items(r.full).items(), reverse=True):
            if want != "all" and item["state"] != want:
                continue
            if labels and not set(labels) <= set(item.get("labels", [])):
                continue
            assignee = req.params.get("assignee")
            if assignee and assignee not in ("*", "none") and assignee not in item.get("assignees", []):
                continue
            out.append(fr.issue_json(req.api, r.full, item, self.state, pull))
        page, headers = paginate(req, out)
        return 200, page, headers

    def search_issues(self, req: Req) -> Result:
        words = req.params.get("q", "").split()
        scopes = [w for w in words if w.startswith(("repo:", "user:"))]
        terms = [w.lower() for w in words if w not in scopes and ":" not in w]
        hits = []
        for full in sorted(self.state.repos):
            owner = full.split("/")[0]
            if scopes and not any(s in (f"repo:{full}", f"user:{owner}") for s in scopes):
                continue
            for _n, (item, pull) in sorted(self._issue_items(full).items()):
                text = f"{item['title']} {item['body']}".lower()
                if all(t in text for t in terms):
                    hits.append(fr.issue_json(req.api, full, item, self.state, pull) | {"score": 1.0})
        page, headers = paginate(req, hits)
        body = {"total_count": len(hits), "incomplete_results": False, "items": page, "search_type": "lexical"}
        return 200, body, headers

    def get_issue(self, req: Req) -> Result:
        full = f"{req.m['owner']}/{req.m['repo']}"
        found = self._issue_items(full).get(int(req.m["n"]))
        if found is None:
            return error(404, "Not Found")
        return 200, fr.issue_json(req.api, full, found[0], self.state, found[1]), {}

    def create_issue(self, req: Req) -> Result:
        full = f"{req.m['owner']}/{req.m['repo']}"
        if full not in self.state.repos:
            return error(404, "Not Found")
        if not (req.body or {}).get("title"):
            return error(
                422, "Validation Failed", errors=[{"resource": "Issue", "code": "missing_field", "field": "title"}]
            )
        n = max([0, *self._issue_items(full)]) + 1
        item = {
            "number": n,
            "title": req.body["title"],
            "body": req.body.get("body"),
            "author": req.actor(self.state),
            "association": req.association(self.state),
            "state": "open",
            "labels": req.body.get("labels", []),
            "assignees": req.body.get("assignees", []),
        }
        self.state.issues.setdefault(full, {})[n] = item
        return 201, fr.issue_json(req.api, full, item, self.state), {}

    def update_issue(self, req: Req) -> Result:
        full = f"{req.m['owner']}/{req.m['repo']}"
        n = int(req.m["n"])
        item = self.state.issues.get(full, {}).get(n) or self.state.pulls.get(full, {}).get(n)
        if item is None:
            return error(404, "Not Found")
        if req.body.get("state") not in (None, "open", "closed"):
            return error(422, "Validation Failed", errors=[{"resource": "Issue", "code": "invalid", "field": "state"}])
        for key in ("title", "body", "state", "labels", "assignees", "state_reason"):
            if key in req.body:
                item[key] = req.body[key]
        is_pull = n in self.state.pulls.get(full, {})
        shown = {**item, "assignees": item.get("assignees", [])}
        return 200, fr.issue_json(req.api, full, shown, self.state, is_pull), {}

    def list_labels(self, req: Req) -> Result:
        # docs.github.com/rest/issues/labels#list-labels-for-a-repository (paged with Link headers)
        r = req.repo(self.state)
        if r is None:
            return NOT_FOUND
        items = [fr.label_json(req.api, r.full, x) for x in self.state.labels.get(r.full, [])]
        page, headers = paginate(req, items)
        return 200, page, headers

    def add_labels(self, req: Req) -> Result:
        # docs.github.com/rest/issues/labels#add-labels-to-an-issue: unknown names are created, the issue's
        # labels after the change are returned
        full = f"{req.m['owner']}/{req.m['repo']}"
        n = int(req.m["n"])
        item = self.state.issues.get(full, {}).get(n) or self.state.pulls.get(full, {}).get(n)
        names = (req.body or {}).get("labels") if isinstance(req.body, dict) else None
        if item is None:
            return NOT_FOUND
        if not isinstance(names, list) or not names or not all(isinstance(x, str) for x in names):
            return error(422, "Validation Failed", errors=[{"resource": "Label", "code": "invalid", "field": "labels"}])
        known = self.state.labels.setdefault(full, [])
        for name in names:
            if not any(x["name"] == name for x in known):
                known.append({"name": name, "description": None, "color": "ededed"})
            if name not in item.setdefault("labels", []):
                item["labels"].append(name)
        by_name = {x["name"]: x for x in known}
        return 200, [fr.label_json(req.api, full, by_name[name]) for name in item["labels"] if name in by_name], {}

    def issue_comments(self, req: Req) -> Result:
        full = f"{req.m['owner']}/{req.m['repo']}"
        n = int(req.m["n"])
        if n not in self._issue_items(full):
            return error(404, "Not Found")
        comments = [fr.comment_json(req.api, full, n, c) for c in self.state.comments.get(full, {}).get(n, [])]
        page, headers = paginate(req, comments)
        return 200, page, headers

    def add_comment(self, req: Req) -> Result:
        full = f"{req.m['owner']}/{req.m['repo']}"
        n = int(req.m["n"])
        if n not in self._issue_items(full):
            return error(404, "Not Found")
        if not (req.body or {}).get("body"):
            return error(
                422,
                "Validation Failed",
                errors=[{"resource": "IssueComment", "code": "missing_field", "field": "body"}],
            )
        c = {
            "id": self.state.new_id(),
            "body": req.body["body"],
            "author": req.actor(self.state),
            "association": req.association(self.state),
        }
        self.state.comments.setdefault(full, {}).setdefault(n, []).append(c)
        return 201, fr.comment_json(req.api, full, n, c), {}

    def update_issue_comment(self, req: Req) -> Result:
        full = f"{req.m['owner']}/{req.m['repo']}"
        cid = int(req.m["cid"])
        for n, thread in self.state.comments.get(full, {}).items():
            for c in thread:
                if c["id"] == cid:
                    if not isinstance((req.body or {}).get("body"), str):
                        return _missing_body("IssueComment")
                    c["body"] = req.body["body"]
                    return 200, fr.comment_json(req.api, full, n, c), {}
        return error(404, "Not Found")

    # -- pulls ---------------------------------------------------------------------------------

    def _pull(self, req: Req) -> tuple[RepoState, dict[str, Any]] | None:
        r = req.repo(self.state)
        item = self.state.pulls.get(r.full, {}).get(int(req.m["n"])) if r else None
        return (r, item) if r and item else None

    def list_pulls(self, req: Req) -> Result:
        r = req.repo(self.state)
        if r is None:
            return error(404, "Not Found")
        want = req.params.get("state", "open")
        items = [
            fr.pull_json(req.api, r, pr, self.state)
            for _n, pr in sorted(self.state.pulls.get(r.full, {}).items(), reverse=True)
            if (want == "all" or ("closed" if pr["merged"] else pr["state"]) == want)
            and req.params.get("base", pr["base"]) == pr["base"]
        ]
        page, headers = paginate(req, items)
        return 200, page, headers

    def get_pull(self, req: Req) -> Result:
        found = self._pull(req)
        if found is None:
            return error(404, "Not Found")
        r, pr = found
        if req.headers.get("accept") == "application/vnd.github.diff":
            text = "".join(
                f"diff --git a/{f['filename']} b/{f['filename']}\n--- a/{f['filename']}\n+++ b/{f['filename']}\n"
                f"{f.get('patch', 'Binary files differ')}\n"
                for f in fr.pull_files(r, pr)
            )
            return 200, text, {"content-type": "application/vnd.github.diff; charset=utf-8"}
        return 200, fr.pull_json(req.api, r, pr, self.state, full=True), {}

    def pull_files(self, req: Req) -> Result:
        found = self._pull(req)
        if found is None:
            return error(404, "Not Found")
        r, pr = found
        sha = r.branches.get(pr["head"], "")
        files = [f | fr.file_urls(req.api, r, sha, f["filename"]) for f in fr.pull_files(r, pr)]
        page, headers = paginate(req, files)
        return 200, page, headers

    def create_pull(self, req: Req) -> Result:
        r = req.repo(self.state)
        if r is None:
            return error(404, "Not Found")
        body = req.body or {}
        head = str(body.get("head", "")).split(":")[-1]
        if head not in r.branches or body.get("base") not in r.branches:
            return error(
                422, "Validation Failed", errors=[{"resource": "PullRequest", "code": "invalid", "field": "head"}]
            )
        n = max([0, *self._issue_items(r.full)]) + 1
        pr = {
            "number": n,
            "title": body.get("title", ""),
            "body": body.get("body"),
            "author": req.actor(self.state),
            "association": req.association(self.state),
            "head": head,
            "base": body["base"],
            "state": "open",
            "draft": bool(body.get("draft")),
            "labels": [],
            "merged": False,
        }
        self.state.pulls.setdefault(r.full, {})[n] = pr
        return 201, fr.pull_json(req.api, r, pr, self.state, full=True), {}

    def merge(self, req: Req) -> Result:
        found = self._pull(req)
        if found is None:
            return error(404, "Not Found")
        r, pr = found
        if pr["merged"] or pr.get("conflict"):
            return error(405, "Pull Request is not mergeable")
        head_sha = r.branches[pr["head"]]
        if req.body and req.body.get("sha") and req.body["sha"] != head_sha:
            return error(409, "Head branch was modified. Review and try the merge again.")
        tree = r.commits[head_sha].tree
        sha = sha_of("merge", head_sha)
        r.commits[sha] = Commit(sha, dict(tree), [r.branches[pr["base"]], head_sha], f"Merge #{pr['number']}", "alice")
        r.branches[pr["base"]] = sha
        pr["merged"], pr["merge_sha"] = True, sha
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}, {}

    def list_reviews(self, req: Req) -> Result:
        found = self._pull(req)
        if found is None:
            return error(404, "Not Found")
        r, pr = found
        sha = r.branches[pr["head"]]
        items = [
            fr.review_json(req.api, r.full, pr["number"], v, sha)
            for v in self.state.reviews.get(r.full, {}).get(pr["number"], [])
        ]
        page, headers = paginate(req, items)
        return 200, page, headers

    def create_review(self, req: Req) -> Result:
        found = self._pull(req)
        if found is None:
            return error(404, "Not Found")
        r, pr = found
        files = {f["filename"]: f for f in fr.pull_files(r, pr)}
        for c in req.body.get("comments", []):
            if c.get("path") not in files:
                return error(422, "Unprocessable Entity", errors=["Path could not be resolved"])
            start = c.get("start_line")
            if start is not None and not same_hunk(files[c["path"]].get("patch") or "", start, c["line"]):
                return error(
                    422,
                    "Unprocessable Entity",
                    errors=["pull_request_review_thread.start_line must be part of the same hunk as the line."],
                )
        state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED"}.get(req.body.get("event"), "COMMENTED")
        v = {
            "id": self.state.new_id(),
            "state": state,
            "body": req.body.get("body", ""),
            "author": req.actor(self.state),
            "association": req.association(self.state),
        }
        self.state.reviews.setdefault(r.full, {}).setdefault(pr["number"], []).append(v)
        for c in req.body.get("comments", []):
            self.state.review_comments.setdefault(r.full, {}).setdefault(pr["number"], []).append(
                {
                    "id": self.state.new_id(),
                    "path": c["path"],
                    "line": c["line"],
                    "start_line": c.get("start_line"),
                    "side": c.get("side", "RIGHT"),
                    "body": c["body"],
                    "author": req.actor(self.state),
                    "association": req.association(self.state),
                    "in_reply_to": None,
                }
            )
        return 200, fr.review_json(req.api, r.full, pr["number"], v, r.branches[pr["head"]]), {}

    def list_review_comments(self, req: Req) -> Result:
        found = self._pull(req)
        if found is None:
            return error(404, "Not Found")
        r, pr = found
        sha = r.branches[pr["head"]]
        items = [
            fr.review_comment_json(req.api, r.full, pr["number"], c, sha)
            for c in self.state.review_comments.get(r.full, {}).get(pr["number"], [])
        ]
        page, headers = paginate(req, items)
        return 200, page, headers

    def update_review_comment(self, req: Req) -> Result:
        r = req.repo(self.state)
        cid = int(req.m["cid"])
        for n, thread in self.state.review_comments.get(r.full, {}).items() if r else ():
            for c in thread:
                if c["id"] == cid:
                    if not isinstance((req.body or {}).get("body"), str):
                        return _missing_body("PullRequestReviewComment")
                    c["body"] = req.body["body"]
                    head = r.branches.get(self.state.pulls[r.full][n]["head"], "")
                    return 200, fr.review_comment_json(req.api, r.full, n, c, head), {}
        return error(404, "Not Found")

    def reply(self, req: Req) -> Result:
        found = self._pull(req)
        if found is None:
            return error(404, "Not Found")
        r, pr = found
        thread = self.state.review_comments.get(r.full, {}).get(pr["number"], [])
        parent = next((c for c in thread if c["id"] == int(req.m["cid"])), None)
        if parent is None:
            return error(404, "Not Found")
        c = {
            "id": self.state.new_id(),
            "path": parent["path"],
            "line": parent["line"],
            "side": parent["side"],
            "body": req.body["body"],
            "author": req.actor(self.state),
            "association": req.association(self.state),
            "in_reply_to": parent["id"],
        }
        thread.append(c)
        return 201, fr.review_comment_json(req.api, r.full, pr["number"], c, r.branches[pr["head"]]), {}
