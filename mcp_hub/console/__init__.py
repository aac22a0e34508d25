"""The web console at /console: approvals, audit search, health, catalog, definition changes.

Served by `mcp-hub serve --transport http` when `hub.console = true` (or `--console`), inside the HTTP
guard (`mcp_hub.http`): the guard's Host and Origin checks apply, and the console authenticates with
the guard's own token and OIDC code (`session.py` says how a browser logs in, and how CSRF is stopped).
Pages are rendered on the server with Jinja2, autoescaped by construction (`templates/`), with one
stylesheet and no script; every response carries a strict Content-Security-Policy. Who may approve is
`hub.console_approvers` (caller-name globs). Every console action is written to the audit log as
tool `console.<action>` with transport `console`.
"""

from typing import Any

from mcp_hub.errors import ConfigError
from mcp_hub.install import install_hint


def build_console(server: Any, config: Any, guard: Any, queue: Any = None) -> Any:
    """The console's ASGI app (`app.build_console`); a clear error when its extra is not installed."""
    try:
        import jinja2  # noqa: F401
    except ImportError:
        raise ConfigError(f"hub.console needs Jinja2: {install_hint('console')} (or the server extra)") from None
    from mcp_hub.console.app import build_console as build

    return build(server, config, guard, queue)


__all__ = ["build_console"]
