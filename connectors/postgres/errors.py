"""psycopg exceptions -> the hub's error tree, at the connector boundary.

Messages are built from the server's diagnostic fields (primary message, hint,
position), never from `str(exc)` of a connection error, so a DSN or password
can never reach the client. psycopg is imported inside `translate` so that
importing this module stays free.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mcp_hub.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    HubError,
    InvalidInput,
    PolicyDenied,
    UpstreamTimeout,
    UpstreamUnavailable,
)

if TYPE_CHECKING:
    import psycopg

UNREACHABLE = (
    "the database is unreachable (connection refused, lost or timed out); try again. "
    "If it persists, check the DSN host/port and that PostgreSQL is running."
)

#: SQLSTATE classes and codes that mean the caller's SQL or parameters are wrong.
_INPUT_CLASSES = ("42", "22", "21", "2F", "0A", "54", "3F", "26", "34")
_INPUT_CODES = frozenset({"08P01"})  # protocol violation: wrong number of parameters
#: ... that mean the server or the network failed; the same call may work later.
_UNAVAILABLE_CLASSES = ("08", "53", "57P")


def translate(
    exc: BaseException, *, timeout_ms: int | None = None, position_offset: int = 0, quotable: str | None = None
) -> HubError:
    """The `HubError` to raise for `exc`.

    `timeout_ms` is quoted when a statement timed out; `position_offset` is
    subtracted from the server's error position when our own SQL was put
    before the caller's (the DECLARE prefix). `quotable`: the caller's SQL and
    parameters; the server's message may then quote only what they hold (see
    `withhold_values`).
    """
    import psycopg
    from psycopg_pool import PoolTimeout

    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, PoolTimeout):
        return UpstreamUnavailable(UNREACHABLE)
    if not isinstance(exc, psycopg.Error):
        return ConnectorError(f"unexpected {type(exc).__name__} while talking to the database")

    state = exc.sqlstate or ""
    if not state:  # raised by psycopg itself, not by the server
        if isinstance(exc, (psycopg.ProgrammingError, psycopg.DataError)):
            return InvalidInput(f"bad query parameters: {exc}")
        return connect_error(str(exc))
    text = _server_text(exc, position_offset, quotable)
    if state == "57014":
        if "statement timeout" in (exc.diag.message_primary or "") and timeout_ms is not None:
            return UpstreamTimeout(
                f"the statement ran longer than the {timeout_ms} ms limit (statement_timeout_ms) and was "
                "cancelled. Narrow it: add selective WHERE conditions or a LIMIT, aggregate in SQL, or EXPLAIN "
                "it to find slow scans."
            )
        return UpstreamTimeout(f"the statement was cancelled on the server ({text}); try again.")
    if state == "55P03":
        return UpstreamTimeout(f"{text}: a table is locked by another session; try again later.")
    if state == "25006":
        return PolicyDenied(f"refused in read-only mode: {text}. This tool only runs SELECT, EXPLAIN and SHOW.")
    if state == "42501" or state.startswith("28"):
        return AuthError(
            f"{text}. The hub's database role lacks this privilege: query objects it can read, "
            "or ask an administrator for access."
        )
    if state in _INPUT_CODES:
        return InvalidInput(f"{text}: pass one value in params for each $n placeholder in the SQL.")
    if state.startswith(_INPUT_CLASSES):
        return InvalidInput(text)
    if state.startswith(_UNAVAILABLE_CLASSES):
        return UpstreamUnavailable(f"{text}. {UNREACHABLE}")
    if state.startswith("40"):
        return ConnectorError(f"{text} (SQLSTATE {state}): a transient conflict; try again.")
    return ConnectorError(f"database error {state}: {text}")


#: (pattern in libpq's connection message, error class, message: `{0}` is the pattern's first group).
#: Only these fragments are ever quoted: the rest of libpq's text (host, port, socket path) is not.
_CONNECT_CAUSES: tuple[tuple[re.Pattern[str], type[HubError], str], ...] = (
    (
        re.compile(r'database "([^"]{1,128})" does not exist'),
        ConfigError,
        'database "{0}" does not exist on the server: check the database name in the DSN, or create it',
    ),
    (
        re.compile(r'role "([^"]{1,128})" does not exist'),
        AuthError,
        'role "{0}" does not exist on the server: check the user name in the DSN',
    ),
    (
        re.compile(r'authentication failed for user "([^"]{1,128})"'),
        AuthError,
        'authentication failed for user "{0}": check the password (or the server\'s pg_hba.conf)',
    ),
    (
        re.compile(r"(no password supplied|fe_sendauth|pg_hba\.conf rejects|no pg_hba\.conf entry)"),
        AuthError,
        "authentication failed ({0}): the server wants other credentials for this user or host",
    ),
    (
        re.compile(r"(failed to resolve host|could not translate host name)"),
        UpstreamUnavailable,
        "the database host name does not resolve: check the host in the DSN",
    ),
    (
        re.compile(r"(SSL|certificate)"),
        UpstreamUnavailable,
        "the TLS handshake with the database failed: check sslmode, sslrootcert and the server's certificate",
    ),
    (
        re.compile(r"(too many clients|too many connections|starting up|shutting down|in recovery)"),
        UpstreamUnavailable,
        "the database server refused new connections for now ({0}); try again shortly",
    ),
    (
        re.compile(r"(Connection refused|No such file or directory)"),
        UpstreamUnavailable,
        "the database is unreachable: nothing listens at the DSN's host and port (or socket); "
        "start PostgreSQL or fix the DSN, then try again",
    ),
)


def connect_error(text: str) -> HubError:
    """The error for a failed connection, from libpq's message: its cause named (the database or role
    that does not exist, failed authentication, an unreachable server), a retry advised only where one
    can help, and nothing else of the message (host, port, socket) quoted."""
    for pattern, kind, message in _CONNECT_CAUSES:
        found = pattern.search(text)
        if found:
            return kind(message.format(*found.groups()))
    return UpstreamUnavailable(UNREACHABLE)


def _server_text(exc: psycopg.Error, position_offset: int, quotable: str | None = None) -> str:
    diag = exc.diag
    text = diag.message_primary or "unknown error"
    if quotable is not None:
        text = withhold_values(text, quotable)
    position = int(diag.statement_position or 0) - position_offset
    if position > 0:
        text += f" (at character {position})"
    if diag.message_hint:
        hint = diag.message_hint
        text += f". Hint: {hint if quotable is None else withhold_values(hint, quotable, names=True)}"
    return text


_QUOTED = re.compile(r'"([^"]*)"')
WITHHELD = '"…" (a value the SQL does not hold is withheld)'


#: A hint quotes catalog names (`Perhaps you meant to reference the column "users.email"`), not values.
_NAME = re.compile(r"[a-z_][a-z0-9_$]{0,62}(\.[a-z_][a-z0-9_$]{0,62}){0,2}")


def withhold_values(text: str, quotable: str, *, names: bool = False) -> str:
    """`text` cut at the first quoted part that `quotable` (the SQL and parameters) does not hold.

    The server quotes identifiers (`column "emial" does not exist`), which the SQL holds, but also
    values read from the database (`invalid input syntax for type integer: "<a masked email>"`,
    `relation "<a value>" does not exist` from `::regclass`): those would escape column masking and
    outsider marking. A quoted part passes when each of its dot-separated parts is in `quotable`
    (case aside), or, with `names` (hints), when it is shaped like a lower-case name. An unpaired
    quote (a value holding quotes) cuts the text there too.
    """
    if '"' not in text:
        return text
    known = quotable.lower()
    end = 0
    for found in _QUOTED.finditer(text):
        segment = found.group(1)
        held = bool(segment) and all(part and part.lower() in known for part in segment.split("."))
        if not (held or (names and _NAME.fullmatch(segment))):
            return text[: found.start()] + WITHHELD
        end = found.end()
    if '"' in text[end:]:  # between pairs the scan leaves no quote; after the last pair it may
        return text[: text.index('"', end)] + WITHHELD
    return text
