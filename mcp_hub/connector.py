"""The contract every connector implements, declared once per connector.

A connector is a class with a `name`, a pydantic `settings_model` and tool
methods marked with `@tool(...)`. The hub makes one object per configured
instance (two GitHub accounts are two objects), enters its `lifespan` while the
hub serves, and exposes each marked method once as `<name>_<method>`, with an
`instance` argument when there is more than one instance. The connector's SDK
must be imported inside methods or the lifespan, never at module level, so that
a hub that does not enable it never pays for the import.

Tool methods are async, take typed keyword arguments (their annotations become
the input schema) and return a `ToolOutput` whose `data` is a pydantic model
(its schema becomes the output schema). They raise `mcp_hub.errors` exceptions
for anything a caller should read; SDK exceptions are translated before they
leave the connector.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from mcp_hub.content import Attachment
from mcp_hub.provenance import Provenance, Visibility
from mcp_hub.redaction import Redactor, SecretValue
from mcp_hub.state import InProcessState, StateStore

DataT = TypeVar("DataT", bound=BaseModel)
SettingsT = TypeVar("SettingsT", bound="ConnectorSettings")

_TOOL_MARK = "__mcp_hub_tool__"
_RESOURCE_MARK = "__mcp_hub_resource__"
_PROMPT_MARK = "__mcp_hub_prompt__"


class ConnectorSettings(BaseModel):
    """Settings shared by every connector; each connector extends this."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = None
    #: Default visibility label of what this instance returns.
    visibility: Visibility = "private"

    def missing(self) -> str | None:
        """Why this instance cannot be enabled (e.g. no credentials), or None."""
        return None


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """What `@tool` records about a method."""

    name: str
    description: str
    toolset: str
    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool
    title: str | None = None
    #: JSON Schema keywords set on the top level of the input schema (e.g. `$schema`,
    #: `"additionalProperties": False`, which the hub then enforces).
    schema_extra: Mapping[str, Any] | None = None


@dataclass(slots=True)
class ToolOutput(Generic[DataT]):
    """A tool's result: typed data plus its provenance labels.

    `text` is the compact rendering a model reads; when None the hub renders
    `data` as compact JSON.
    """

    data: DataT
    provenance: Provenance
    text: str | None = None
    #: Images, audio or embedded resources shown after the text (`mcp_hub.content`).
    content: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """What `@resource` records about a method."""

    name: str
    uri_template: str
    description: str
    toolset: str
    mime_type: str
    #: The connector calls `context.resource_updated(uri)` when a resource of this template changes,
    #: so clients may subscribe to it (`resources/subscribe`).
    subscribable: bool = False


@dataclass(slots=True)
class ResourceOutput:
    """A resource's content (text or bytes) plus its provenance labels."""

    content: str | bytes
    provenance: Provenance
    mime_type: str | None = None


def resource(
    uri_template: str,
    *,
    description: str,
    toolset: str,
    mime_type: str = "text/plain",
    name: str | None = None,
    subscribable: bool = False,
) -> Callable[[Callable[..., Awaitable[ResourceOutput]]], Callable[..., Awaitable[ResourceOutput]]]:
    """Mark a connector method as an MCP resource template.

    The method takes the template's variables as `str` keyword arguments
    (query variables like `{?ref}` need a default). Use `{+path}` for values
    that contain slashes. With several instances the hub adds an `instance`
    query variable. Policy treats a resource like a read-only tool named
    `<connector>_<name>` in `toolset`. `subscribable=True` when the connector
    tells the hub of changes (`context.resource_updated(uri)`).
    """

    def mark(fn: Callable[..., Awaitable[ResourceOutput]]) -> Callable[..., Awaitable[ResourceOutput]]:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"resource {fn.__name__} must be async")
        spec = ResourceSpec(name or fn.__name__, uri_template, description, toolset, mime_type, subscribable)
        setattr(fn, _RESOURCE_MARK, spec)
        return fn

    return mark


@dataclass(frozen=True, slots=True)
class PromptSpec:
    """What `@prompt` records about a method."""

    name: str
    description: str
    toolset: str


#: What a prompt method returns: one user message's text, or user messages (text, images, embedded resources).
PromptResult = str | list[str | Attachment]


def prompt(
    *, description: str, toolset: str, name: str | None = None
) -> Callable[[Callable[..., Awaitable[PromptResult]]], Callable[..., Awaitable[PromptResult]]]:
    """Mark a connector method as an MCP prompt (a message template a user picks in the client).

    The method takes `str` keyword arguments and returns the user message's
    text (or a list of user messages, `mcp_hub.content` items included); it runs
    on the default instance. Policy treats it like a read-only tool named
    `<connector>_<name>` in `toolset`.
    """

    def mark(fn: Callable[..., Awaitable[PromptResult]]) -> Callable[..., Awaitable[PromptResult]]:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"prompt {fn.__name__} must be async")
        setattr(fn, _PROMPT_MARK, PromptSpec(name or fn.__name__, description, toolset))
        return fn

    return mark


def tool(
    *,
    description: str,
    toolset: str,
    read_only: bool = True,
    destructive: bool = False,
    idempotent: bool | None = None,
    open_world: bool = True,
    name: str | None = None,
    title: str | None = None,
    schema_extra: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., Awaitable[Any]]]:
    """Mark a connector method as a tool.

    `read_only=False` makes it a write tool (hidden until writes are allowed);
    `destructive=True` (only for writes) also needs destructive tools allowed.
    """
    if destructive and read_only:
        raise ValueError("a destructive tool cannot be read-only")

    def mark(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"tool {fn.__name__} must be async")
        spec = ToolSpec(
            name=name or fn.__name__,
            description=description,
            toolset=toolset,
            read_only=read_only,
            destructive=destructive,
            idempotent=read_only if idempotent is None else idempotent,
            open_world=open_world,
            title=title,
            schema_extra=dict(schema_extra) if schema_extra else None,
        )
        setattr(fn, _TOOL_MARK, spec)
        return fn

    return mark


async def _nobody_listens(uri: str) -> None:
    """The default `resource_updated`: no hub is listening (a connector built outside a hub)."""


@dataclass(frozen=True, slots=True)
class ConnectorContext:
    """What the hub hands a connector instance."""

    redactor: Redactor
    #: Where rate-limit budgets shared across replicas live (`mcp_hub.state`); in-process by default.
    state: StateStore = field(default_factory=InProcessState)
    #: Tell subscribed clients that the resource at this URI changed (`@resource(subscribable=True)`).
    resource_updated: Callable[[str], Awaitable[None]] = field(default=_nobody_listens)


@dataclass(frozen=True, slots=True)
class ConnectorManifest:
    """What the hub needs to know about a connector before importing it.

    The `mcp_hub.connectors` entry point of a connector may name a manifest
    instead of the class: the hub then imports the class (its tools, models and
    settings) only when the connector is configured, so an installed but unused
    connector costs `mcp-hub serve` nothing at start-up. Keep the module that
    holds the manifest free of heavy imports (a package `__init__` that only
    defines the manifest and a lazy `__getattr__`).
    """

    name: str
    #: "package.module:ClassName" of the Connector subclass.
    target: str
    #: The ecosystem's usual variables for the default instance: env var -> settings field.
    ecosystem_env: Mapping[str, str]
    #: True when the connector works with no configuration at all (Postgres's embedded database).
    enabled_without_config: bool = False
    #: "package.module:SettingsClass" of its light settings model: with it (and `requires`, `extra`, which
    #: must match the class's), resolving the config never imports the connector itself.
    settings: str = ""
    #: Same as `Connector.requires` / `Connector.extra` (checked by the tests).
    requires: tuple[str, ...] = ()
    extra: str = ""

    def load(self) -> type[Connector[Any]]:
        import importlib

        module_name, _, attr = self.target.partition(":")
        loaded = getattr(importlib.import_module(module_name), attr)
        if not (isinstance(loaded, type) and issubclass(loaded, Connector)):
            raise TypeError(f"{self.target} is not a Connector subclass")
        return loaded

    def load_settings_model(self) -> type[ConnectorSettings]:
        """The `settings` target (only call when it is set)."""
        import importlib

        module_name, _, attr = self.settings.partition(":")
        loaded = getattr(importlib.import_module(module_name), attr)
        if not (isinstance(loaded, type) and issubclass(loaded, ConnectorSettings)):
            raise TypeError(f"{self.settings} is not a ConnectorSettings subclass")
        return loaded


class Connector(Generic[SettingsT]):
    """Base class of every connector (one object per configured instance)."""

    #: Namespace of its tools and its section in the config.
    name: ClassVar[str]
    settings_model: ClassVar[type[ConnectorSettings]]
    #: The ecosystem's usual variables, read for the default instance: env var -> field.
    ecosystem_env: ClassVar[Mapping[str, str]] = {}
    #: Toolsets on by default; None means all of them.
    default_toolsets: ClassVar[frozenset[str] | None] = None
    #: Python modules whose absence means the connector's extra is not installed.
    requires: ClassVar[tuple[str, ...]] = ()
    #: Extra to install when `requires` is missing, e.g. "postgres".
    extra: ClassVar[str] = ""

    def __init__(self, instance: str, settings: SettingsT, context: ConnectorContext) -> None:
        self.instance = instance
        self.settings = settings
        self.context = context

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Open clients/pools for the hub's lifetime; override when needed.

        Open lazily where possible: start-up time matters for stdio servers.
        """
        yield

    async def diagnose(self) -> list[str]:
        """Warnings for `mcp-hub config check` (e.g. an over-powerful role). Raise `HubError`, naming the
        cause, when the instance cannot work at all (unreachable, bad credentials): the check reports it as
        an error and exits non-zero."""
        return []

    async def complete(self, target: str, argument: str, value: str, context: Mapping[str, str]) -> list[str]:
        """Values for `argument` of the prompt or resource template `target` (its method's name) that start
        with (or match) `value`, for `completion/complete`; `context` holds the arguments already chosen.

        Answer from what the connector already knows (schemas it has read, its configured
        repositories, projects, channels), never from an unbounded upstream listing; the hub
        returns the first 100. The default completes nothing.
        """
        return []

    @classmethod
    def tool_methods(cls) -> list[tuple[ToolSpec, Callable[..., Awaitable[Any]]]]:
        found: list[tuple[ToolSpec, Callable[..., Awaitable[Any]]]] = []
        for attr in dir(cls):
            fn = getattr(cls, attr, None)
            spec = getattr(fn, _TOOL_MARK, None)
            if isinstance(spec, ToolSpec) and fn is not None:
                found.append((spec, fn))
        return sorted(found, key=lambda item: item[0].name)

    @classmethod
    def resource_methods(cls) -> list[tuple[ResourceSpec, Callable[..., Awaitable[ResourceOutput]]]]:
        found: list[tuple[ResourceSpec, Callable[..., Awaitable[ResourceOutput]]]] = []
        for attr in dir(cls):
            fn = getattr(cls, attr, None)
            spec = getattr(fn, _RESOURCE_MARK, None)
            if isinstance(spec, ResourceSpec) and fn is not None:
                found.append((spec, fn))
        return sorted(found, key=lambda item: item[0].name)

    @classmethod
    def prompt_methods(cls) -> list[tuple[PromptSpec, Callable[..., Awaitable[PromptResult]]]]:
        found: list[tuple[PromptSpec, Callable[..., Awaitable[PromptResult]]]] = []
        for attr in dir(cls):
            fn = getattr(cls, attr, None)
            spec = getattr(fn, _PROMPT_MARK, None)
            if isinstance(spec, PromptSpec) and fn is not None:
                found.append((spec, fn))
        return sorted(found, key=lambda item: item[0].name)

    def secrets(self) -> list[str | SecretValue]:
        """Secrets of this instance, for redaction (objects, so a rotated file is followed)."""
        return settings_secrets(self.settings)


def settings_secrets(settings: BaseModel) -> list[str | SecretValue]:
    """Every secret inside an instance's settings, nested models, lists and dicts included."""
    found: list[str | SecretValue] = []

    def walk(value: object) -> None:
        if callable(getattr(value, "get_secret_value", None)):
            found.append(value)  # type: ignore[arg-type]
        elif isinstance(value, BaseModel):
            for item in value.__dict__.values():
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                walk(item)

    walk(settings)
    return found
