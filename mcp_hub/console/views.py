"""The console's read pages (audit search and export, health, catalog) and definition approvals."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from mcp_hub.console.audit_search import AuditQuery, export, search

if TYPE_CHECKING:
    from mcp_hub.console.app import Console, Viewer

PER_PAGE = 50
DIAGNOSE_TIMEOUT_S = 5.0
RECENT_S = 3600


class Pages:
    def __init__(self, console: Console) -> None:
        self.console = console
        self._costs: dict[str, int] = {}

    @property
    def _namespaces(self) -> list[str]:
        server = self.console.server
        names = {c.connector for c in server.statuses}
        federation = getattr(server, "federation", None)
        if federation is not None:
            names |= set(federation.links)
        return sorted(names)

    # -- audit ---------------------------------------------------------------------------------------

    async def audit(self, request: Request, viewer: Viewer) -> Response:
        from mcp_hub.console.app import _page

        query = AuditQuery.from_params(request.query_params)
        page = _page(request)
        path = self.console.config.hub.audit_log
        rows, more = await asyncio.to_thread(
            search, path, query, self._namespaces, self.console.server.redactor, page=page, per_page=PER_PAGE
        )
        return self.console.render(
            "audit.html",
            viewer,
            rows=rows,
            more=more,
            page=page,
            query=query,
            params=query.params(),
            enabled=path is not None,
            namespaces=self._namespaces,
            tab="audit",
        )

    async def audit_export(self, request: Request, viewer: Viewer) -> Response:
        kind = "jsonl" if request.url.path.endswith(".jsonl") else "csv"
        query = AuditQuery.from_params(request.query_params)
        path = self.console.config.hub.audit_log
        rows = await asyncio.to_thread(
            lambda: list(export(path, query, self._namespaces, self.console.server.redactor, kind))
        )
        self.console.audit(viewer.caller.name, "export", {"format": kind, **query.params()}, "ok")
        media = "application/x-ndjson" if kind == "jsonl" else "text/csv; charset=utf-8"
        headers = {"content-disposition": f'attachment; filename="mcp-hub-audit.{kind}"'}
        return StreamingResponse(iter(rows), media_type=media, headers=headers)

    # -- health --------------------------------------------------------------------------------------

    async def health(self, request: Request, viewer: Viewer) -> Response:
        server = self.console.server
        by_key = {(c.name, c.instance): c for c in server.connectors}

        async def check(status: Any) -> dict[str, Any]:
            row: dict[str, Any] = {
                "name": f"{status.connector}/{status.instance}",
                "state": "enabled" if status.enabled else "disabled",
                "detail": status.reason or "",
                "warnings": [],
            }
            connector = by_key.get((status.connector, status.instance))
            if connector is not None and request.query_params.get("check") == "1":
                try:
                    row["warnings"] = await asyncio.wait_for(connector.diagnose(), DIAGNOSE_TIMEOUT_S)
                except TimeoutError:
                    row["state"], row["detail"] = "error", f"no answer in {DIAGNOSE_TIMEOUT_S:g} s"
                except Exception as exc:
                    message = getattr(exc, "message", None) or type(exc).__name__
                    row["state"], row["detail"] = "error", server.redactor.redact(str(message))
            return row

        connectors = await asyncio.gather(*(check(s) for s in server.statuses))
        federation = getattr(server, "federation", None)
        servers = federation.status() if federation is not None else []
        recent = await asyncio.to_thread(self._recent)
        return self.console.render(
            "health.html",
            viewer,
            connectors=connectors,
            servers=servers,
            budgets=_budgets(),
            recent=recent,
            since_start=_metric_errors(self._namespaces),
            checked=request.query_params.get("check") == "1",
            tab="health",
        )

    def _recent(self) -> list[dict[str, Any]]:
        """Calls and failures per connector over the last hour, from the audit log."""
        path = self.console.config.hub.audit_log
        since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - RECENT_S))
        rows, _ = search(
            path, AuditQuery(since=since), self._namespaces, self.console.server.redactor, page=0, per_page=100_000
        )
        counts: dict[str, list[int]] = {}
        for row in rows:
            if row["connector"] == "console":
                continue
            seen = counts.setdefault(row["connector"], [0, 0])
            seen[0] += 1
            seen[1] += row.get("outcome") not in ("ok", "input_required")
        return [
            {"connector": name, "calls": c, "failed": f, "rate": f"{100 * f / c:.0f}%"}
            for name, (c, f) in sorted(counts.items())
        ]

    # -- catalog -------------------------------------------------------------------------------------

    async def catalog(self, request: Request, viewer: Viewer) -> Response:
        server = self.console.server
        rows = await asyncio.to_thread(self._catalog_rows, viewer)
        total = sum(r["tokens"] or 0 for r in rows if r["shown"])
        return self.console.render(
            "catalog.html",
            viewer,
            rows=rows,
            total=total,
            federation=bool(getattr(server, "federation", None)),
            tab="catalog",
        )

    def _catalog_rows(self, viewer: Viewer) -> list[dict[str, Any]]:
        from mcp_hub.tokens import tool_cost

        server = self.console.server
        rows = []
        for name, entry in sorted(server.hub_tools.items()):
            registered = server._tool_manager.get_tool(name)
            if name not in self._costs and registered is not None:
                self._costs[name] = tool_cost(name, registered.description, registered.parameters).tokens
            rows.append(
                {
                    "name": name,
                    "connector": entry.facts.connector,
                    "toolset": entry.facts.toolset,
                    "kind": "destructive"
                    if entry.facts.destructive
                    else "read-only"
                    if entry.facts.read_only
                    else "write",
                    "tokens": self._costs.get(name),
                    "shown": viewer.caller.policy.permits(entry.facts),
                    "hub": server.default_caller.policy.permits(entry.facts),
                }
            )
        return rows

    # -- federated definition changes ----------------------------------------------------------------

    async def definitions(self, request: Request, viewer: Viewer) -> Response:
        from mcp_hub.console import definitions

        reviews = await asyncio.to_thread(definitions.pending, self.console.config)
        return self.console.render("definitions.html", viewer, reviews=reviews, tab="definitions")

    async def approve_definition(self, request: Request) -> Response:
        from mcp_hub.console import definitions

        console = self.console
        viewer = await console._viewer(request)
        form, problem = await console._posted(request, viewer)
        if problem is not None or viewer is None:
            return console.refuse(viewer, 403 if viewer is not None else 401, problem or "not signed in")
        arguments = {"server": form.get("server", ""), "kind": form.get("kind", ""), "name": form.get("name", "")}
        if not viewer.can_approve:
            console.audit(viewer.caller.name, "pin", arguments, "denied")
            return console.refuse(viewer, 403, f"{viewer.caller.name} may not approve (hub.console_approvers)")
        flagged = form.get("approve_flagged") == "yes"
        try:
            await asyncio.to_thread(
                definitions.approve,
                console.config,
                arguments["server"],
                arguments["kind"],
                arguments["name"],
                form.get("sha256", ""),
                flagged,
            )
        except definitions.Stale as exc:
            console.audit(viewer.caller.name, "pin", arguments, "conflict")
            return console.refuse(viewer, 409, str(exc))
        console.audit(viewer.caller.name, "pin", {**arguments, "approve_flagged": flagged}, "ok")
        return RedirectResponse("/console/definitions", status_code=303)


def _metric_errors(namespaces: list[str]) -> list[dict[str, Any]]:
    """Calls and failures per connector since this process started (`http.metrics`' counters)."""
    from mcp_hub import metrics
    from mcp_hub.console.audit_search import connector_of

    m = metrics._metrics
    if m is None:
        return []
    counts: dict[str, list[int]] = {}
    for family in m.tool_calls.collect():
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            seen = counts.setdefault(connector_of(sample.labels["tool"], namespaces), [0, 0])
            seen[0] += int(sample.value)
            seen[1] += int(sample.value) if sample.labels["outcome"] not in ("ok", "input_required") else 0
    return [
        {"connector": name, "calls": c, "failed": f, "rate": f"{100 * f / c:.0f}%" if c else "0%"}
        for name, (c, f) in sorted(counts.items())
    ]


def _budgets() -> list[dict[str, Any]]:
    """Upstream rate-limit budgets as last seen in response headers (needs `http.metrics`)."""
    from mcp_hub import metrics

    m = metrics._metrics
    if m is None:
        return []
    rows = []
    for family in m.ratelimit_remaining.collect():
        for sample in family.samples:
            rows.append(
                {"name": f"{sample.labels['connector']}/{sample.labels['instance']}", "remaining": int(sample.value)}
            )
    return rows
