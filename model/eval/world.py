"""Runtime fixtures for the tools suite: the hub the tasks run against.

`mcp-hub model eval` must not touch a user's real repositories or databases,
so it starts its own small world, with the facts `data/tools.json` asks about:

* **GitHub**: a minimal in-package fake of the four REST endpoints the tasks
  need (repository, pull requests, an issue and its comments) for
  `acme/widgets`, served by uvicorn on a free 127.0.0.1 port. The real GitHub
  connector (PyGithub) talks to it. The full, contract-checked fakes live in
  `tests/` and are not installed.
* **PostgreSQL**: a scratch database (`mcp_hub_eval_<random>`) created with
  `--database-url` (a role that may CREATE DATABASE and CREATE ROLE), seeded with `customers`
  and `orders`, and dropped afterwards. Without the option the Postgres tasks
  are skipped, and the report says so.
* **Slack**: no runtime fixture (a workspace fake is a larger thing); the Slack
  task runs in the test suite only and is reported as skipped here.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio

from mcp_hub.errors import InvalidInput
from model.eval.tools import ToolWorld

#: Not a credential: the in-package GitHub fake accepts any token.
FIXTURE_TOKEN = "eval-fixture-token"  # noqa: S105
SLACK_MISSING = "no Slack fixture outside the test suite (the task runs in mcp-hub's tests against its Slack fake)"
POSTGRES_MISSING = (
    "pass --database-url (a PostgreSQL role that may CREATE DATABASE and CREATE ROLE) to run the Postgres tasks"
)

SEED_SQL = """
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text);
CREATE TABLE orders (
    id serial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers(id),
    total numeric(10, 2) NOT NULL,
    created_at timestamptz NOT NULL
);
INSERT INTO customers (name, email) VALUES
    ('Ada Lovelace', 'ada@example.com'), ('Alan Turing', 'alan@example.com'), ('Grace Hopper', NULL);
INSERT INTO orders (customer_id, total, created_at) VALUES
    (1, 10.50, '2024-01-02 03:04:05+00'), (1, 99.99, '2024-02-01 00:00:00+00'),
    (2, 5.00, '2024-03-15 12:00:00+00'), (3, 1234.56, '2024-04-30 23:59:59+00');
"""


def build_hub(env: dict[str, str], connectors: list[str]) -> Any:
    """An in-memory hub with only `connectors` enabled, configured from `env` alone (not os.environ)."""
    from mcp_hub.config import load_config
    from mcp_hub.policy import Caller
    from mcp_hub.registry import Registry
    from mcp_hub.server import build_server, hub_policy
    from model.hub import AGENT_CALLER

    registry = Registry.discover(only=connectors)
    config = load_config(env={"MCP_HUB_TOOLSETS": "all", **env}, ecosystem_env=registry.ecosystem_env())
    return build_server(config, registry=registry, caller=Caller(AGENT_CALLER, "memory", hub_policy(config)))


# -- GitHub ------------------------------------------------------------------------------------------


def github_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def base(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}/api/v3"

    def repo_json(request: Request) -> dict[str, Any]:
        return {
            "id": 1,
            "name": "widgets",
            "full_name": "acme/widgets",
            "private": False,
            "visibility": "public",
            "owner": {"login": "acme", "type": "Organization"},
            "default_branch": "main",
            "url": f"{base(request)}/repos/acme/widgets",
        }

    def user(login: str) -> dict[str, Any]:
        return {"login": login, "id": sum(map(ord, login)), "type": "User"}

    def pull(request: Request, number: int) -> dict[str, Any]:
        return {
            "number": number,
            "title": f"Improve widgets part {number}",
            "state": "open",
            "draft": False,
            "user": user("alice"),
            "author_association": "MEMBER",
            "head": {"label": "acme:feature-x", "ref": "feature-x", "sha": "a" * 40, "repo": repo_json(request)},
            "base": {"label": "acme:main", "ref": "main", "sha": "b" * 40, "repo": repo_json(request)},
            "labels": [],
            "created_at": f"2024-05-{number:02d}T10:00:00Z",
            "updated_at": f"2024-05-{number:02d}T10:00:00Z",
            "merged_at": None,
        }

    def known(request: Request) -> bool:
        return bool(request.path_params["owner"] == "acme" and request.path_params["repo"] == "widgets")

    def not_found() -> JSONResponse:
        return JSONResponse({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, 404)

    async def get_repo(request: Request) -> JSONResponse:
        return JSONResponse(repo_json(request)) if known(request) else not_found()

    async def list_pulls(request: Request) -> JSONResponse:
        if not known(request):
            return not_found()
        state = request.query_params.get("state", "open")
        return JSONResponse([pull(request, n) for n in (5, 4, 3, 2, 1)] if state in ("open", "all") else [])

    async def get_issue(request: Request) -> JSONResponse:
        if not known(request) or request.path_params["number"] != 40:
            return not_found()
        return JSONResponse(
            {
                "number": 40,
                "title": "Crash on start",
                "body": "The app crashes on start since the last release.",
                "state": "open",
                "state_reason": None,
                "user": user("stranger"),
                "author_association": "NONE",
                "labels": [{"name": "bug"}],
                "assignees": [],
                "comments": 2,
                "created_at": "2024-05-01T09:00:00Z",
                "closed_at": None,
            }
        )

    async def issue_comments(request: Request) -> JSONResponse:
        if not known(request) or request.path_params["number"] != 40:
            return not_found()
        comments = [
            ("drive-by", "NONE", "Same here, it crashes right away."),
            ("alice", "MEMBER", "Looking into it; a missing config file causes the crash."),
        ]
        return JSONResponse(
            [
                {"id": 700 + i, "body": body, "user": user(login), "author_association": assoc}
                | {"created_at": "2024-05-02T09:00:00Z"}
                for i, (login, assoc, body) in enumerate(comments)
            ]
        )

    prefix = "/api/v3/repos/{owner}/{repo}"
    return Starlette(
        routes=[
            Route(prefix, get_repo),
            Route(prefix + "/pulls", list_pulls),
            Route(prefix + "/issues/{number:int}", get_issue),
            Route(prefix + "/issues/{number:int}/comments", issue_comments),
        ]
    )


@asynccontextmanager
async def serve_app(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app on a free 127.0.0.1 port from a worker thread; yield its base URL.

    A thread rather than a task of this loop, so that errors of the evaluation are not wrapped in an
    exception group, and the fake answers while the connector's SDK blocks its own worker thread.
    """
    import threading

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
                await anyio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await anyio.to_thread.run_sync(thread.join, 10)
        sock.close()


# -- PostgreSQL --------------------------------------------------------------------------------------


@asynccontextmanager
async def scratch_database(dsn: str) -> AsyncIterator[dict[str, str]]:
    """Create and seed a throwaway database on the server of `dsn`, and a login that may only read it (the
    hub runs a model's SQL on such a login only); yield the hub's settings for both; drop both afterwards."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = f"mcp_hub_eval_{secrets.token_hex(4)}"
    try:
        admin = await psycopg.AsyncConnection.connect(dsn, autocommit=True, connect_timeout=10)
    except (psycopg.Error, ValueError) as exc:
        raise InvalidInput(
            f"--database-url: cannot connect ({type(exc).__name__}); check the server and role"
        ) from None
    try:
        try:
            await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise InvalidInput(
                "--database-url: cannot create a scratch database "
                f"({getattr(exc, 'sqlstate', None) or type(exc).__name__}); the role needs CREATEDB"
            ) from None
        scratch = make_conninfo(dsn, dbname=name)
        reader, password = f"{name}_reader", secrets.token_hex(16)
        try:
            try:
                await admin.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(reader), sql.Literal(password))
                )
            except psycopg.Error as exc:
                raise InvalidInput(
                    "--database-url: cannot create the scratch database's read-only login "
                    f"({getattr(exc, 'sqlstate', None) or type(exc).__name__}); the role needs CREATEROLE too"
                ) from None
            async with await psycopg.AsyncConnection.connect(scratch, autocommit=True) as conn:
                await conn.execute(SEED_SQL.encode())
                await conn.execute(
                    sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(reader))
                )
            yield {
                "DATABASE_URL": scratch,
                "MCP_HUB_POSTGRES__READ_DSN": make_conninfo(scratch, user=reader, password=password),
            }
        finally:
            await admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            await admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(reader)))
    finally:
        await admin.close()


# -- the world ---------------------------------------------------------------------------------------


@asynccontextmanager
async def runtime_world(database_url: str | None) -> AsyncIterator[ToolWorld]:
    """The CLI's world: the in-package GitHub fake, a scratch database when a DSN is given, no Slack."""
    async with serve_app(github_app()) as github:
        env = {
            "GITHUB_TOKEN": FIXTURE_TOKEN,
            "GITHUB_API_URL": github + "/api/v3",
            "MCP_HUB_GITHUB__RETRY_BASE_DELAY_S": "0",
        }
        missing = {"slack": SLACK_MISSING}
        if database_url is None:
            missing["postgres"] = POSTGRES_MISSING
            yield ToolWorld(build_hub(env, ["github"]), frozenset({"github"}), missing)
            return
        async with scratch_database(database_url) as postgres:
            hub = build_hub(env | postgres, ["github", "postgres"])
            yield ToolWorld(hub, frozenset({"github", "postgres"}), missing)
