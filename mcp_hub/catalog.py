"""Turning connector instances into MCP tools.

Each `@tool` method becomes one MCP tool `<connector>_<method>`, whatever the
number of instances: with several instances the tool gains an `instance`
argument (an enum of their names). The generated handler runs the method on
the chosen instance, enforces the data boundary on the result's provenance,
renders it compactly and translates errors into redacted tool errors.
"""

from __future__ import annotations

import inspect
import logging
import secrets
import typing
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp.shared.uri_template import UriTemplate
from mcp_types import INVALID_PARAMS, CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from mcp_hub import client_log
from mcp_hub.calls import _CONTEXT, InputRequired
from mcp_hub.connector import (
    Connector,
    PromptResult,
    PromptSpec,
    ResourceOutput,
    ResourceSpec,
    ToolOutput,
    ToolSpec,
)
from mcp_hub.content import to_block
from mcp_hub.errors import HubError, PolicyDenied
from mcp_hub.policy import Caller, DataBoundary, ToolFacts
from mcp_hub.provenance import META_KEY, Provenance, delimit_outsider_text, new_boundary
from mcp_hub.redaction import Redactor
from mcp_hub.registry import DEFAULT_INSTANCE
from mcp_hub.upstream.call import internal_error
from mcp_hub.upstream.journal import journal, provenance_mismatch

log = logging.getLogger(__name__)

ERROR_META_KEY = "mcp_hub/error"

CallerLookup = Callable[[], Caller]


@dataclass(frozen=True)
class ToolEntry:
    """What the hub knows of a tool without its connector: its policy facts and `@tool` spec."""

    facts: ToolFacts
    spec: ToolSpec

    @property
    def annotations(self) -> ToolAnnotations:
        return ToolAnnotations(
            title=self.spec.title,
            read_only_hint=self.spec.read_only,
            destructive_hint=self.spec.destructive if not self.spec.read_only else None,
            idempotent_hint=self.spec.idempotent if not self.spec.read_only else None,
            open_world_hint=self.spec.open_world,
        )


@dataclass(frozen=True)
class HubTool(ToolEntry):
    """One tool of the catalog and the instances it can run on."""

    method: Callable[..., Awaitable[ToolOutput[Any]]]
    instances: dict[str, Connector[Any]]
    default_instance: str
    output_model: type[BaseModel]


@dataclass(frozen=True)
class HubResource:
    """One resource template of the catalog and the instances it can read from."""

    facts: ToolFacts
    spec: ResourceSpec
    method: Callable[..., Awaitable[ResourceOutput]]
    instances: dict[str, Connector[Any]]
    default_instance: str

    @property
    def uri_template(self) -> str:
        """The connector's template, plus an `instance` query variable when there are several."""
        return instance_uri_template(self.spec.uri_template, len(self.instances))


def instance_uri_template(template: str, instances: int) -> str:
    """`template` plus an `instance` query variable when there are several instances."""
    if instances < 2:
        return template
    if "{?" in template:
        start = template.index("{?")
        end = template.index("}", start)
        return template[:end] + ",instance" + template[end:]
    return template + "{?instance}"


def resource_parameters(uri_template: str) -> list[inspect.Parameter]:
    """A resource handler's keyword parameters: the template's variables (query variables optional)."""
    template = UriTemplate.parse(uri_template)
    optional = set(template.query_variable_names)
    return [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None if name in optional else inspect.Parameter.empty,
            annotation=str | None if name in optional else str,
        )
        for name in template.variable_names
    ]


#: Key under which a resource handler reports the MIME type of what it read (not sent as `_meta`).
MIME_TYPE_KEY = "mcp_hub/mime_type"

#: Filled by a resource handler with the `_meta` of what it read (see HubServer.read_resource).
ResourceMetaSink = Callable[[dict[str, Any]], None]


def build_resource_handler(
    resource: HubResource,
    current_caller: CallerLookup,
    boundary: DataBoundary,
    redactor: Redactor,
    meta_sink: ResourceMetaSink,
) -> Callable[..., Any]:
    """An async function whose parameters are the URI template's variables."""
    parameters = resource_parameters(resource.uri_template)

    async def handler(**arguments: Any) -> str | bytes:
        instance = arguments.pop("instance", None) or resource.default_instance
        connector = resource.instances.get(instance)
        caller = current_caller()
        if connector is None:
            raise ResourceError(f"unknown instance {instance!r}; one of: {', '.join(sorted(resource.instances))}")
        if not caller.policy.permits(resource.facts):
            raise ResourceError("resource not available to this caller")
        arguments = {k: v for k, v in arguments.items() if v is not None}
        try:
            with journal(root=True) as sent:
                output = await resource.method(connector, **arguments)
            mismatch = provenance_mismatch(output.provenance.resource, sent)
            if mismatch is not None:
                raise internal_error(resource.facts.connector, resource.facts.name, AssertionError(mismatch))
            visibility = output.provenance.visibility
            if not boundary.permits(caller.name, visibility):
                raise PolicyDenied(
                    f"this resource holds {visibility} data and the hub's data boundary does not let caller "
                    f"{caller.name!r} receive it."
                )
        except HubError as exc:
            raise ResourceError(redactor.redact(exc.message)) from None
        except Exception:
            incident = secrets.token_hex(4)
            log.exception("resource %s failed unexpectedly (incident %s)", resource.facts.name, incident)
            raise ResourceError(
                f"reading failed unexpectedly; the hub's log has the details (incident {incident})"
            ) from None
        content, boundary_marker = _delimit_if_outsider(output.content, output.provenance)
        meta_sink({META_KEY: output.provenance.to_meta(resource.facts.connector, instance, boundary_marker)})
        if output.mime_type is not None:
            meta_sink({MIME_TYPE_KEY: output.mime_type})
        return content

    handler.__name__ = resource.facts.name
    handler.__signature__ = inspect.Signature(parameters, return_annotation=str | bytes)  # type: ignore[attr-defined]
    handler.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": str | bytes}
    return handler


def _delimit_if_outsider(content: str | bytes, provenance: Provenance) -> tuple[str | bytes, str | None]:
    if not provenance.outsider_text or not isinstance(content, str):
        return content, None
    marker = new_boundary()
    return delimit_outsider_text(content, marker), marker


@dataclass(frozen=True)
class HubPrompt:
    """One prompt of the catalog, bound to its connector's default instance."""

    facts: ToolFacts
    spec: PromptSpec
    method: Callable[..., Awaitable[PromptResult]]
    connector: Connector[Any]


def build_prompt_handler(prompt: HubPrompt, current_caller: CallerLookup, redactor: Redactor) -> Callable[..., Any]:
    """An async function whose parameters are the prompt's (string) arguments."""
    hints = typing.get_type_hints(prompt.method, include_extras=True)
    parameters = [
        param.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints[param.name])
        for param in list(inspect.signature(prompt.method).parameters.values())[1:]
    ]

    async def handler(**arguments: Any) -> str | list[Any]:
        if not current_caller().policy.permits(prompt.facts):
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {prompt.facts.name}")
        try:
            result = await prompt.method(prompt.connector, **arguments)
        except HubError as exc:  # MCPError passes through the SDK unmasked, so the message stays actionable
            raise MCPError(code=INVALID_PARAMS, message=redactor.redact(exc.message)) from None
        if isinstance(result, str):
            return result
        from mcp.server.mcpserver.prompts.base import UserMessage

        return [UserMessage(content=to_block(item)) for item in result]

    handler.__name__ = prompt.facts.name
    handler.__signature__ = inspect.Signature(parameters, return_annotation=str)  # type: ignore[attr-defined]
    handler.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": str}
    return handler


def output_model_of(method: Callable[..., Any]) -> type[BaseModel]:
    """The `T` of a method annotated `-> ToolOutput[T]`."""
    hints = typing.get_type_hints(method, include_extras=True)
    returned = hints.get("return")
    args = typing.get_args(returned)
    if typing.get_origin(returned) is not ToolOutput or not args or not issubclass(args[0], BaseModel):
        raise TypeError(f"{method.__qualname__} must be annotated -> ToolOutput[SomeModel]")
    model: type[BaseModel] = args[0]
    return model


def build_handler(
    tool: HubTool, current_caller: CallerLookup, boundary: DataBoundary, redactor: Redactor
) -> Callable[..., Any]:
    """An async function whose signature is the tool's MCP input schema."""
    hints = typing.get_type_hints(tool.method, include_extras=True)
    parameters: list[inspect.Parameter] = []
    if len(tool.instances) > 1:
        names = tuple(sorted(tool.instances))
        instance_type = Annotated[Literal[names], Field(description="Which configured instance to use.")]  # type: ignore[valid-type]
        parameters.append(
            inspect.Parameter(
                "instance", inspect.Parameter.KEYWORD_ONLY, default=tool.default_instance, annotation=instance_type
            )
        )
    for param in list(inspect.signature(tool.method).parameters.values())[1:]:  # skip self
        parameters.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints[param.name]))
    parameters.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))

    async def handler(ctx: Context, **arguments: Any) -> CallToolResult | InputRequiredResult:
        instance = arguments.pop("instance", tool.default_instance)
        connector = tool.instances[instance]
        caller = current_caller()
        context_token = _CONTEXT.set(ctx)
        channel, log_token = client_log.open_call_log(ctx, redactor)
        try:
            try:
                with journal(root=True) as sent:
                    output = await tool.method(connector, **arguments)
            except BaseExceptionGroup as group:  # raised inside a task group (a workflow's inner MCP client)
                raise _meant(group) from None
            # Labels come from what was actually sent (the request guard's journal), never from arguments.
            mismatch = provenance_mismatch(output.provenance.resource, sent)
            if mismatch is not None:
                raise internal_error(tool.facts.connector, tool.facts.name, AssertionError(mismatch))
            visibility = output.provenance.visibility
            if not boundary.permits(caller.name, visibility):
                raise PolicyDenied(
                    f"{tool.facts.name} returned {visibility} data from {tool.facts.connector}/{instance}, and the "
                    f"hub's data boundary does not let caller {caller.name!r} receive {visibility} data. "
                    "Ask the hub's operator to add this caller to hub.private_data_callers/internal_data_callers, "
                    "or use a client that is allowed (e.g. the hub's own agent)."
                )
        except InputRequired as asked:
            result: InputRequiredResult = asked.result
            return result
        except HubError as exc:
            return error_result(exc, redactor)
        except Exception:
            incident = secrets.token_hex(4)
            log.exception("tool %s failed unexpectedly (incident %s)", tool.facts.name, incident)
            return error_result(
                HubError(
                    f"{tool.facts.name} failed unexpectedly; the hub's log has the details (incident {incident})."
                ),
                redactor,
            )
        finally:
            if channel is not None and channel.pending:
                await channel.flush()  # what the call logged reaches the client before its result
            client_log.close_call_log(log_token)
            _CONTEXT.reset(context_token)
        return render(tool, instance, output)

    handler.__name__ = tool.facts.name
    handler.__signature__ = inspect.Signature(parameters, return_annotation=tool.output_model)  # type: ignore[attr-defined]
    handler.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": tool.output_model}
    return handler


def _meant(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """What a tool meant by the group it raised: a question for the client or a hub error inside it,
    else the group itself (an unexpected failure)."""
    for kind in (InputRequired, HubError):
        found: BaseException | None = group.subgroup(kind)
        while isinstance(found, BaseExceptionGroup):
            found = found.exceptions[0]
        if found is not None:
            return found
    return group


def build_handler_tool(tool: HubTool, current_caller: CallerLookup, boundary: DataBoundary, redactor: Redactor) -> Tool:
    """The SDK tool of `tool` (what `MCPServer.add_tool` would register), with its input schema compacted."""
    sdk_tool = Tool.from_function(
        build_handler(tool, current_caller, boundary, redactor),
        name=tool.facts.name,
        title=tool.spec.title,
        description=tool.spec.description,
        annotations=tool.annotations,
    )
    sdk_tool.parameters = compact_schema(sdk_tool.parameters) | dict(tool.spec.schema_extra or {})
    # The handler's structured content is `model_dump` of a validated model: the schema stays published,
    # but the SDK need not validate it again on every call (its cost grows with the rows of a result).
    sdk_tool.fn_metadata.output_model = None
    return sdk_tool


def render(tool: HubTool, instance: str, output: ToolOutput[Any]) -> CallToolResult:
    data = output.data.model_dump(mode="json")
    # What a model reads: compact JSON without nulls (they carry nothing) unless the connector rendered text.
    text = output.text if output.text is not None else output.data.model_dump_json(exclude_none=True)
    delimited, boundary = _delimit_if_outsider(text, output.provenance)
    assert isinstance(delimited, str)
    meta = {META_KEY: output.provenance.to_meta(tool.facts.connector, instance, boundary)}
    content: list[Any] = [TextContent(type="text", text=delimited)]
    if output.content:
        # Embedded text from outsiders is delimited with the same per-response boundary as the text.
        delimit = (lambda body: delimit_outsider_text(body, boundary)) if boundary is not None else None
        content += [to_block(item, delimit) for item in output.content]
    return CallToolResult(content=content, structured_content=data, _meta=meta)


def error_result(exc: HubError, redactor: Redactor) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=redactor.redact(exc.message))],
        is_error=True,
        _meta={ERROR_META_KEY: exc.kind},
    )


def compact_schema(schema: Any) -> Any:
    """Drop pydantic's generated `title`s: they repeat the property names and cost tokens in every session."""
    if isinstance(schema, dict):
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "title" and isinstance(value, str):
                continue
            if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
                out[key] = {name: compact_schema(sub) for name, sub in value.items()}
            else:
                out[key] = compact_schema(value)
        return out
    if isinstance(schema, list):
        return [compact_schema(item) for item in schema]
    return schema


def connector_catalog(
    name: str, cls: type[Connector[Any]], instances: dict[str, Connector[Any]]
) -> tuple[list[HubTool], list[HubResource], list[HubPrompt]]:
    """One tool, resource or prompt per marked method of connector `name` (class `cls`)."""
    default = default_instance(instances)

    def in_defaults(toolset: str) -> bool:
        return cls.default_toolsets is None or toolset in cls.default_toolsets

    tools: list[HubTool] = []
    for spec, method in cls.tool_methods():
        facts = ToolFacts(
            name=f"{name}_{spec.name}",
            connector=name,
            toolset=spec.toolset,
            read_only=spec.read_only,
            destructive=spec.destructive,
            default_toolset=in_defaults(spec.toolset),
        )
        tools.append(HubTool(facts, spec, method, instances, default, output_model_of(method)))
    resources: list[HubResource] = []
    for rspec, rmethod in cls.resource_methods():
        facts = ToolFacts(f"{name}_{rspec.name}", name, rspec.toolset, True, False, in_defaults(rspec.toolset))
        resources.append(HubResource(facts, rspec, rmethod, instances, default))
    prompts: list[HubPrompt] = []
    for pspec, pmethod in cls.prompt_methods():
        facts = ToolFacts(f"{name}_{pspec.name}", name, pspec.toolset, True, False, in_defaults(pspec.toolset))
        prompts.append(HubPrompt(facts, pspec, pmethod, instances[default]))
    return tools, resources, prompts


def default_instance(instances: Iterable[str]) -> str:
    """The instance a call without `instance` runs on: "default" if configured, else the first by name."""
    names = sorted(instances)
    return DEFAULT_INSTANCE if DEFAULT_INSTANCE in names else names[0]
