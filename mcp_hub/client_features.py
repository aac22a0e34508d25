"""The hub's answers to `logging/setLevel`, `completion/complete` and `resources/(un)subscribe`.

- `logging/setLevel` sets the level of the connection's `notifications/message`
  (`mcp_hub.client_log`).
- `completion/complete` asks the connector behind a prompt or resource template
  (`Connector.complete`), under the caller's policy; a connector that knows
  nothing completes nothing.
- `resources/subscribe` is accepted for URIs of templates marked
  `@resource(subscribable=True)` the caller may read; the connector calls
  `context.resource_updated(uri)` and every subscribed connection gets
  `notifications/resources/updated`.

All three are handshake-era methods (removed in 2026-07-28, where the SDK's
`subscriptions/listen` and per-request log levels take over).
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any

from mcp.shared.exceptions import MCPError
from mcp.shared.uri_template import UriTemplate
from mcp_types import (
    INVALID_PARAMS,
    CompleteRequestParams,
    CompleteResult,
    Completion,
    EmptyResult,
    PromptReference,
    SetLevelRequestParams,
    SubscribeRequestParams,
    UnsubscribeRequestParams,
)

from mcp_hub import client_log

if TYPE_CHECKING:
    from mcp_hub.server import HubServer

log = logging.getLogger(__name__)

#: The most values one `completion/complete` answer carries (the spec's limit).
MAX_COMPLETIONS = 100


class ResourceSubscriptions:
    """Which connections want `notifications/resources/updated` for which URIs (this process)."""

    def __init__(self) -> None:
        self._by_uri: dict[str, weakref.WeakSet[Any]] = {}
        #: The SDK's `subscriptions/listen` bus (2026-07-28 clients), set by `install`.
        self.bus: Any = None

    def add(self, uri: str, connection: Any) -> None:
        subscribers = self._by_uri.setdefault(uri, weakref.WeakSet())
        if connection not in subscribers:
            subscribers.add(connection)
            connection.exit_stack.callback(self.remove, uri, connection)

    def remove(self, uri: str, connection: Any) -> None:
        subscribers = self._by_uri.get(uri)
        if subscribers is not None:
            subscribers.discard(connection)
            if not subscribers:
                del self._by_uri[uri]

    def subscribers(self, uri: str) -> list[Any]:
        return list(self._by_uri.get(uri, ()))

    async def resource_updated(self, uri: str) -> None:
        """What connectors call (through `ConnectorContext.resource_updated`) when `uri` changed."""
        if self.bus is not None:
            from mcp.shared.subscriptions import ResourceUpdated

            await self.bus.publish(ResourceUpdated(uri=uri))
        for connection in self.subscribers(uri):
            try:
                await connection.send_resource_updated(uri)
            except Exception as exc:  # a client that went away must not fail the connector
                log.debug("notifications/resources/updated not delivered: %s", type(exc).__name__)


def install(server: HubServer, subscriptions: ResourceSubscriptions) -> None:
    lowlevel = server._lowlevel_server
    subscriptions.bus = server._subscriptions

    async def set_level(ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
        state = client_log.connection_state_of(ctx)
        if state is not None:
            client_log.set_level(state, params.level)
        return EmptyResult()

    async def complete(ctx: Any, params: CompleteRequestParams) -> CompleteResult:
        values = await _completions(server, params)
        return CompleteResult(
            completion=Completion(
                values=values[:MAX_COMPLETIONS], total=len(values), has_more=len(values) > MAX_COMPLETIONS
            )
        )

    async def subscribe(ctx: Any, params: SubscribeRequestParams) -> EmptyResult:
        connection = _connection(ctx)
        _subscribable(server, params.uri)
        subscriptions.add(params.uri, connection)
        return EmptyResult()

    async def unsubscribe(ctx: Any, params: UnsubscribeRequestParams) -> EmptyResult:
        subscriptions.remove(params.uri, _connection(ctx))
        return EmptyResult()

    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    lowlevel.add_request_handler("completion/complete", CompleteRequestParams, complete)
    if any(resource.spec.subscribable for resource in server.hub_resources.values()):
        lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subscribe)
        lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, unsubscribe)


async def _completions(server: HubServer, params: CompleteRequestParams) -> list[str]:
    caller = server.current_caller()
    context = dict(params.context.arguments or {}) if params.context is not None else {}
    ref = params.ref
    if isinstance(ref, PromptReference):
        prompt = server.hub_prompts.get(ref.name)
        if prompt is None or not caller.policy.permits(prompt.facts):
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {ref.name}")
        connector, target = prompt.connector, prompt.spec.name
    else:
        entry = server.hub_resources.get(ref.uri)
        if entry is None or not caller.policy.permits(entry.facts):
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown resource template: {ref.uri}")
        resource = await server.resolve_resource(entry)
        instance = context.get("instance") or resource.default_instance
        if instance not in resource.instances:
            return []
        connector, target = resource.instances[instance], resource.spec.name
    try:
        values = await connector.complete(target, params.argument.name, params.argument.value, context)
    except Exception:
        log.exception("completion for %s.%s failed", target, params.argument.name)
        return []
    return [str(value) for value in values]


def _connection(ctx: Any) -> Any:
    connection = getattr(getattr(ctx, "session", None), "_connection", None)
    if connection is None:
        raise MCPError(code=INVALID_PARAMS, message="subscriptions need a session")
    return connection


def _subscribable(server: HubServer, uri: str) -> None:
    """The URI matches a subscribable template the caller may read; -32602 otherwise."""
    caller = server.current_caller()
    for template, entry in server.hub_resources.items():
        matches = UriTemplate.parse(template).match(uri) is not None
        if entry.spec.subscribable and caller.policy.permits(entry.facts) and matches:
            return
    raise MCPError(code=INVALID_PARAMS, message=f"no subscribable resource at {uri}")
