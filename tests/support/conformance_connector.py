"""The MCP conformance suite's fixtures (`@modelcontextprotocol/conformance`), as hub connectors.

Registered only in tests. The suite calls tools, prompts and resources by fixed
names; the hub names them `<connector>_<name>`, so the connector is called
`test` (`test_simple_text`, …) and the one tool outside that namespace,
`json_schema_2020_12_tool`, comes from a second connector called `json`.
Everything goes through the hub's own contract (`@tool`, `@resource`,
`@prompt`, `ToolOutput`, `mcp_hub.content`, `current_context()`,
`tell_client`), so each scenario exercises the hub's plumbing (policy, audit,
provenance, redaction), not a side door.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import wave
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field

from mcp_hub.calls import current_context
from mcp_hub.client_log import tell_client
from mcp_hub.connector import (
    Connector,
    ConnectorSettings,
    PromptResult,
    ResourceOutput,
    ToolOutput,
    prompt,
    resource,
    tool,
)
from mcp_hub.content import Audio, Embedded, Image
from mcp_hub.errors import HubError, UpstreamUnavailable
from mcp_hub.provenance import Provenance
from mcp_hub.retry import RetryPolicy, retrying
from mcp_hub.secret import Secret

log = logging.getLogger(__name__)

#: A 1x1 red pixel.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
PUBLIC = Provenance("test://conformance", "public")
#: What `complete` offers for the prompt's arguments and the template's `id`.
KNOWN_WORDS = ("paris", "park", "party", "test-alpha", "test-beta")
KNOWN_IDS = ("123", "124", "200")


def _wav() -> bytes:
    """A tenth of a second of silence (8 kHz, 8-bit mono)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(b"\x80" * 800)
    return buffer.getvalue()


class Text(BaseModel):
    text: str


class ElicitationOutcome(BaseModel):
    action: str
    content: dict[str, Any] | None = None


class ConformanceSettings(ConnectorSettings):
    enabled: bool = False
    #: A secret the hub must mask wherever it shows up (log messages to the client included).
    token: Secret | None = None

    def missing(self) -> str | None:
        return None if self.enabled else "conformance fixtures are for tests: set MCP_HUB_TEST__ENABLED=1"


def said(text: str, **extra: Any) -> ToolOutput[Text]:
    return ToolOutput(Text(text=text), PUBLIC, text=text, **extra)


class ConformanceConnector(Connector[ConformanceSettings]):
    name: ClassVar[str] = "test"
    settings_model = ConformanceSettings

    # -- content ---------------------------------------------------------------------------------

    @tool(toolset="content", description="Return simple text.")
    async def simple_text(self) -> ToolOutput[Text]:
        return said("This is a simple text response for testing.")

    @tool(toolset="content", description="Return an image.")
    async def image_content(self) -> ToolOutput[Text]:
        return said("An image:", content=[Image(PNG, "image/png")])

    @tool(toolset="content", description="Return audio.")
    async def audio_content(self) -> ToolOutput[Text]:
        return said("Some audio:", content=[Audio(_wav(), "audio/wav")])

    @tool(toolset="content", description="Return an embedded resource.")
    async def embedded_resource(self) -> ToolOutput[Text]:
        embedded = Embedded("test://embedded-resource", "text/plain", text="This is an embedded resource content.")
        return said("An embedded resource:", content=[embedded])

    @tool(toolset="content", description="Return text, an image and an embedded resource.")
    async def multiple_content_types(self) -> ToolOutput[Text]:
        body = json.dumps({"test": "data", "value": 123})
        return said(
            "Multiple content types test:",
            content=[Image(PNG), Embedded("test://mixed-content-resource", "application/json", text=body)],
        )

    @tool(toolset="content", description="Always fail.")
    async def error_handling(self) -> ToolOutput[Text]:
        raise HubError("This tool intentionally returns an error for testing")

    # -- talking to the client during a call -----------------------------------------------------

    @tool(toolset="client", description="Log three messages while running.")
    async def tool_with_logging(self) -> ToolOutput[Text]:
        await tell_client("info", "Tool execution started")
        await asyncio.sleep(0.05)
        await tell_client("info", "Tool processing data")
        await asyncio.sleep(0.05)
        await tell_client("info", "Tool execution completed")
        return said("Logged three messages.")

    @tool(toolset="client", description="Log a warning through Python logging (forwarded to the client).")
    async def tool_with_warning(self, detail: str = "upstream slow") -> ToolOutput[Text]:
        log.warning("conformance warning: %s", detail)
        await asyncio.to_thread(log.warning, "from a worker thread: %s", detail)
        return said("Warned.")

    @tool(toolset="client", description="Call an upstream that fails once, through the hub's retry policy.")
    async def flaky_upstream(self) -> ToolOutput[Text]:
        attempts: list[int] = []

        async def call() -> str:
            attempts.append(1)
            if len(attempts) == 1:
                raise UpstreamUnavailable("503 from upstream")
            return "ok"

        await retrying(call, policy=RetryPolicy(base_delay=0.01, max_delay=0.02))
        return said(f"answered after {len(attempts)} attempts")

    @tool(toolset="client", description="Report progress 0, 50, 100 of 100.")
    async def tool_with_progress(self) -> ToolOutput[Text]:
        ctx = current_context()
        for done in (0, 50, 100):
            await ctx.report_progress(done, 100)
            if done < 100:
                await asyncio.sleep(0.05)
        return said("Progress reported.")

    @tool(toolset="client", description="Ask the client's model to complete a prompt.")
    async def sampling(self, prompt: str) -> ToolOutput[Text]:
        from mcp_types import ClientCapabilities, SamplingCapability, SamplingMessage, TextContent

        ctx = current_context()
        if not ctx.session.check_client_capability(ClientCapabilities(sampling=SamplingCapability())):
            raise HubError("this client does not support sampling")
        answer = await ctx.session.create_message(
            [SamplingMessage(role="user", content=TextContent(type="text", text=prompt))],
            max_tokens=100,
            related_request_id=ctx.request_id,
        )
        text = answer.content.text if isinstance(answer.content, TextContent) else str(answer.content)
        return said(f"LLM response: {text}")

    @tool(toolset="client", description="Ask the user for a username and an email.")
    async def elicitation(self, message: str) -> ToolOutput[ElicitationOutcome]:
        schema = {
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"},
            },
            "required": ["username", "email"],
        }
        return await _elicit(message, schema, "User response")

    @tool(toolset="client", description="Ask with a default for every primitive type (SEP-1034).")
    async def elicitation_sep1034_defaults(self) -> ToolOutput[ElicitationOutcome]:
        schema = {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "User name", "default": "John Doe"},
                "age": {"type": "integer", "description": "User age", "default": 30},
                "score": {"type": "number", "description": "User score", "default": 95.5},
                "status": {
                    "type": "string",
                    "description": "User status",
                    "enum": ["active", "inactive", "pending"],
                    "default": "active",
                },
                "verified": {"type": "boolean", "description": "Verification status", "default": True},
            },
            "required": [],
        }
        return await _elicit("Please review and update the form fields with defaults", schema)

    @tool(toolset="client", description="Ask with the five enum forms (SEP-1330).")
    async def elicitation_sep1330_enums(self) -> ToolOutput[ElicitationOutcome]:
        titled = [{"const": f"value{i}", "title": t} for i, t in enumerate(("First", "Second", "Third"), 1)]
        schema = {
            "type": "object",
            "properties": {
                "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                "titledSingle": {"type": "string", "oneOf": [d | {"title": f"{d['title']} Option"} for d in titled]},
                "legacyEnum": {
                    "type": "string",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"],
                },
                "untitledMulti": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
                },
                "titledMulti": {
                    "type": "array",
                    "items": {"anyOf": [d | {"title": f"{d['title']} Choice"} for d in titled]},
                },
            },
            "required": [],
        }
        return await _elicit("Please select options from the enum fields", schema)

    @tool(toolset="client", description="Close the SSE stream mid-call; the result arrives after the client resumes.")
    async def reconnection(self) -> ToolOutput[Text]:
        ctx = current_context()
        await asyncio.sleep(0.05)
        await ctx.close_sse_stream()
        await asyncio.sleep(0.2)
        return said("Reconnection test completed successfully.")

    @tool(toolset="client", description="Tell subscribers that test://watched-resource changed.")
    async def touch_watched(self) -> ToolOutput[Text]:
        self.watched += 1
        await self.context.resource_updated("test://watched-resource")
        return said(f"watched-resource is at version {self.watched}")

    watched: int = 0

    # -- resources -------------------------------------------------------------------------------

    @resource("test://static-text", description="A static text resource.", toolset="content")
    async def static_text(self) -> ResourceOutput:
        return ResourceOutput("This is the content of the static text resource.", PUBLIC)

    @resource("test://static-binary", description="A static image.", toolset="content", mime_type="image/png")
    async def static_binary(self) -> ResourceOutput:
        return ResourceOutput(PNG, PUBLIC, mime_type="image/png")

    @resource(
        "test://template/{id}/data", description="Data for an id.", toolset="content", mime_type="application/json"
    )
    async def template_data(self, id: str) -> ResourceOutput:
        body = json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})
        return ResourceOutput(body, PUBLIC, mime_type="application/json")

    @resource("test://watched-resource", description="A resource that changes.", toolset="content", subscribable=True)
    async def watched_resource(self) -> ResourceOutput:
        return ResourceOutput(f"version {self.watched}", PUBLIC)

    # -- prompts ---------------------------------------------------------------------------------

    @prompt(toolset="content", description="A simple prompt.")
    async def simple_prompt(self) -> PromptResult:
        return "This is a simple prompt for testing."

    @prompt(toolset="content", description="A prompt with two arguments.")
    async def prompt_with_arguments(self, arg1: str, arg2: str) -> PromptResult:
        return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"

    @prompt(toolset="content", description="A prompt embedding a resource.")
    async def prompt_with_embedded_resource(self, resourceUri: str) -> PromptResult:
        return [
            Embedded(resourceUri, "text/plain", text="Embedded resource content for testing."),
            "Please process the embedded resource above.",
        ]

    @prompt(toolset="content", description="A prompt with an image.")
    async def prompt_with_image(self) -> PromptResult:
        return [Image(PNG), "Please analyze the image above."]

    async def complete(self, target: str, argument: str, value: str, context: Mapping[str, str]) -> list[str]:
        known = {("prompt_with_arguments", "arg1"): KNOWN_WORDS, ("prompt_with_arguments", "arg2"): KNOWN_WORDS}
        known[("template_data", "id")] = KNOWN_IDS
        return [word for word in known.get((target, argument), ()) if word.startswith(value)]


async def _elicit(
    message: str, schema: dict[str, Any], label: str = "Elicitation completed"
) -> ToolOutput[ElicitationOutcome]:
    ctx = current_context()
    answer = await ctx.session.elicit_form(message, schema, related_request_id=ctx.request_id)
    outcome = ElicitationOutcome(action=answer.action, content=answer.content)
    return ToolOutput(outcome, PUBLIC, text=f"{label}: action={answer.action}, content={json.dumps(answer.content)}")


class address(BaseModel):
    street: str | None = None
    city: str | None = None


class JsonSchemaConnector(Connector[ConformanceSettings]):
    """`json_schema_2020_12_tool`: an input schema with `$schema`, `$defs` and `additionalProperties: false`."""

    name: ClassVar[str] = "json"
    settings_model = ConformanceSettings

    @tool(
        toolset="schema",
        description="Tool with JSON Schema 2020-12 features",
        name="schema_2020_12_tool",
        schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema", "additionalProperties": False},
    )
    async def schema_tool(
        self, name: str | None = None, address: Annotated[address | None, Field()] = None
    ) -> ToolOutput[Text]:
        where = f" at {address.city}" if address is not None and address.city else ""
        return said(f"Hello {name or 'nobody'}{where}.")
