"""The federated servers mounted in the hub: their catalogs published, their calls forwarded.

`Federation` owns one `ServerLink` per server. Whenever a server's listing arrives (from the disk
cache at start-up, or live), its tools cross the definition gate (`mcp_hub.federation.gate`) and
only the admitted ones are registered in the hub as `<server>_<tool>`: the hub's own `call_tool`
then applies the caller's policy, audits and counts the call as for a native tool, and the call
comes here. Resources (`<server>+<uri>`), resource templates and prompts (`<server>_<prompt>`) are
served from the same listing. Nothing the hub's client sent (its HTTP headers, its token) is ever
forwarded: a server gets its arguments, and its own configured credentials.
"""

from __future__ import annotations

import base64
import logging
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
from mcp import types as mt
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.shared.exceptions import MCPError

from mcp_hub import metrics
from mcp_hub.catalog import error_result
from mcp_hub.errors import HubError, PolicyDenied
from mcp_hub.federation import results
from mcp_hub.federation.gate import DefinitionGate, Withheld
from mcp_hub.federation.link import ServerLink
from mcp_hub.federation.settings import ServerSettings
from mcp_hub.federation.tools import FederatedTool, admissible, entry
from mcp_hub.policy import Caller, ToolFacts
from mcp_hub.provenance import META_KEY, clean_outsider_text

if TYPE_CHECKING:
    from mcp_hub.server import HubServer

log = logging.getLogger(__name__)

URI_SEPARATOR = "+"


class Federation:
    """Every federated server of one hub: its links, what each published, what the gate withheld."""

    def __init__(self, servers: dict[str, ServerSettings], gate: DefinitionGate) -> None:
        self.gate = gate
        self.links = {
            name: ServerLink(name, settings, self._listed)
            for name, settings in sorted(servers.items())
            if settings.enabled
        }
        self.disabled = sorted(name for name, settings in servers.items() if not settings.enabled)
        self.withheld: dict[str, tuple[Withheld, ...]] = {}
        #: Per server, the prompts' and resource templates' names the gate admitted (absent: no such gate).
        self.admitted_more: dict[str, tuple[set[str], set[str]]] = {}
        self.published: dict[str, set[str]] = {}
        #: Per server not marked trusted, the URIs of static resources withheld for what their listing says.
        self.resources_withheld: dict[str, frozenset[str]] = {}
        self.calls: dict[str, int] = {}
        self.hub: HubServer | None = None

    # -- the catalog -----------------------------------------------------------------------------

    def attach(self, hub: HubServer) -> None:
        """Publish every last-known listing (the disk cache) before the hub answers anything."""
        self.hub = hub
        bind = getattr(self.gate, "bind", None)
        if callable(bind):  # a gate that audits and knows the hub's catalog (`pins.PinnedGate`)
            bind(hub)
        for link in self.links.values():
            if link.listing is not None:
                self._publish(link)

    async def _listed(self, link: ServerLink) -> None:
        before = self._fingerprint(link.name)
        self._publish(link)
        if self._fingerprint(link.name) != before and self.hub is not None:
            await self.hub.notify_list_changed()

    def _fingerprint(self, name: str) -> Any:
        hub = self.hub
        if hub is None:
            return None
        return sorted(
            (n, repr(hub._tool_manager.get_tool(n))) for n in self.published.get(name, set())
        ), self.withheld.get(name)

    def _publish(self, link: ServerLink) -> None:
        hub = self.hub
        if hub is None or link.listing is None:
            return
        name, settings = link.name, link.settings
        kept, refused = admissible(name, settings, link.listing.tools)
        admission = self.gate.admit(name, kept)
        known = {t.name for t in kept}
        for old in self.published.pop(name, set()):
            hub._tool_manager._tools.pop(old, None)
            hub.hub_tools.pop(old, None)
        published: set[str] = set()
        for tool in admission.admitted:
            if tool.name not in known:  # a gate admits from what it was given, nothing else
                continue
            item = entry(name, settings, tool)
            if item.facts.name in hub.hub_tools or hub._tool_manager.get_tool(item.facts.name) is not None:
                refused.append(Withheld(tool.name, f"{item.facts.name} is already a hub tool"))
                continue
            hub.hub_tools[item.facts.name] = item
            published.add(item.facts.name)
            if hub.default_caller.policy.permits(item.facts):
                hub._tool_manager._tools[item.facts.name] = FederatedTool.build(item, tool, partial(self._call, name))
        self.published[name] = published
        self.withheld[name] = (
            tuple(admission.withheld) + tuple(refused) + self._gate_more(name, link) + self._scan_resources(link)
        )
        for withheld in self.withheld[name]:
            log.warning("federated server %s: tool %s withheld: %s", name, withheld.name, withheld.reason)

    def _gate_more(self, server: str, link: ServerLink) -> tuple[Withheld, ...]:
        """Prompts and resource templates through the gate too, when it judges them (`PinnedGate`)."""
        judge = getattr(self.gate, "admit_definitions", None)
        if not callable(judge) or link.listing is None:
            self.admitted_more.pop(server, None)
            return ()
        prompts, held_prompts = judge(server, "prompts", link.listing.prompts)
        templates, held_templates = judge(server, "resource_templates", link.listing.templates)
        self.admitted_more[server] = {p.name for p in prompts}, {t.name for t in templates}
        held = [Withheld(f"prompt {w.name}", w.reason) for w in held_prompts]
        return (*held, *(Withheld(f"resource template {w.name}", w.reason) for w in held_templates))

    def _scan_resources(self, link: ServerLink) -> tuple[Withheld, ...]:
        """Static resources are not pinned (their lists are data), but what their listing says reaches a
        model as it is: from a server not marked trusted, one whose name, title or description the scan
        flags (instructions, hidden characters, other tools named, oversized text) is withheld, listed
        nor read."""
        from mcp_hub.federation.poison import scan

        if link.settings.trusted or link.listing is None or not link.listing.resources:
            self.resources_withheld.pop(link.name, None)
            return ()
        hub = self.hub
        foreign_tools = [n for n in (hub.hub_tools if hub is not None else ()) if not n.startswith(f"{link.name}_")]
        foreign_servers = [n for n in self.links if n != link.name]
        withheld: list[Withheld] = []
        uris: set[str] = set()
        for resource in link.listing.resources:
            said = {"name": resource.name, "title": resource.title, "description": resource.description}
            findings = scan(
                {k: v for k, v in said.items() if v}, foreign_tools=foreign_tools, foreign_servers=foreign_servers
            )
            if findings:
                uris.add(str(resource.uri))
                shown = clean_outsider_text(resource.name)[:80]
                withheld.append(Withheld(f"resource {shown}", "; ".join(str(f) for f in findings[:3])))
        self.resources_withheld[link.name] = frozenset(uris)
        return tuple(withheld)

    def _admits(self, server: str, kind: int, name: str) -> bool:
        """Whether the gate admitted a prompt (kind 0) or a resource template (1); all without such a gate."""
        admitted = self.admitted_more.get(server)
        return admitted is None or name in admitted[kind]

    def _facts(self, server: str, name: str) -> ToolFacts:
        settings = self.links[server].settings
        toolset = settings.toolset_of(name)
        return ToolFacts(f"{server}_{name}", server, toolset, True, False, settings.in_defaults(toolset))

    # -- running ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Supervise every server (a background task of the hub's lifespan)."""
        async with anyio.create_task_group() as tg:
            for link in self.links.values():
                tg.start_soon(_supervised, link)

    async def wait_listed(self, timeout_s: float) -> None:
        """Wait (up to `timeout_s`) until every server has answered once or failed: for `mcp-hub tools`."""
        with anyio.move_on_after(timeout_s):
            for link in self.links.values():
                await link.attempted.wait()

    # -- calls -----------------------------------------------------------------------------------

    def _caller(self) -> Caller:
        assert self.hub is not None
        return self.hub.current_caller()

    def _check_boundary(self, server: str) -> None:
        assert self.hub is not None
        caller = self._caller()
        visibility = self.links[server].settings.visibility
        if not self.hub.boundary.permits(caller.name, visibility):
            raise PolicyDenied(
                f"federated server {server} holds {visibility} data (servers.{server}.visibility), and the hub's "
                f"data boundary does not let caller {caller.name!r} receive it."
            )

    async def _call(self, server: str, tool: str, arguments: dict[str, Any], ctx: Any) -> mt.CallToolResult:
        assert self.hub is not None
        link = self.links[server]
        caller = self._caller()
        outcome = "ok"
        self.calls[server] = self.calls.get(server, 0) + 1
        try:
            self._check_boundary(server)
            progress = _progress(ctx)
            result: mt.CallToolResult = await link.request(
                f"tool {tool}",
                lambda client: client.call_tool(tool, arguments, progress_callback=progress),
                elicit=_elicitor(server, ctx),
                sample=_sampler(server, link.settings, ctx, lockdown=caller.lockdown),
            )
            finished = results.tool_result(server, link.settings, tool, result, lockdown=caller.lockdown)
            if finished.is_error:
                outcome = "error"
            return finished
        except HubError as exc:
            outcome = exc.kind
            return error_result(exc, self.hub.redactor)
        except MCPError as exc:
            outcome = "error"
            raise MCPError(code=exc.code, message=self._upstream_message(server, exc)) from None
        finally:
            metrics.record_federated_call(server, outcome)

    def _upstream_message(self, server: str, exc: MCPError) -> str:
        assert self.hub is not None
        text = clean_outsider_text(exc.message)[:500]
        return self.hub.redactor.redact(f"federated server {server}: {text}")

    # -- resources and prompts -------------------------------------------------------------------

    def resources(self, caller: Caller) -> list[mt.Resource]:
        out = []
        for server, link in self.links.items():
            withheld = self.resources_withheld.get(server, frozenset())
            for r in link.listing.resources if link.listing else []:
                if str(r.uri) in withheld:
                    continue
                if caller.policy.permits(self._facts(server, r.name)):
                    out.append(
                        r.model_copy(update={"uri": f"{server}{URI_SEPARATOR}{r.uri}", "name": f"{server}_{r.name}"})
                    )
        return out

    def templates(self, caller: Caller) -> list[mt.ResourceTemplate]:
        out = []
        for server, link in self.links.items():
            for t in link.listing.templates if link.listing else []:
                if not self._admits(server, 1, t.name):
                    continue
                if caller.policy.permits(self._facts(server, t.name)):
                    out.append(
                        t.model_copy(
                            update={
                                "uri_template": f"{server}{URI_SEPARATOR}{t.uri_template}",
                                "name": f"{server}_{t.name}",
                            }
                        )
                    )
        return out

    def owns_uri(self, uri: str) -> tuple[str, str] | None:
        server, sep, rest = uri.partition(URI_SEPARATOR)
        return (server, rest) if sep and server in self.links else None

    async def read_resource(self, server: str, uri: str) -> list[ReadResourceContents]:
        link = self.links[server]
        caller = self._caller()
        name = self._resource_name(server, uri)
        # Only what the server listed, and only what this caller may see (as for its listing).
        if name is None or not caller.policy.permits(self._facts(server, name)):
            raise ResourceError(f"unknown resource {server}{URI_SEPARATOR}{uri}")
        try:
            self._check_boundary(server)
            read: mt.ReadResourceResult = await link.request(f"resource {uri}", lambda c: c.read_resource(uri))
            results.size_check(server, link.settings, f"resource {uri}", read)
        except HubError as exc:
            assert self.hub is not None
            raise ResourceError(self.hub.redactor.redact(exc.message)) from None
        except MCPError as exc:
            raise ResourceError(self._upstream_message(server, exc)) from None
        fence = None if link.settings.trusted else results.Fence(caller.lockdown)
        out = []
        for item in read.contents:
            meta = results.their_meta(item.meta)
            if isinstance(item, mt.TextResourceContents):
                content: str | bytes = results.resource_text(link.settings, item.text, fence)
            else:
                content = base64.b64decode(item.blob)
            seen = fence is not None and fence.seen
            meta[META_KEY] = results.provenance(
                server,
                link.settings,
                uri,
                outsider=seen,
                boundary=fence.boundary if fence is not None and seen else None,
            )
            out.append(ReadResourceContents(content=content, mime_type=item.mime_type, meta=meta))
        return out

    def _resource_name(self, server: str, uri: str) -> str | None:
        """The name of the listed resource, or else resource template, that `uri` is."""
        from mcp.shared.uri_template import UriTemplate

        listing = self.links[server].listing
        if listing is None:
            return None
        for resource in listing.resources:
            if str(resource.uri) == uri:
                return None if uri in self.resources_withheld.get(server, frozenset()) else resource.name
        for template in listing.templates:
            if not self._admits(server, 1, template.name):  # withheld by the definition gate
                continue
            try:
                if UriTemplate.parse(template.uri_template).match(uri) is not None:
                    return template.name
            except ValueError:  # a template the SDK cannot parse matches nothing
                continue
        return None

    def prompts(self, caller: Caller) -> list[mt.Prompt]:
        out = []
        for server, link in self.links.items():
            for p in link.listing.prompts if link.listing else []:
                if not self._admits(server, 0, p.name):
                    continue
                if caller.policy.permits(self._facts(server, p.name)):
                    out.append(p.model_copy(update={"name": f"{server}_{p.name}"}))
        return out

    def owns_prompt(self, name: str) -> tuple[str, str] | None:
        for server, link in self.links.items():
            prefix = f"{server}_"
            if name.startswith(prefix) and link.listing is not None:
                upstream = name[len(prefix) :]
                if any(p.name == upstream for p in link.listing.prompts) and self._admits(server, 0, upstream):
                    return server, upstream
        return None

    async def get_prompt(self, server: str, name: str, arguments: dict[str, Any] | None) -> mt.GetPromptResult:
        link = self.links[server]
        caller = self._caller()
        if not caller.policy.permits(self._facts(server, name)):
            raise MCPError(code=mt.INVALID_PARAMS, message=f"Unknown prompt: {server}_{name}")
        try:
            self._check_boundary(server)
            got: mt.GetPromptResult = await link.request(
                f"prompt {name}", lambda c: c.get_prompt(name, {k: str(v) for k, v in (arguments or {}).items()})
            )
            return results.prompt_result(server, link.settings, name, got, lockdown=caller.lockdown)
        except HubError as exc:
            assert self.hub is not None
            raise MCPError(code=mt.INVALID_PARAMS, message=self.hub.redactor.redact(exc.message)) from None
        except MCPError as exc:
            raise MCPError(code=exc.code, message=self._upstream_message(server, exc)) from None

    # -- status ----------------------------------------------------------------------------------

    def _hidden(self, server: str) -> int:
        """Published tools the hub's own policy hides (e.g. an untrusted server's writes while writes are off)."""
        hub = self.hub
        if hub is None:
            return 0
        policy = hub.default_caller.policy
        return sum(1 for n in self.published.get(server, set()) if not policy.permits(hub.hub_tools[n].facts))

    def status(self) -> list[dict[str, Any]]:
        """Each server's state for `config check`, `/healthz` and `mcp-hub tools`."""
        rows = []
        for name, link in self.links.items():
            rows.append(
                {
                    "server": name,
                    "transport": link.settings.kind,
                    "state": link.state,
                    "detail": link.detail,
                    "trusted": link.settings.trusted,
                    "catalog": link.listing_source,
                    "tools": len(self.published.get(name, set())),
                    "hidden_by_policy": self._hidden(name),
                    "withheld": [{"name": w.name, "reason": w.reason} for w in self.withheld.get(name, ())],
                    "restarts": link.restarts,
                    "calls": self.calls.get(name, 0),
                }
            )
        rows += [{"server": name, "state": "disabled", "detail": "enabled = false"} for name in self.disabled]
        return rows


async def _supervised(link: ServerLink) -> None:
    """A link's supervisor; what its transport raises while being cancelled (a pipe the stopped process
    closed first) is logged, never let out: stopping one server must not fail the hub's shutdown."""
    try:
        await link.supervise()
    except BaseExceptionGroup as group:
        cancelled, rest = group.split(anyio.get_cancelled_exc_class())
        errors, fatal = rest.split(Exception) if rest is not None else (None, None)
        if fatal is not None:  # KeyboardInterrupt, SystemExit: not ours to swallow
            raise
        if errors is not None:
            log.debug("federated server %s: errors while stopping: %r", link.name, errors)
        link.state = "stopped"
        if cancelled is not None:
            raise cancelled from None


def _progress(ctx: Any) -> Any:
    if ctx is None:
        return None

    async def report(progress: float, total: float | None, message: str | None) -> None:
        try:
            await ctx.report_progress(progress, total, message)
        except Exception:  # a client that went away cannot stop the call
            log.debug("progress not delivered", exc_info=True)

    return report


def _elicitor(server: str, ctx: Any) -> Any:
    if ctx is None:
        return None

    async def elicit(params: Any) -> Any:
        caps = ctx.client_capabilities
        if caps is None or caps.elicitation is None:
            return mt.ErrorData(code=mt.INVALID_REQUEST, message="the hub's client does not support elicitation")
        from mcp.shared.message import ServerMessageMetadata

        try:
            asked = params.model_copy(update={"message": f"[{server}] {params.message}"})
            return await ctx.session.send_request(
                mt.ElicitRequest(params=asked),
                mt.ElicitResult,
                metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
            )
        except Exception as exc:
            return mt.ErrorData(
                code=mt.INTERNAL_ERROR, message=f"elicitation through the hub failed ({type(exc).__name__})"
            )

    return elicit


def _sampler(server: str, settings: ServerSettings, ctx: Any, *, lockdown: bool) -> Any:
    """The hub's side of a federated server's sampling request during one of its calls.

    From a server not marked trusted: refused under lockdown (its prompt is outsider text), and
    never with `includeContext`: the client would add what it holds from the hub itself (every
    other server's and connector's data) to a request whose answer goes back to that server.
    """
    if ctx is None:
        return None

    async def sample(params: Any) -> Any:
        caps = ctx.client_capabilities
        if caps is None or caps.sampling is None:
            return mt.ErrorData(code=mt.INVALID_REQUEST, message="the hub's client does not support sampling")
        if not settings.trusted:
            if lockdown:
                return mt.ErrorData(
                    code=mt.INVALID_REQUEST,
                    message=f"sampling for federated server {server} is refused under lockdown (not trusted)",
                )
            if params.include_context not in (None, "none"):
                params = params.model_copy(update={"include_context": "none"})
        from mcp.shared.message import ServerMessageMetadata

        try:
            return await ctx.session.send_request(
                mt.CreateMessageRequest(params=params),
                mt.CreateMessageResult,
                metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
            )
        except Exception as exc:
            return mt.ErrorData(
                code=mt.INTERNAL_ERROR, message=f"sampling through the hub failed ({type(exc).__name__})"
            )

    return sample
