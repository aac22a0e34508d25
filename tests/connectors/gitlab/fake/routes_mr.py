"""Merge requests (diffs, approvals, discussions, draft notes, merge) and pipelines/jobs."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from starlette.responses import JSONResponse, PlainTextResponse, Response

from tests.connectors.gitlab.fake.app import Call, HttpError, not_found, paginate
from tests.connectors.gitlab.fake.routes_issues import labels
from tests.connectors.gitlab.fake.state import NOW, file_diffs, mr

_STATES = {"opened", "closed", "merged", "locked", "all"}


def mr_of(call: Call) -> tuple[Any, dict[str, Any]]:
    proj = call.project()
    found = proj.mrs.get(call.int_param("iid"))
    if found is None:
        raise not_found("Merge Request")
    return proj, found


def mr_diffs(proj: Any, item: dict[str, Any]) -> list[dict[str, Any]]:
    refs = item["diff_refs"] or {}
    if not refs.get("head_sha"):
        return []
    return file_diffs(proj.commits[refs["start_sha"]].files, proj.commits[refs["head_sha"]].files)


async def list_mrs(call: Call) -> Response:
    # docs.gitlab.com "Merge requests API" – List project merge requests (state, labels, search, author_username,
    # target_branch; the list returns the same object as a single MR minus diff_refs/head_pipeline)
    proj = call.project()
    q = call.query
    state = q.get("state", "all")
    if state not in _STATES:
        raise HttpError(400, {"error": "state does not have a valid value"})
    found = []
    for item in sorted(proj.mrs.values(), key=lambda m: -m["iid"]):
        if state != "all" and item["state"] != state:
            continue
        if any(label not in item["labels"] for label in labels(q.get("labels"))):
            continue
        if q.get("author_username") and item["author"]["username"] != q["author_username"]:
            continue
        if q.get("target_branch") and item["target_branch"] != q["target_branch"]:
            continue
        if q.get("search") and q["search"].lower() not in item["title"].lower():
            continue
        found.append({k: v for k, v in item.items() if k not in ("diff_refs", "head_pipeline")})
    return paginate(call, found)


async def get_mr(call: Call) -> Response:
    # docs.gitlab.com "Merge requests API" – Get single MR
    return JSONResponse(mr_of(call)[1])


async def approvals(call: Call) -> Response:
    # docs.gitlab.com "Merge request approvals API" – Get approval state (single MR)
    _, item = mr_of(call)
    return JSONResponse(
        {
            "id": item["id"],
            "iid": item["iid"],
            "approved": item["iid"] == 1,
            "approvals_required": 1,
            "approvals_left": 0 if item["iid"] == 1 else 1,
            "approved_by": [{"user": call.state.user("bob")}] if item["iid"] == 1 else [],
        }
    )


async def diffs(call: Call) -> Response:
    # docs.gitlab.com "Merge requests API" – List merge request diffs (GitLab 15.7+, paginated)
    proj, item = mr_of(call)
    return paginate(call, mr_diffs(proj, item))


async def list_discussions(call: Call) -> Response:
    # docs.gitlab.com "Discussions API" – List project merge request discussion items
    proj, item = mr_of(call)
    return paginate(call, proj.discussions[item["iid"]])


def diff_lines(diff: str) -> set[tuple[int | None, int | None]]:
    """(old_line, new_line) pairs GitLab accepts for a note: added (None, n), removed (o, None), context (o, n)."""
    pairs: set[tuple[int | None, int | None]] = set()
    old = new = 0
    for line in diff.splitlines():
        hunk = re.match(r"@@ -(\d+)(?:,\d+)? \+(\d+)", line)
        if hunk:
            old, new = int(hunk.group(1)), int(hunk.group(2))
        elif line.startswith("+"):
            pairs.add((None, new))
            new += 1
        elif line.startswith("-"):
            pairs.add((old, None))
            old += 1
        elif line.startswith(" "):
            pairs.add((old, new))
            old += 1
            new += 1
    return pairs


def check_position(proj: Any, item: dict[str, Any], position: Any) -> dict[str, Any]:
    """GitLab rejects a bad position with 400 (docs.gitlab.com "Discussions API" – new thread in the MR diff)."""
    if not isinstance(position, dict) or position.get("position_type") != "text":
        raise HttpError(400, {"message": "400 Bad request - position_type is missing"})
    refs = item["diff_refs"] or {}
    if any(position.get(k) != refs.get(k) for k in ("base_sha", "start_sha", "head_sha")):
        raise HttpError(400, {"message": '400 Bad request - Note {:position=>["is invalid"]}'})
    file = next((d for d in mr_diffs(proj, item) if d["new_path"] == position.get("new_path")), None)
    pair = (position.get("old_line"), position.get("new_line"))
    if file is None or pair not in diff_lines(file["diff"]):
        raise HttpError(
            400, {"message": '400 Bad request - Note {:line_code=>["can\'t be blank", "must be a valid line code"]}'}
        )
    if position.get("line_range") is not None:
        check_line_range(file, position["line_range"], pair)
    return position


def line_codes(path: str, diff: str) -> list[dict[str, Any]]:
    """Each diff line as GitLab names it: `line_code` = SHA-1 of the path, its old and new positions."""
    out: list[dict[str, Any]] = []
    old = new = 0
    digest = hashlib.sha1(path.encode()).hexdigest()
    for line in diff.splitlines():
        hunk = re.match(r"@@ -(\d+)(?:,\d+)? \+(\d+)", line)
        if hunk:
            old, new = int(hunk.group(1)), int(hunk.group(2))
            continue
        kind = line[:1]
        if kind not in "+- " or not line:
            continue
        out.append(
            {
                "line_code": f"{digest}_{old}_{new}",
                "type": {"+": "new", "-": "old"}.get(kind),
                "old_line": None if kind == "+" else old,
                "new_line": None if kind == "-" else new,
            }
        )
        old += kind != "+"
        new += kind != "-"
    return out


def check_line_range(file: dict[str, Any], line_range: Any, pair: tuple[Any, Any]) -> None:
    """A multi-line note: both ends must be lines of this file's diff (by line_code), in order, the note's
    own line being the end (docs.gitlab.com "Discussions API" – parameters for multiline comments)."""
    codes = line_codes(str(file["new_path"]), str(file["diff"]))
    index = {c["line_code"]: i for i, c in enumerate(codes)}
    bad = HttpError(400, {"message": '400 Bad request - Note {:line_range=>["is invalid"]}'})
    found: list[int] = []
    for key in ("start", "end"):
        end = line_range.get(key) if isinstance(line_range, dict) else None
        i = index.get(end.get("line_code")) if isinstance(end, dict) else None
        if not isinstance(end, dict) or i is None:
            raise bad
        if (end.get("type") or None) != codes[i]["type"] or end.get("new_line") != codes[i]["new_line"]:
            raise bad
        found.append(i)
    if found[0] > found[1] or (codes[found[1]]["old_line"], codes[found[1]]["new_line"]) != pair:
        raise bad


def note(call: Call, body: Any, position: Any = None) -> dict[str, Any]:
    if not body:
        raise HttpError(400, {"error": "body is missing"})
    return {
        "id": call.state.next_id(),
        "type": "DiffNote" if position else "DiscussionNote",
        "body": body,
        "author": call.state.user(call.state.me),
        "created_at": NOW,
        "system": False,
        "resolvable": True,
        "resolved": False,
        "position": position,
    }


async def create_discussion(call: Call) -> Response:
    # docs.gitlab.com "Discussions API" – Create new merge request thread (body; optional position[…])
    proj, item = mr_of(call)
    position = call.arg("position")
    if position is not None:
        check_position(proj, item, position)
    discussion = {
        "id": f"d{call.state.next_id():039d}",
        "individual_note": False,
        "notes": [note(call, call.arg("body"), position)],
    }
    proj.discussions[item["iid"]].append(discussion)
    return JSONResponse(discussion, status_code=201)


def discussion_of(call: Call) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    proj, item = mr_of(call)
    found = next((d for d in proj.discussions[item["iid"]] if d["id"] == call.params["discussion"]), None)
    if found is None:
        raise not_found("Discussion")
    return proj, item, found


async def reply(call: Call) -> Response:
    # docs.gitlab.com "Discussions API" – Add note to existing merge request thread
    _, _, discussion = discussion_of(call)
    new = note(call, call.arg("body"))
    discussion["notes"].append(new)
    return JSONResponse(new, status_code=201)


async def resolve(call: Call) -> Response:
    # docs.gitlab.com "Discussions API" – Resolve a merge request thread (resolved=true|false)
    _, _, discussion = discussion_of(call)
    value = str(call.arg("resolved", "")).lower()
    if value not in ("true", "false"):
        raise HttpError(400, {"error": "resolved is missing"})
    for n in discussion["notes"]:
        n["resolved"] = value == "true"
    return JSONResponse(discussion)


async def update_note(call: Call) -> Response:
    # docs.gitlab.com "Notes API" – Modify existing merge request note (body); only the author may
    proj, item = mr_of(call)
    wanted = call.int_param("note")
    found = next((n for d in proj.discussions[item["iid"]] for n in d["notes"] if n["id"] == wanted), None)
    if found is None:
        raise not_found("Note")
    if found["author"]["username"] != call.state.me:
        raise HttpError(403, {"message": "403 Forbidden"})
    body = call.arg("body")
    if not body:
        raise HttpError(400, {"error": "body is missing"})
    found["body"] = body
    return JSONResponse(found)


async def create_draft(call: Call) -> Response:
    # docs.gitlab.com "Draft Notes API" – Create a draft note (note; optional position)
    proj, item = mr_of(call)
    position = call.arg("position")
    if position is not None:
        check_position(proj, item, position)
    if not call.arg("note"):
        raise HttpError(400, {"error": "note is missing"})
    draft = {
        "id": call.state.next_id(),
        "author_id": 1,
        "merge_request_id": item["id"],
        "note": call.arg("note"),
        "position": position,
        "resolve_discussion": False,
    }
    proj.drafts[item["iid"]].append(draft)
    return JSONResponse(draft, status_code=201)


async def delete_draft(call: Call) -> Response:
    # docs.gitlab.com "Draft Notes API" – Delete a draft note (204)
    proj, item = mr_of(call)
    proj.drafts[item["iid"]] = [d for d in proj.drafts[item["iid"]] if str(d["id"]) != call.params["draft"]]
    return Response(status_code=204)


async def bulk_publish(call: Call) -> Response:
    # docs.gitlab.com "Draft Notes API" – Publish all pending draft notes (204)
    proj, item = mr_of(call)
    for draft in proj.drafts[item["iid"]]:
        proj.discussions[item["iid"]].append(
            {
                "id": f"d{call.state.next_id():039d}",
                "individual_note": False,
                "notes": [note(call, draft["note"], draft["position"])],
            }
        )
    proj.drafts[item["iid"]] = []
    return Response(status_code=204)


async def create_mr(call: Call) -> Response:
    # docs.gitlab.com "Merge requests API" – Create MR (409 when one is open for the same branches)
    proj = call.project()
    source, target, title = call.arg("source_branch"), call.arg("target_branch"), call.arg("title")
    if not (source and target and title):
        raise HttpError(400, {"error": "source_branch is missing, target_branch is missing, title is missing"})
    if source not in proj.branches or target not in proj.branches:
        raise HttpError(400, {"message": ["Source branch is invalid"]})
    if any(
        m["source_branch"] == source and m["target_branch"] == target and m["state"] == "opened"
        for m in proj.mrs.values()
    ):
        raise HttpError(409, {"message": ["Another open merge request already exists for this source branch"]})
    iid = max(proj.mrs, default=0) + 1
    proj.mrs[iid] = mr(call.state, proj, iid, source, target, title, call.state.me)
    proj.mrs[iid]["draft"] = title.lower().startswith("draft:")
    proj.discussions[iid] = []
    proj.drafts[iid] = []
    return JSONResponse(proj.mrs[iid], status_code=201)


async def merge(call: Call) -> Response:
    # docs.gitlab.com "Merge requests API" – Merge a merge request: 405 not mergeable (draft, closed, pipeline),
    # 406 conflicts, 409 "SHA does not match HEAD of source branch"
    proj, item = mr_of(call)
    if item["state"] != "opened" or item["draft"]:
        raise HttpError(405, {"message": "405 Method Not Allowed"})
    if item["has_conflicts"]:
        raise HttpError(406, {"message": "Branch cannot be merged"})
    if call.arg("sha") and call.arg("sha") != item["sha"]:
        raise HttpError(409, {"message": f"SHA does not match HEAD of source branch: {item['sha']}"})
    proj.branches[item["target_branch"]] = item["sha"]
    item.update(state="merged", merge_commit_sha=item["sha"])
    return JSONResponse(item)


async def pipelines(call: Call) -> Response:
    # docs.gitlab.com "Pipelines API" – List project pipelines (ref, status)
    proj = call.project()
    found = [
        p
        for p in reversed(proj.pipelines)
        if call.query.get("ref", p["ref"]) == p["ref"] and call.query.get("status", p["status"]) == p["status"]
    ]
    return paginate(call, found)


async def pipeline_jobs(call: Call) -> Response:
    # docs.gitlab.com "Jobs API" – List pipeline jobs (scope[] filters by status)
    proj = call.project()
    pid = call.int_param("pipeline")
    if not any(p["id"] == pid for p in proj.pipelines):
        raise not_found("Pipeline")
    scopes = [v for k, v in call.request.query_params.multi_items() if k == "scope[]"]
    return paginate(
        call, [j for j in proj.jobs.values() if j["pipeline"]["id"] == pid and (not scopes or j["status"] in scopes)]
    )


def job_of(call: Call) -> tuple[Any, dict[str, Any]]:
    proj = call.project()
    job = proj.jobs.get(call.int_param("job"))
    if job is None:
        raise not_found("Job")
    return proj, job


async def job(call: Call) -> Response:
    # docs.gitlab.com "Jobs API" – Get a single job
    return JSONResponse(job_of(call)[1])


async def trace(call: Call) -> Response:
    # docs.gitlab.com "Jobs API" – Get a log file (plain text)
    proj, found = job_of(call)
    return PlainTextResponse(proj.traces[found["id"]])


async def retry(call: Call) -> Response:
    # docs.gitlab.com "Pipelines API" – Retry jobs in a pipeline (201, the pipeline)
    proj = call.project()
    pid = call.int_param("pipeline")
    found = next((p for p in proj.pipelines if p["id"] == pid), None)
    if found is None:
        raise not_found("Pipeline")
    found["status"] = "running"
    return JSONResponse(found, status_code=201)


MR = "projects/:project/merge_requests/:iid"
ROUTES = [
    ("GET", "projects/:project/merge_requests", list_mrs),
    ("POST", "projects/:project/merge_requests", create_mr),
    ("GET", MR, get_mr),
    ("GET", f"{MR}/approvals", approvals),
    ("GET", f"{MR}/diffs", diffs),
    ("GET", f"{MR}/discussions", list_discussions),
    ("POST", f"{MR}/discussions", create_discussion),
    ("POST", f"{MR}/discussions/:discussion/notes", reply),
    ("PUT", f"{MR}/discussions/:discussion", resolve),
    ("PUT", f"{MR}/notes/:note", update_note),
    ("POST", f"{MR}/draft_notes", create_draft),
    ("DELETE", f"{MR}/draft_notes/:draft", delete_draft),
    ("POST", f"{MR}/draft_notes/bulk_publish", bulk_publish),
    ("PUT", f"{MR}/merge", merge),
    ("GET", "projects/:project/pipelines", pipelines),
    ("GET", "projects/:project/pipelines/:pipeline/jobs", pipeline_jobs),
    ("POST", "projects/:project/pipelines/:pipeline/retry", retry),
    ("GET", "projects/:project/jobs/:job", job),
    ("GET", "projects/:project/jobs/:job/trace", trace),
]
