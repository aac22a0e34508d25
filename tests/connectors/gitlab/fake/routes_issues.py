"""Issues and their notes."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from tests.connectors.gitlab.fake.app import Call, HttpError, not_found, paginate
from tests.connectors.gitlab.fake.state import NOW


def issue_of(call: Call) -> tuple[Any, dict[str, Any]]:
    proj = call.project()
    issue = proj.issues.get(call.int_param("iid"))
    if issue is None:
        raise not_found("Issue")
    return proj, issue


def labels(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v for v in str(value or "").split(",") if v]


def user_by_id(call: Call, user_id: int) -> dict[str, Any]:
    name = next((n for n, i in call.state.user_ids.items() if i == user_id), None)
    if name is None:
        raise HttpError(404, {"message": "404 User Not Found"})
    return call.state.user(name)


async def get_member_all(call: Call) -> Response:
    # docs.gitlab.com "Group and project members API" – Get a member of a group or project, including
    # inherited and invited members: 404 for a user who is no member
    project = call.project()
    member = user_by_id(call, call.int_param("user_id"))
    if member["username"] not in project.members:
        raise HttpError(404, {"message": "404 Not found"})
    level = project.access.get(member["username"], 30)
    return JSONResponse(
        member | {"access_level": level, "created_at": NOW, "expires_at": None, "membership_state": "active"}
    )


async def list_issues(call: Call) -> Response:
    # docs.gitlab.com "Issues API" – List project issues (state, labels, search, assignee_username, author_username)
    proj = call.project()
    q = call.query
    found = []
    for issue in sorted(proj.issues.values(), key=lambda i: -i["iid"]):
        if q.get("state", "all") != "all" and issue["state"] != q["state"]:
            continue
        if any(label not in issue["labels"] for label in labels(q.get("labels"))):
            continue
        term = q.get("search", "").lower()
        if term and term not in (issue["title"] + issue["description"]).lower():
            continue
        if q.get("assignee_username") and q["assignee_username"] not in [a["username"] for a in issue["assignees"]]:
            continue
        if q.get("author_username") and issue["author"]["username"] != q["author_username"]:
            continue
        found.append(issue)
    return paginate(call, found)


async def get_issue(call: Call) -> Response:
    # docs.gitlab.com "Issues API" – Single project issue
    return JSONResponse(issue_of(call)[1])


async def create_issue(call: Call) -> Response:
    # docs.gitlab.com "Issues API" – New issue (title required; labels comma-separated; assignee_ids)
    proj = call.project()
    if not call.arg("title"):
        raise HttpError(400, {"error": "title is missing"})
    iid = max(proj.issues, default=0) + 1
    issue = {
        "id": call.state.next_id(),
        "iid": iid,
        "project_id": proj.id,
        "title": call.arg("title"),
        "description": call.arg("description") or "",
        "state": "opened",
        "labels": labels(call.arg("labels")),
        "author": call.state.user(call.state.me),
        "user_notes_count": 0,
        "created_at": NOW,
        "updated_at": NOW,
        "assignees": [user_by_id(call, int(i)) for i in call.arg("assignee_ids") or []],
    }
    proj.issues[iid] = issue
    proj.issue_notes[iid] = []
    return JSONResponse(issue, status_code=201)


async def update_issue(call: Call) -> Response:
    # docs.gitlab.com "Issues API" – Edit an issue (state_event, add_labels, remove_labels, assignee_ids; [0] unassigns)
    _, issue = issue_of(call)
    event = call.arg("state_event")
    if event not in (None, "close", "reopen"):
        raise HttpError(400, {"error": "state_event does not have a valid value"})
    if event:
        issue["state"] = "closed" if event == "close" else "opened"
    if call.arg("title"):
        issue["title"] = call.arg("title")
    issue["labels"] = [x for x in issue["labels"] if x not in labels(call.arg("remove_labels"))]
    issue["labels"] += [x for x in labels(call.arg("add_labels")) if x not in issue["labels"]]
    if call.arg("assignee_ids") is not None:
        issue["assignees"] = [user_by_id(call, int(i)) for i in call.arg("assignee_ids") if int(i) != 0]
    return JSONResponse(issue)


async def list_notes(call: Call) -> Response:
    # docs.gitlab.com "Notes API" – List project issue notes (sort, order_by)
    proj, issue = issue_of(call)
    notes = list(proj.issue_notes[issue["iid"]])
    if call.query.get("sort", "desc") == "desc":
        notes.reverse()
    return paginate(call, notes)


async def create_note(call: Call) -> Response:
    # docs.gitlab.com "Notes API" – Create new issue note (body required)
    proj, issue = issue_of(call)
    if not call.arg("body"):
        raise HttpError(400, {"error": "body is missing"})
    note = {
        "id": call.state.next_id(),
        "body": call.arg("body"),
        "author": call.state.user(call.state.me),
        "created_at": NOW,
        "system": False,
        "noteable_type": "Issue",
    }
    proj.issue_notes[issue["iid"]].append(note)
    issue["user_notes_count"] += 1
    return JSONResponse(note, status_code=201)


async def list_labels(call: Call) -> Response:
    # docs.gitlab.com "Labels API" – List labels (offset pagination; ids, colours, open issue counts)
    proj = call.project()
    items = [
        {
            "id": 300 + index,
            "name": label["name"],
            "color": label.get("color", "#428BCA"),
            "text_color": "#FFFFFF",
            "description": label.get("description"),
            "description_html": label.get("description") or "",
            "open_issues_count": sum(
                1 for i in proj.issues.values() if i["state"] == "opened" and label["name"] in i["labels"]
            ),
            "closed_issues_count": 0,
            "open_merge_requests_count": 0,
            "subscribed": False,
            "priority": None,
            "is_project_label": True,
        }
        for index, label in enumerate(proj.labels)
    ]
    return paginate(call, items)


ROUTES = [
    ("GET", "projects/:project/members/all/:user_id", get_member_all),
    ("GET", "projects/:project/labels", list_labels),
    ("GET", "projects/:project/issues", list_issues),
    ("POST", "projects/:project/issues", create_issue),
    ("GET", "projects/:project/issues/:iid", get_issue),
    ("PUT", "projects/:project/issues/:iid", update_issue),
    ("GET", "projects/:project/issues/:iid/notes", list_notes),
    ("POST", "projects/:project/issues/:iid/notes", create_note),
]
