"""Users, projects, members and the repository (files, tree, branches, commits, compare, search)."""

from __future__ import annotations

import base64
from typing import Any

from starlette.responses import JSONResponse, Response

from tests.connectors.gitlab.fake.app import Call, HttpError, keyset, not_found, paginate
from tests.connectors.gitlab.fake.state import GitCommit, file_diffs


async def current_user(call: Call) -> Response:
    # docs.gitlab.com "Users API" – Get the current user
    return JSONResponse(call.state.user(call.state.me) | {"is_admin": False})


async def users(call: Call) -> Response:
    # docs.gitlab.com "Users API" – List users (?username= returns 0 or 1 user)
    name = call.query.get("username", "")
    known = {"alice", "bob", "carol", "mallory", "hub-bot"}
    return JSONResponse([call.state.user(name)] if name in known else [])


async def projects(call: Call) -> Response:
    # docs.gitlab.com "Projects API" – List all projects (search, simple; keyset with pagination=keyset)
    term = call.query.get("search", "").lower()
    found = [p.json() for p in call.state.projects.values() if term in p.path.lower()]
    if call.query.get("pagination") == "keyset":
        if call.query.get("order_by", "id") != "id":
            raise HttpError(405, {"message": "405 Method Not Allowed"})
        return keyset(call, found)
    return paginate(call, found)


async def project(call: Call) -> Response:
    # docs.gitlab.com "Projects API" – Get a single project
    return JSONResponse(call.project().json())


async def members_all(call: Call) -> Response:
    # docs.gitlab.com "Group and project members API" – List all members including inherited
    proj = call.project()
    return paginate(call, [call.state.user(m) | {"access_level": 30} for m in proj.members])


def commit_at(call: Call, proj: Any, ref: str) -> Any:
    commit = call.state.resolve(proj, ref)
    if commit is None:
        raise not_found("Commit")
    return commit


async def file(call: Call) -> Response:
    # docs.gitlab.com "Repository files API" – Get file from repository (ref required; base64 content)
    proj = call.project()
    if "ref" not in call.query:
        raise HttpError(400, {"error": "ref is missing"})
    commit = commit_at(call, proj, call.query["ref"])
    path = call.params["path"]
    if path not in commit.files:
        raise not_found("File")
    data = commit.files[path].encode()
    return JSONResponse(
        {
            "file_name": path.rsplit("/", 1)[-1],
            "file_path": path,
            "size": len(data),
            "encoding": "base64",
            "content": base64.b64encode(data).decode(),
            "ref": call.query["ref"],
            "blob_id": "b" * 40,
            "commit_id": commit.sha,
            "last_commit_id": commit.sha,
        }
    )


async def tree(call: Call) -> Response:
    # docs.gitlab.com "Repositories API" – List repository tree (path, ref; offset pagination)
    proj = call.project()
    commit = commit_at(call, proj, call.query.get("ref", proj.default_branch))
    prefix = call.query.get("path", "").strip("/")
    prefix = prefix + "/" if prefix else ""
    entries: dict[str, str] = {}
    for path in commit.files:
        if path.startswith(prefix):
            head, _, rest = path[len(prefix) :].partition("/")
            entries[head] = "tree" if rest else "blob"
    if prefix and not entries:
        raise not_found("Tree")
    return paginate(
        call,
        [
            {"id": "t" * 40, "name": n, "type": t, "path": prefix + n, "mode": "100644"}
            for n, t in sorted(entries.items(), key=lambda e: (e[1] != "tree", e[0]))
        ],
    )


def branch_json(proj: Any, name: str, call: Call) -> dict[str, Any]:
    commit = proj.commits[proj.branches[name]]
    return {
        "name": name,
        "commit": call.state.commit_json(proj, commit),
        "merged": False,
        "protected": name == proj.default_branch,
        "default": name == proj.default_branch,
        "developers_can_push": False,
        "developers_can_merge": False,
        "can_push": True,
    }


async def branches(call: Call) -> Response:
    # docs.gitlab.com "Branches API" – List repository branches (search)
    proj = call.project()
    term = call.query.get("search", "")
    return paginate(call, [branch_json(proj, n, call) for n in sorted(proj.branches) if term in n])


async def create_branch(call: Call) -> Response:
    # docs.gitlab.com "Branches API" – Create repository branch: 400 "Branch already exists" / "Invalid reference name"
    proj = call.project()
    name, ref = call.arg("branch"), call.arg("ref")
    if not name or not ref:
        raise HttpError(400, {"error": "branch is missing, ref is missing"})
    if name in proj.branches:
        raise HttpError(400, {"message": "Branch already exists"})
    commit = call.state.resolve(proj, ref)
    if commit is None:
        raise HttpError(400, {"message": "Invalid reference name: " + ref})
    proj.branches[name] = commit.sha
    return JSONResponse(branch_json(proj, name, call), status_code=201)


async def commits(call: Call) -> Response:
    # docs.gitlab.com "Commits API" – List repository commits (ref_name, path)
    proj = call.project()
    commit = commit_at(call, proj, call.query.get("ref_name", proj.default_branch))
    path = call.query.get("path")
    out = []
    while commit is not None:
        parent = proj.commits.get(commit.parent) if commit.parent else None
        if not path or (parent.files if parent else {}).get(path) != commit.files.get(path):
            out.append(call.state.commit_json(proj, commit))
        commit = parent
    return paginate(call, out)


async def one_commit(call: Call) -> Response:
    # docs.gitlab.com "Commits API" – Get a single commit
    proj = call.project()
    return JSONResponse(call.state.commit_json(proj, commit_at(call, proj, call.params["sha"])))


async def commit_diff(call: Call) -> Response:
    # docs.gitlab.com "Commits API" – Get the diff of a commit (paginated)
    proj = call.project()
    commit = commit_at(call, proj, call.params["sha"])
    parent = proj.commits[commit.parent].files if commit.parent else {}
    return paginate(call, file_diffs(parent, commit.files))


async def create_commit(call: Call) -> Response:
    # docs.gitlab.com "Commits API" – Create a commit with multiple files and actions
    proj = call.project()
    branch, start = call.arg("branch"), call.arg("start_branch")
    actions = call.arg("actions") or []
    if not branch or not call.arg("commit_message") or not actions:
        raise HttpError(400, {"error": "branch is missing, commit_message is missing, actions is missing"})
    head = proj.branches.get(branch) or (proj.branches.get(start) if start else None)
    if head is None:
        raise HttpError(400, {"message": "You can only create or edit files when you are on a branch"})
    files = proj.commits[head].files
    change: dict[str, str | None] = {}
    for action in actions:
        path, kind = action.get("file_path"), action.get("action")
        if kind == "create" and path in files:
            raise HttpError(400, {"message": "A file with this name already exists"})
        if kind in ("update", "delete") and path not in files:
            raise HttpError(400, {"message": "A file with this name doesn't exist"})
        change[path] = None if kind == "delete" else action.get("content", "")
    commit = call.state.commit(proj, branch, change, call.arg("commit_message"), start=start)
    return JSONResponse(call.state.commit_json(proj, commit), status_code=201)


async def compare(call: Call) -> Response:
    # docs.gitlab.com "Repositories API" – Compare branches, tags or commits. Without `straight=true`
    # GitLab compares from the merge base of `from` and `to` (`from...to`): the commits reachable from
    # `to` but not from `from`, and the diff from the merge base to `to`. (Histories here are linear
    # per commit: one parent each.)
    proj = call.project()
    old = commit_at(call, proj, call.query.get("from", ""))
    new = commit_at(call, proj, call.query.get("to", ""))
    straight = call.query.get("straight") == "true"
    reachable: set[str] = set()
    cur = old
    while cur is not None and not straight:
        reachable.add(cur.sha)
        cur = proj.commits.get(cur.parent) if cur.parent else None
    chain, cur, base = [], new, old
    while cur is not None and (cur.sha != old.sha if straight else cur.sha not in reachable):
        chain.append(call.state.commit_json(proj, cur))
        cur = proj.commits.get(cur.parent) if cur.parent else None
    if not straight:
        base = cur if cur is not None else GitCommit("", None, {}, "")
    return JSONResponse(
        {
            "commit": chain[0] if chain else None,
            "commits": chain[::-1],
            "diffs": file_diffs(base.files, new.files),
            "compare_timeout": False,
            "compare_same_ref": old.sha == new.sha,
        }
    )


async def search(call: Call) -> Response:
    # docs.gitlab.com "Search API" – Project search, scope=blobs; without advanced/exact code search
    # GitLab answers 400 {"error": "scope does not have a valid value"}
    proj = call.project()
    if call.query.get("scope") != "blobs" or not call.state.advanced_search:
        raise HttpError(400, {"error": "scope does not have a valid value"})
    term = call.query.get("search", "")
    ref = call.query.get("ref", proj.default_branch)
    commit = commit_at(call, proj, ref)
    hits = []
    for path, content in sorted(commit.files.items()):
        for number, line in enumerate(content.splitlines(), start=1):
            if term in line:
                hits.append(
                    {
                        "basename": path.rsplit(".", 1)[0],
                        "data": line + "\n",
                        "path": path,
                        "filename": path,
                        "id": None,
                        "ref": ref,
                        "startline": number,
                        "project_id": proj.id,
                    }
                )
                break
    return paginate(call, hits)


ROUTES = [
    ("GET", "user", current_user),
    ("GET", "users", users),
    ("GET", "projects", projects),
    ("GET", "projects/:project", project),
    ("GET", "projects/:project/members/all", members_all),
    ("GET", "projects/:project/repository/files/:path", file),
    ("GET", "projects/:project/repository/tree", tree),
    ("GET", "projects/:project/repository/branches", branches),
    ("POST", "projects/:project/repository/branches", create_branch),
    ("GET", "projects/:project/repository/commits", commits),
    ("POST", "projects/:project/repository/commits", create_commit),
    ("GET", "projects/:project/repository/commits/:sha", one_commit),
    ("GET", "projects/:project/repository/commits/:sha/diff", commit_diff),
    ("GET", "projects/:project/repository/compare", compare),
    ("GET", "projects/:project/search", search),
]
