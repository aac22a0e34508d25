"""One way to build an app on the hub: "an agent over this hub".

Every app of `model/` is wired here and nowhere else: `mcp-hub agent` (`model.runner`), `mcp-hub review`,
`mcp-hub triage`, the webhook service's jobs, `mcp-hub model eval`'s tools suite and the review MCP tool.
An `AgentApp` holds:

- the **settings**: `[model]` (or `MCP_HUB_MODEL__*`), then the command's flags (`settings_from_args`), so a
  setting given once (`max_tokens`, `thinking_budget`, the served name …) reaches every model call of every app;
- the **profile**, and the model **client** for the endpoint (`client()`);
- the **hub** the agent talks to: built in memory from the configuration once (caller `agent`, the hub's
  policy), a hub URL, an in-memory hub given as is, or the running hub a workflow tool is called in
  (`in_running_hub`: no second hub; its requests come from caller `agent`);
- the **gate** of each run (`gate()`): approvals (globs, a person when one can be asked), a fresh flow guard,
  the verdict log (beside the hub's audit log by default);
- the **approvals queue** when the app waits for a person (`[model] wait_for_approval`, or `--wait-for-approval`
  on every command that writes: agent, review, triage, webhook): opened once per app (`approvals()`, entered by
  each `session()`; closed with the last), on the hub's shared state, with the in-memory hub's redactor so no
  connector secret reaches it; each session carries it (`HubSession.waiting`), so every gate built over the
  session (`gate()`, the review/triage/command workflows' `HubCalls.gate`) waits there instead of refusing;
- **tracing**, switched on when the hub's configuration asks, whichever hub the agent talks to.

    app = AgentApp.from_args(args)                       # a command
    async with app.client() as client, app.session() as session:
        result = await app.agent(client, session).run("…")
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from pydantic import ValidationError

from mcp_hub import tracing
from mcp_hub.approvals import ApprovalQueue
from mcp_hub.config import HubConfig, describe_validation_error, load_config
from mcp_hub.errors import ConfigError
from mcp_hub.policy import Caller, Policy
from mcp_hub.registry import Registry
from model.agent import Agent, AgentOptions, EventSink
from model.approvals import AskFn, Waiting, terminal_ask
from model.client import ClientOptions, ModelClient
from model.endpoint import Endpoint, resolve_endpoint
from model.gate import Gate, VerdictLog, new_gate
from model.guard import FlowGuard
from model.hub import AGENT_CALLER, HubSession, open_hub
from model.profiles import Profile, get_profile
from model.settings import ModelSettings, take_model_settings

#: Command-line flags (argparse `dest`) that override a `[model]` key of the same meaning.
FLAGS = {
    "profile": "profile",
    "served_name": "name",
    "backend": "backend",
    "base_url": "base_url",
    "max_steps": "max_steps",
    "max_tokens": "max_tokens",
    "thinking_budget": "thinking_budget",
    "verdict_log": "verdict_log",
    "wait_for_approval": "wait_for_approval",
}


BACKENDS = ("vllm", "azure", "ollama", "llamacpp", "custom")


def add_endpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """`--base-url` and `--backend`, read by `settings_from_args`."""
    parser.add_argument("--base-url", help="OpenAI-compatible base URL (default: the backend's)")
    parser.add_argument("--backend", choices=BACKENDS)


def add_app_arguments(parser: argparse.ArgumentParser, *, hub_url: bool = True) -> None:
    """The flags every app reads through `settings_from_args`/`AgentApp.from_args`: the model, its endpoint,
    its token limits, whether writes that need a person wait in the approvals queue, the hub's configuration and
    (with `hub_url`) a hub URL instead of the in-process hub. Every command that uses them writes."""
    parser.add_argument("--model", dest="profile", help="profile name or Hugging Face id")
    parser.add_argument("--served-name", help="the model name the server expects (default: the profile's id)")
    add_endpoint_arguments(parser)
    parser.add_argument(
        "--max-tokens", type=int, help="answer tokens per model call, reasoning included (default: [model] or profile)"
    )
    parser.add_argument(
        "--thinking-budget", type=int, help="vLLM thinking_token_budget per call (default: [model] thinking_budget)"
    )
    parser.add_argument(
        "--wait-for-approval",
        action="store_true",
        default=None,
        help="a write that needs a person waits in the approvals queue (hub.state_url; `mcp-hub approvals`) "
        "instead of being refused; default: [model] wait_for_approval",
    )
    if hub_url:
        parser.add_argument("--config", help="the hub's TOML config file")
        parser.add_argument("--hub-url", help="a hub's Streamable HTTP URL instead of the in-process hub")


def settings_from_args(args: argparse.Namespace, settings: ModelSettings | None = None) -> ModelSettings:
    """`settings` (`[model]`) with the flags `args` has and were given; validated like the file."""
    base = settings or ModelSettings()
    given = {key: getattr(args, flag) for flag, key in FLAGS.items() if getattr(args, flag, None) not in (None, "")}
    approve = getattr(args, "approve", None)
    if isinstance(approve, list) and approve:  # `agent --approve GLOB`; triage's `--approve` is a switch
        given["approve"] = approve
    if not given:
        return base
    try:
        return ModelSettings.model_validate({**base.model_dump(), **given})
    except ValidationError as exc:
        raise ConfigError(f"flags: {describe_validation_error(exc)}") from None


def model_settings(args: argparse.Namespace) -> ModelSettings:
    """`[model]` (`MCP_HUB_MODEL__*`, or the file `--config`/`MCP_HUB_CONFIG` names), then the flags: for the
    commands without a hub of their own (`model check`, `model eval`)."""
    return settings_from_args(args, take_model_settings(load_config(getattr(args, "config", None))))


def endpoint_for(settings: ModelSettings, *, base_url: str | None = None, backend: str | None = None) -> Endpoint:
    """The endpoint `settings` name, or another one (`model eval --judge-url`); the configured key goes
    only to the configured endpoint."""
    other = base_url is not None and base_url != settings.base_url
    return resolve_endpoint(
        backend or settings.backend, base_url or settings.base_url, None if other else settings.api_key
    )


def agent_caller(policy: Policy, *, lockdown: bool = False) -> Caller:
    """Who the agent is to the hub: the name the data boundary and the audit log know, in process."""
    return Caller(AGENT_CALLER, "memory", policy, lockdown=lockdown)


@dataclass
class AgentApp:
    settings: ModelSettings
    #: A hub URL (`http(s)://…/mcp`) or an in-memory hub server.
    hub: Any
    #: Set when `hub` is the running hub a tool was called in: the caller its requests come from.
    caller: Caller | None = None
    #: Asks a person when a write needs one (a terminal); None: such writes are denied.
    ask: AskFn | None = None
    verdict_log: Path | None = None
    client_options: ClientOptions | None = None
    #: The hub's configuration, when the app was built from one (its services' sections: `[triage]` …).
    config: HubConfig | None = None
    profile: Profile = field(init=False)
    _waiting: Waiting | None = field(default=None, init=False, repr=False)
    _waiting_users: int = field(default=0, init=False, repr=False)
    _waiting_lock: anyio.Lock | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.profile = get_profile(self.settings.profile)

    @property
    def waits(self) -> bool:
        """True when a write that needs a person waits in the approvals queue (else it is refused)."""
        return self.settings.wait_for_approval

    @property
    def hub_config(self) -> HubConfig:
        if self.config is None:
            raise ConfigError("this app was not built from the hub's configuration (AgentApp.from_config)")
        return self.config

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def from_config(
        cls,
        config: HubConfig,
        registry: Registry,
        settings: ModelSettings | None = None,
        *,
        hub_url: str | None = None,
        ask: AskFn | None = None,
        extra_toolsets: Iterable[str] = (),
    ) -> AgentApp:
        """An agent over the hub `config` describes (built in memory once), or over `hub_url`.

        `extra_toolsets` are selected beside the configured ones for the agent (an app's own needs, such
        as the webhook's write-access lookups); never widened otherwise."""
        from mcp_hub.server import build_server, hub_policy

        settings = settings or take_model_settings(config)
        if tracing.wanted(config.hub.tracing):  # build_server does it too; a hub URL would not
            tracing.enable(required=config.hub.tracing)
        hub: Any = hub_url
        if not hub_url:
            # The hub's own policy holds for the agent (writes need MCP_HUB_ALLOW_WRITES=1).
            toolsets = [*config.hub.toolsets, *extra_toolsets] if extra_toolsets else None
            hub = build_server(config, registry=registry, caller=agent_caller(hub_policy(config, toolsets=toolsets)))
        verdict_log = settings.verdict_log or VerdictLog.beside(config.hub.audit_log)
        return cls(settings, hub, ask=ask, verdict_log=verdict_log, config=config)

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, *, interactive: bool = True, extra_toolsets: Iterable[str] = ()
    ) -> AgentApp:
        """What a command builds: `--config` (or the environment), `[model]`, then its flags."""
        registry = Registry.discover()
        config = load_config(getattr(args, "config", None), ecosystem_env=registry.ecosystem_env())
        settings = settings_from_args(args, take_model_settings(config))
        return cls.from_config(
            config,
            registry,
            settings,
            hub_url=getattr(args, "hub_url", None),
            ask=terminal_ask() if interactive else None,
            extra_toolsets=extra_toolsets,
        )

    @classmethod
    def in_running_hub(cls, server: Any, settings: ModelSettings, connectors: Iterable[str]) -> AgentApp:
        """An agent over the hub a workflow tool is being called in (`server`), limited to `connectors`.

        The agent's policy is the hub's own (its default caller's), narrowed to `connectors`; a caller
        that asked for lockdown keeps it for the agent's reads.
        """
        from mcp_hub.calls import current_caller

        outer = current_caller()
        only = Policy(
            allow_writes=True,
            allow_destructive=True,
            toolsets=frozenset({"all"}),
            connectors=frozenset(connectors),
        )
        caller = agent_caller(
            server.default_caller.policy.also(only), lockdown=bool(outer is not None and outer.lockdown)
        )
        return cls(settings, server, caller=caller)

    # -- what an app uses ----------------------------------------------------------------------

    @property
    def served_name(self) -> str:
        """The model name the server expects ('' = the profile's Hugging Face id)."""
        return self.settings.name

    def endpoint(self) -> Endpoint:
        return endpoint_for(self.settings)

    def client(self) -> ModelClient:
        return ModelClient(self.endpoint(), self.client_options)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[HubSession]:
        """A session on the hub; a `HubError` raised inside comes out as itself, not in a task group."""
        from model.review.hubcalls import first_hub_error

        try:
            async with self.approvals() as waiting, open_hub(self.hub, caller=self.caller) as session:
                session.waiting = waiting
                yield session
        except BaseExceptionGroup as group:  # the MCP client's task group wraps what the app raised
            raise first_hub_error(group) or group from None

    @asynccontextmanager
    async def approvals(self) -> AsyncIterator[Waiting | None]:
        """The app's approvals queue, opened once however many sessions (jobs) use it at a time; closed
        when the last user leaves. None when the app does not wait. A long-running app (the webhook
        service) holds it open for its lifetime, which also checks the queue's store at start."""
        if not self.waits:
            yield None
            return
        if self._waiting_lock is None:
            self._waiting_lock = anyio.Lock()
        async with self._waiting_lock:
            if self._waiting_users == 0:
                self._waiting = await self._open_waiting()
            self._waiting_users += 1
        try:
            yield self._waiting
        finally:
            with anyio.CancelScope(shield=True):
                async with self._waiting_lock:
                    self._waiting_users -= 1
                    if self._waiting_users == 0 and self._waiting is not None:
                        waiting, self._waiting = self._waiting, None
                        if self.caller is None:  # the running hub's own queue is the hub's to close
                            await waiting.queue.aclose()

    async def _open_waiting(self) -> Waiting:
        from mcp_hub.approvals.stores import InProcessApprovals

        if self.caller is not None:  # the running hub a tool was called in: its own queue (console, CLI)
            transport = self.caller.transport
            return Waiting(self.hub.approvals, self.caller.name, transport)
        in_memory = not isinstance(self.hub, str)
        # The in-memory hub's redactor knows the connectors' secrets: none of them reaches the queue.
        queue = ApprovalQueue.from_config(self.hub_config, redactor=getattr(self.hub, "redactor", None))
        if isinstance(queue.store, InProcessApprovals):
            raise ConfigError(
                "waiting for approval (--wait-for-approval, [model] wait_for_approval) needs the hub's shared "
                "state: set hub.state_url (MCP_HUB_STATE_URL) to redis://… or postgresql://…, so that "
                "`mcp-hub approvals` and the console can decide"
            )
        try:
            await queue.store.check()
        except BaseException:
            await queue.aclose()
            raise
        return Waiting(queue, AGENT_CALLER, "memory" if in_memory else "http")

    def gate(
        self, globs: Iterable[str] = (), guard: FlowGuard | None = None, session: HubSession | None = None
    ) -> Gate:
        """The checks before each write of one run (a fresh flow guard unless the app's own); over
        `session`, its approvals queue (the app's, when it waits)."""
        waiting = session.waiting if session is not None else self._waiting
        if self.waits and waiting is None:
            raise RuntimeError("the app waits for approvals: build its gates inside app.session() or app.approvals()")
        return new_gate(globs, self.ask, guard, self.verdict_log, waiting)

    def agent(
        self,
        client: ModelClient,
        session: HubSession,
        *,
        profile: Profile | None = None,
        model: str | None = None,
        max_steps: int | None = None,
        approve: Iterable[str] | None = None,
        stream: bool = False,
        on_event: EventSink | None = None,
    ) -> Agent:
        """The agent loop over `session`; `approve` globs (default `[model] approve`) approve routine writes."""
        options = AgentOptions(
            max_steps=max_steps or self.settings.max_steps,
            stream=stream,
            max_tokens=self.settings.max_tokens,
            thinking_budget=self.settings.thinking_budget,
            model=self.served_name if model is None else model,
        )
        gate = self.gate(self.settings.approve if approve is None else approve, session=session)
        return Agent(client, session, profile or self.profile, gate, options, on_event=on_event)

    def limits(self) -> dict[str, Any]:
        """The served name and token limits every workflow's options take (`ReviewOptions`, `TriageOptions`)."""
        s = self.settings
        return {"model": s.name, "max_tokens": s.max_tokens, "thinking_budget": s.thinking_budget}
