"""The words GitHub's and GitLab's tools do not share, in one place.

The two connectors' tools read as one family (connectors/github/README.md and
connectors/gitlab/README.md, "Names"): the same verbs and the same argument names
for the same ideas (`limit`, `cursor`, `max_tokens`, `tail_lines`, `body`, `ref`,
`path`), and mirrored tool names where only the forge's noun differs
(`github_list_pull_request_files` / `gitlab_list_merge_request_files`). What is
left differs on purpose, because each forge's users say it their way: the
repository argument (`repo` / `project`), the number of an issue or a change
(`number` / `iid`) and the noun of a change (`pull_request` / `merge_request`).
Callers build tool names and arguments from this table instead of branching.
"""

from __future__ import annotations

from typing import Any, Literal

Forge = Literal["github", "gitlab"]

#: The argument naming the repository (GitHub `owner/name`, GitLab `group/name` or an id).
REPO_ARG: dict[str, str] = {"github": "repo", "gitlab": "project"}
#: The argument naming an issue or a change inside it.
NUMBER_ARG: dict[str, str] = {"github": "number", "gitlab": "iid"}
#: The noun of a change in tool names.
CHANGE: dict[str, str] = {"github": "pull_request", "gitlab": "merge_request"}


def tool(forge: str, verb_noun: str) -> str:
    """`tool("gitlab", "list_{change}_files")` -> `gitlab_list_merge_request_files`."""
    return f"{forge}_{verb_noun.format(change=CHANGE[forge])}"


def where(forge: str, repo: str, number: int | None = None) -> dict[str, Any]:
    """The arguments naming a repository, and an issue or change in it when `number` is given."""
    args: dict[str, Any] = {REPO_ARG[forge]: repo}
    if number is not None:
        args[NUMBER_ARG[forge]] = number
    return args
