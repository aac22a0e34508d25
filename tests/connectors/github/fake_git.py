"""Handlers of the fake GitHub for the git data API (refs, commits, blobs, trees), used by commit_files."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from tests.connectors.github import fake_render as fr
from tests.connectors.github.fake_handlers import Req, Result, error
from tests.connectors.github.fake_state import Commit, FakeState, RepoState, sha_of, tree_sha


class GitHandlers:
    state: FakeState

    def _ref_json(self, req: Req, r: RepoState, branch: str) -> dict[str, Any]:
        sha = r.branches[branch]
        return {
            "ref": f"refs/heads/{branch}",
            "node_id": "REF_" + branch,
            "url": f"{req.api}/repos/{r.full}/git/refs/heads/{branch}",
            "object": {"type": "commit", "sha": sha, "url": f"{req.api}/repos/{r.full}/git/commits/{sha}"},
        }

    def get_ref(self, req: Req) -> Result:
        r = req.repo(self.state)
        branch = unquote(req.m["ref"]).removeprefix("heads/")
        if r is None or branch not in r.branches:
            return error(404, "Not Found")
        return 200, self._ref_json(req, r, branch), {}

    def create_ref(self, req: Req) -> Result:
        r = req.repo(self.state)
        if r is None:
            return error(404, "Not Found")
        branch = str(req.body.get("ref", "")).removeprefix("refs/heads/")
        if branch in r.branches:
            return error(422, "Reference already exists")
        if req.body.get("sha") not in r.commits:
            return error(422, "Object does not exist")
        r.branches[branch] = req.body["sha"]
        return 201, self._ref_json(req, r, branch), {}

    def update_ref(self, req: Req) -> Result:
        r = req.repo(self.state)
        branch = unquote(req.m["ref"]).removeprefix("heads/")
        if r is None or branch not in r.branches:
            return error(422, "Reference does not exist")
        new = req.body.get("sha")
        if new not in r.commits:
            return error(422, "Object does not exist")
        if r.branches[branch] not in self.history(r, new) and not req.body.get("force"):
            return error(422, "Update is not a fast forward")
        r.branches[branch] = new
        return 200, self._ref_json(req, r, branch), {}

    def history(self, r: RepoState, sha: str) -> list[str]:
        out = []
        while sha:
            out.append(sha)
            parents = r.commits[sha].parents
            sha = parents[0] if parents else ""
        return out

    def git_commit(self, req: Req) -> Result:
        r = req.repo(self.state)
        c = r.commits.get(req.m["sha"]) if r else None
        if r is None or c is None:
            return error(404, "Not Found")
        return 200, fr.git_commit_json(req.api, r, c), {}

    def create_blob(self, req: Req) -> Result:
        r = req.repo(self.state)
        if r is None:
            return error(404, "Not Found")
        data = str(req.body.get("content", "")).encode()
        sha = sha_of("blob", data)
        r.blobs[sha] = data
        return 201, {"sha": sha, "url": f"{req.api}/repos/{r.full}/git/blobs/{sha}"}, {}

    def create_tree(self, req: Req) -> Result:
        r = req.repo(self.state)
        if r is None:
            return error(404, "Not Found")
        tree = dict(r.trees.get(req.body.get("base_tree", ""), {}))
        for entry in req.body.get("tree", []):
            if entry.get("sha") is None:
                tree.pop(entry["path"], None)
            elif entry["sha"] in r.blobs:
                tree[entry["path"]] = r.blobs[entry["sha"]]
            else:
                return error(422, "Invalid tree info")
        sha = tree_sha(tree)
        r.trees[sha] = tree
        return 201, {"sha": sha, "url": f"{req.api}/repos/{r.full}/git/trees/{sha}", "truncated": False, "tree": []}, {}

    def create_commit(self, req: Req) -> Result:
        r = req.repo(self.state)
        if r is None or req.body.get("tree") not in r.trees:
            return error(422, "Tree SHA does not exist")
        sha = sha_of("commit", req.body["tree"], req.body.get("parents"), req.body["message"])
        r.commits[sha] = Commit(
            sha, r.trees[req.body["tree"]], list(req.body.get("parents", [])), req.body["message"], "hub-bot"
        )
        return 201, fr.git_commit_json(req.api, r, r.commits[sha]), {}
