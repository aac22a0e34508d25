"""What every GitHub tool module shares: the client, the allow-list, visibility and outsider text.

Tool modules are mixins of `GithubBase`; `connectors.github.GithubConnector`
combines them, so each area (repos, issues, pulls, writes, actions) stays a
small module.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, cast

from connectors.github.client import GithubClient, Response
from connectors.github.settings import GithubSettings
from mcp_hub.calls import lockdown_requested
from mcp_hub.connector import Connector
from mcp_hub.errors import HubError, InvalidInput, PolicyDenied
from mcp_hub.paging import decode_cursor, encode_cursor
from mcp_hub.provenance import VISIBILITY_RANK, Provenance, Visibility
from mcp_hub.state import RateBudget, credential_key
from mcp_hub.upstream import OutsiderGate, segments

#: GitHub's owner and repository names: ASCII letters, digits, '_', '.', '-' (not only dots).
_NAME = re.compile(r"^[A-Za-z0-9_.-]*[A-Za-z0-9_-][A-Za-z0-9_.-]*$")
#: author_association values of people inside the repository's organisation.
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
WITHHELD = "[withheld: written by an outsider; lockdown is on]"
VISIBILITY_TTL_S = 300.0
#: `pull/5/head`, `refs/pull/5/merge`: refs GitHub keeps for every pull request, forks included.
_PULL_REF = re.compile(r"^(?:refs/)?pull/(\d+)/(?:head|merge)$")
#: Outsider heads, branches and authors remembered per repository (oldest forgotten first).
MAX_OUTSIDER_KEYS = 2000


@dataclass(frozen=True, slots=True)
class Repo:
    owner: str
    name: str

    @property
    def full(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def api(self) -> str:
        owner = segments.segment(self.owner, what="owner")
        name = segments.segment(self.name, what="repository name")
        return f"/repos/{owner}/{name}"


class TextGate(OutsiderGate):
    """The kit's outsider gate, with GitHub's judgement: `author_association`, and the hub's own login."""

    def __init__(self, lockdown: bool, own_login: str | None = None) -> None:
        super().__init__(lockdown, withheld=WITHHELD)
        #: the hub's own account: its text is never an outsider's (an App's bot has no association)
        self.own_login = own_login

    @staticmethod
    def is_outsider(association: str | None) -> bool:
        return (association or "NONE").upper() not in TRUSTED_ASSOCIATIONS

    def text(self, value: str | None, association: str | None, author: str | None = None) -> str | None:
        own = author is not None and author == self.own_login
        return self.keep(value, outsider=self.is_outsider(association) and not own)


def login(user: Any) -> str | None:
    return user.get("login") if isinstance(user, dict) else None


def names(items: Any, key: str = "name") -> list[str]:
    return [str(i.get(key)) for i in items or [] if isinstance(i, dict) and i.get(key)]


def visibility_of(repo_json: dict[str, Any]) -> Visibility:
    vis = repo_json.get("visibility")
    if vis in ("public", "private", "internal"):
        return cast(Visibility, vis)
    return "private" if repo_json.get("private", True) else "public"


class GithubBase(Connector[GithubSettings]):
    _client: GithubClient | None = None
    _visibility: dict[str, tuple[Visibility, float]]
    _outsiders: dict[str, OrderedDict[str, None]]

    @property
    def client(self) -> GithubClient:
        if self._client is None:
            settings = self.settings
            credential = settings.token.get_secret_value() if settings.token is not None else None
            key = credential_key(
                "github", settings.base_url, credential, settings.app_id, str(settings.installation_id or "")
            )
            self._client = GithubClient(settings, instance=self.instance, budget=RateBudget(self.context.state, key))
            self._visibility = {}
            self._outsiders = {}
        return self._client

    # -- arguments -----------------------------------------------------------------------------

    def repo(self, value: str) -> Repo:
        owner, name = segments.pair(value, what="repo")
        if not _NAME.match(owner) or not _NAME.match(name):
            raise InvalidInput(f"repo must be 'owner/name' (letters, digits, '_', '.', '-'), got {value[:100]!r}")
        repo = Repo(owner, name)
        if not self.settings.allows(repo.full):
            raise PolicyDenied(
                f"repository {repo.full} is not on this account's allow-list (github repos setting); "
                f"allowed: {', '.join(self.settings.repos)}"
            )
        return repo

    @staticmethod
    def page(cursor: str | None) -> int:
        page = decode_cursor(cursor).get("page", 1)
        if not isinstance(page, int) or page < 1:
            raise InvalidInput("invalid cursor: pass back the next_cursor value of the previous page unchanged")
        return page

    @staticmethod
    def next_cursor(response: Response, page: int) -> str | None:
        return encode_cursor({"page": page + 1}) if response.has_next else None

    # -- labels --------------------------------------------------------------------------------

    def gate(self) -> TextGate:
        return TextGate(self.settings.lockdown or lockdown_requested())

    async def conversation_gate(self) -> TextGate:
        """A gate that knows the hub's own login, for comment threads where the hub has posted."""
        try:
            own = str((await self.client.account())["login"])
        except HubError:
            own = None  # unknown: the hub's own comments are judged like anyone's
        return TextGate(self.settings.lockdown or lockdown_requested(), own)

    def remember(self, repo_json: Any) -> None:
        """Note a repository's visibility seen in a payload (saves a request later)."""
        if isinstance(repo_json, dict) and isinstance(repo_json.get("full_name"), str):
            _ = self.client
            self._visibility[repo_json["full_name"].lower()] = (
                visibility_of(repo_json),
                time.monotonic() + VISIBILITY_TTL_S,
            )

    async def visibility(self, repo: Repo) -> Visibility:
        """The repository's visibility, from payloads seen lately or one GET of the repository."""
        client = self.client
        known = self._visibility.get(repo.full.lower())
        if known is not None and known[1] > time.monotonic():
            return known[0]
        response = await client.get(repo.api, what=f"repository {repo.full}")
        self.remember(response.body)
        return visibility_of(response.body)

    # -- outsiders' refs and commits ----------------------------------------------------------------
    #
    # Commit messages and files at an outsider's pull request head are the outsider's text, but
    # a commit or a file carries no author_association. The connector remembers, from every pull
    # request payload it sees, an outsider's head SHA, head branch (when in this repository) and
    # login; `pull/N/head` refs are checked against the pull request itself.

    async def pull_json(self, r: Repo, number: int) -> dict[str, Any]:
        body: dict[str, Any] = (await self.pull_response(r, number)).body
        return body

    async def pull_response(self, r: Repo, number: int) -> Response:
        response = await self.client.get(f"{r.api}/pulls/{number}", what=f"pull request {r.full}#{number}")
        body = response.body
        self.remember((body.get("base") or {}).get("repo"))
        self.note_pull(r, body)
        return response

    def note_pull(self, r: Repo, pull: Any) -> None:
        if not isinstance(pull, dict) or not TextGate.is_outsider(pull.get("author_association")):
            return
        head = pull.get("head") or {}
        keys = [f"sha:{head.get('sha')}", f"login:{login(pull.get('user'))}"]
        if str((head.get("repo") or {}).get("full_name", "")).lower() == r.full.lower():
            keys.append(f"ref:{head.get('ref')}")
        _ = self.client
        known = self._outsiders.setdefault(r.full.lower(), OrderedDict())
        for key in keys:
            known[key.lower()] = None
            known.move_to_end(key.lower())
        while len(known) > MAX_OUTSIDER_KEYS:
            known.popitem(last=False)

    def _outsider_keys(self, r: Repo) -> OrderedDict[str, None]:
        _ = self.client
        return self._outsiders.get(r.full.lower()) or OrderedDict()

    async def outsider_ref(self, r: Repo, ref: str | None) -> bool:
        """Whether `ref` (branch, SHA or pull request ref) is the head of an outsider's pull request."""
        if not ref:
            return False
        match = _PULL_REF.match(ref.strip())
        if match:
            pull = await self.pull_json(r, int(match.group(1)))
            return TextGate.is_outsider(pull.get("author_association"))
        ref = ref.strip().lower().removeprefix("refs/heads/")
        known = self._outsider_keys(r)
        if f"ref:{ref}" in known or f"sha:{ref}" in known:
            return True
        return len(ref) >= 7 and any(k.startswith("sha:" + ref) for k in known)

    def outsider_commit(self, r: Repo, item: Any) -> bool:
        """Whether a commit payload is an outsider's pull request head or authored by an outsider seen in one."""
        if not isinstance(item, dict):
            return False
        known = self._outsider_keys(r)
        people = {login(item.get("author")), login(item.get("committer"))} - {None}
        return f"sha:{str(item.get('sha', '')).lower()}" in known or any(
            f"login:{p.lower()}" in known for p in people if p
        )

    # -- search ------------------------------------------------------------------------------

    def _scoped_query(self, query: str, repo: str | None) -> str:
        """The query limited to `repo`, or to the allow-list when there is one."""
        if repo:
            return f"{query} repo:{self.repo(repo).full}"
        if not self.settings.repos or "repo:" in query:
            if "repo:" in query:
                for word in query.split():
                    if word.startswith("repo:"):
                        self.repo(word[5:])
            return query
        scopes = [f"user:{p[:-2]}" if p.endswith("/*") else f"repo:{p}" for p in self.settings.repos]
        return f"{query} {' '.join(scopes)}"

    async def _search_visibility(self, hits: list[Any]) -> Visibility:
        """The strictest visibility among the repositories in the hits (private when unsure)."""
        worst: Visibility = "public"
        for full in {h.repo for h in hits}:
            owner, _, name = full.partition("/")
            vis = await self.visibility(Repo(owner, name))
            worst = vis if VISIBILITY_RANK[vis] > VISIBILITY_RANK[worst] else worst
        return worst

    async def labels(
        self, *responses: Response, gate: TextGate | None = None, visibility: Visibility | None = None
    ) -> Provenance:
        """A result's provenance, from the requests actually sent (the request guard's answers).

        The resource is the first response's; the visibility the strictest of every repository those
        requests addressed, and of `visibility` (for results whose visibility comes from their items,
        like searches). A result that addressed no repository and names no visibility is private.
        """
        worst: Visibility | None = visibility
        for response in responses:
            key = response.target.key
            if key is None:
                continue
            owner, _, name = key.partition("/")
            seen = await self.visibility(Repo(owner, name))
            worst = seen if worst is None or VISIBILITY_RANK[seen] > VISIBILITY_RANK[worst] else worst
        return Provenance(
            resource=responses[0].target.uri,
            visibility=worst or "private",
            outsider_text=bool(gate and gate.outsider_seen),
        )

    def provenance(self, resource: str, visibility: Visibility, gate: TextGate | None = None) -> Provenance:
        """Labels for a result that sent no request (an answer the client already had)."""
        return Provenance(
            resource=f"github://{resource}",
            visibility=visibility,
            outsider_text=bool(gate and gate.outsider_seen),
        )
