from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.pg import TestDatabase

# ---- PostgreSQL test database (tests/pg.py) ------------------------------------------------------
# Session-wide: find or start a server once, make one throwaway database with a reader role.
# tests.pg is imported inside the fixtures so that test runs without the database never load psycopg.


@pytest.fixture
def anyio_backend() -> str:
    """psycopg's async API runs on asyncio."""
    return "asyncio"


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    """A superuser DSN: MCP_HUB_TEST_DSN, 127.0.0.1:5432, a throwaway cluster or pgserver; never a skip."""
    from tests.pg import find_server

    with find_server() as dsn:
        yield dsn


@pytest.fixture(scope="session")
def pg_dsn(pg_admin_dsn: str) -> Iterator[TestDatabase]:
    """A fresh database (customers, orders) with superuser_dsn and reader_dsn; dropped at the end."""
    from tests.pg import throwaway_database

    with throwaway_database(pg_admin_dsn) as database:
        yield database


# ---- end of PostgreSQL test database -------------------------------------------------------------
