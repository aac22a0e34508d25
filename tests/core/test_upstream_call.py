"""The kit's call path, status table, Retry-After parser, settings, page model and outsider gate."""

from __future__ import annotations

import logging
import time
from email.utils import formatdate

import pytest

from mcp_hub.errors import (
    AuthError,
    ConnectorError,
    HubError,
    InternalError,
    InvalidInput,
    NotFound,
    PolicyDenied,
    RateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mcp_hub.state import InProcessState, RateBudget
from mcp_hub.upstream import OutsiderGate, Page, Upstream, UpstreamSettings, error_for_status, parse_retry_after
from mcp_hub.upstream.statuses import kind_for_status, reset_wait

pytestmark = pytest.mark.anyio


class SdkTimeout(Exception):
    """Stands for an SDK's own exception type that the connector's translator knows."""


def translate(exc: BaseException, what: str) -> HubError | None:
    if isinstance(exc, SdkTimeout):
        return UpstreamTimeout(f"no answer about {what}")
    return None


def upstream(**settings: float) -> Upstream:
    return Upstream("Svc", UpstreamSettings(retry_base_delay_s=0, **settings), translate=translate)  # type: ignore[arg-type]


async def test_an_unknown_exception_is_the_hubs_bug_with_an_incident(caplog: pytest.LogCaptureFixture) -> None:
    def buggy() -> None:
        raise KeyError("head")

    with caplog.at_level(logging.ERROR, logger="mcp_hub.upstream.call"), pytest.raises(InternalError) as raised:
        await upstream().run(buggy, what="pull request o/r#1", idempotent=True)
    error = raised.value
    assert error.kind == "internal" and not isinstance(error, ConnectorError)
    assert error.incident in error.message and "not in Svc" in error.message
    record = next(r for r in caplog.records if error.incident in r.getMessage())
    logged = logging.Formatter().format(record)  # (the hub's redacting filter may have folded it into the message)
    assert "Traceback" in logged and 'raise KeyError("head")' in logged  # the traceback is in the log


async def test_known_errors_are_translated_and_retried_when_idempotent() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise SdkTimeout
        return "ok"

    assert await upstream(retry_attempts=3).run(flaky, what="x", idempotent=True) == "ok"
    calls.clear()
    with pytest.raises(UpstreamTimeout):
        await upstream(retry_attempts=3).run(flaky, what="x", idempotent=False)
    assert len(calls) == 1  # a write that timed out is not sent again


async def test_hub_errors_pass_unchanged_and_are_not_retried() -> None:
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise PolicyDenied("outside scope")

    with pytest.raises(PolicyDenied):
        await upstream().run(refused, what="x", idempotent=True)
    assert calls == [1]


async def test_a_used_up_budget_sends_nothing() -> None:
    budget = RateBudget(InProcessState(), "ratelimit:svc:k")
    await budget.block(time.time() + 3600, "used up")
    sent: list[int] = []
    up = Upstream("Svc", UpstreamSettings(), translate=translate, budget=budget)
    with pytest.raises(RateLimited):
        await up.run(lambda: sent.append(1), what="x", idempotent=True)
    assert sent == []


async def test_async_calls_take_the_same_path() -> None:
    async def call() -> None:
        raise ZeroDivisionError

    with pytest.raises(InternalError):
        await upstream().run_async(call, what="x", idempotent=True)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, InvalidInput),
        (401, AuthError),
        (403, AuthError),
        (404, NotFound),
        (405, InvalidInput),
        (409, InvalidInput),
        (410, NotFound),
        (422, InvalidInput),
        (429, RateLimited),
        (500, UpstreamUnavailable),
        (502, UpstreamUnavailable),
        (504, UpstreamTimeout),
        (418, ConnectorError),
    ],
)
def test_one_status_one_kind(status: int, kind: type[HubError]) -> None:
    assert kind_for_status(status) is kind
    error = error_for_status(status, service="Svc", what="thing t", detail="Because", retry_after=5)
    assert type(error) is kind
    if kind is not RateLimited and status != 401:
        assert "thing t" in error.message and "Because" in error.message


def test_retry_after_seconds_dates_and_garbage() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30.0)
    for bad in (None, "", "soon", "nan", "inf", "Wed, 99 Foo 2024"):
        assert parse_retry_after(bad) is None
    assert reset_wait(str(int(now + 10)), now=now) == 10.0
    assert reset_wait("x") is None


def test_settings_share_one_default_and_build_the_policy() -> None:
    settings = UpstreamSettings(retry_attempts=5, retry_base_delay_s=0.25, ca_bundle="/ca.pem", proxy="http://p:3128")
    assert UpstreamSettings().timeout_s == 30.0
    assert settings.retry_policy().attempts == 5 and settings.retry_policy().max_delay == 4.0
    assert settings.verify() == "/ca.pem"
    assert settings.proxies() == {"http": "http://p:3128", "https": "http://p:3128"}
    assert "p:3128" not in repr(settings)


def test_a_page_with_a_next_cursor_is_truncated() -> None:
    assert Page(next_cursor="abc").truncated is True
    assert Page().truncated is False
    assert Page(truncated=True).truncated is True


def test_the_outsider_gate_cleans_or_withholds() -> None:
    gate = OutsiderGate(lockdown=False)
    assert gate.keep("hi <!-- do evil -->", outsider=False) == "hi <!-- do evil -->"
    assert not gate.outsider_seen
    assert gate.keep("hi <!-- do evil -->", outsider=True) == "hi [hidden comment: do evil]"
    assert gate.outsider_seen
    locked = OutsiderGate(lockdown=True, withheld="[withheld]")
    assert locked.keep("anything", outsider=True) == "[withheld]" and locked.withheld == 1
    assert not locked.outsider_seen
