"""Database fixtures: every store test runs on SQLite and on the PostgreSQL server `make test` starts.

PostgreSQL comes from ``LOOKALIKE_TEST_PG_URL`` (set by ``make test``). Each test session works in
its own schema so that parallel runs (and the other suites sharing the server) never collide.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from lookalike import database as db

# the PostgreSQL half is marked, so `make check` (no servers) can leave it out; `make test` runs both
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pg_url() -> str:
    url = os.environ.get("LOOKALIKE_TEST_PG_URL", "").strip()
    if not url:
        pytest.fail("LOOKALIKE_TEST_PG_URL is not set: the campaign store is tested against a real PostgreSQL "
                    "server. Run `make test` (it installs and starts one: `make postgres`), or export "
                    "LOOKALIKE_TEST_PG_URL=postgresql+psycopg://USER@HOST:PORT/DB", pytrace=False)
    return url


def fresh_url(backend: str, tmp_path_factory) -> str:
    """A URL of an empty database: a new SQLite file, or a new PostgreSQL schema (via search_path)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'lookalike.db'}"
    base = pg_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


def drop_schema(url: str) -> None:
    u = sa.make_url(url)
    if u.get_backend_name() != "postgresql":
        return
    schema = u.query["options"].split("=", 1)[1]
    admin = sa.create_engine(u.difference_update_query(["options"]))
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request, tmp_path_factory):
    """A migrated Lookalike database (session-wide; tests use unique campaign names)."""
    url = fresh_url(request.param, tmp_path_factory)
    eng = db.open_database(url)
    yield eng
    eng.dispose()
    drop_schema(url)


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path_factory):
    """The URL of an empty, unmigrated database (for migration tests)."""
    url = fresh_url(request.param, tmp_path_factory)
    yield url
    drop_schema(url)


def unique(prefix: str = "c") -> str:
    """A campaign name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
