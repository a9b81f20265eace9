"""The shared database: URL resolution, migrations up and down, schema = models, constraints."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
import pytest

from lookalike import database as db

TABLES = {"campaigns", "audience_versions", "assignments", "outcomes", "costs", "contacts", "api_users", "ui_sessions",
          "erasure_log"}


def test_database_url_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("LOOKALIKE_DB_URL", "postgresql+psycopg://u@h/db")
    assert db.database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert db.database_url() == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("LOOKALIKE_DB_URL")
    monkeypatch.setenv("LOOKALIKE_HOME", str(tmp_path / "home"))
    assert db.database_url() == f"sqlite:///{(tmp_path / 'home').resolve() / 'lookalike.db'}"
    assert (tmp_path / "home").is_dir()
    monkeypatch.delenv("LOOKALIKE_HOME")
    monkeypatch.chdir(tmp_path)
    assert db.database_url() == f"sqlite:///{tmp_path.resolve() / '.lookalike' / 'lookalike.db'}"


def test_migrations_up_down_up(empty_url):
    engine = db.create_engine(empty_url)
    assert db.current_revision(engine) is None
    db.upgrade(engine)
    assert db.current_revision(engine) == "0003"
    assert TABLES <= set(sa.inspect(engine).get_table_names())
    # The frozen migration and the models describe the same schema.
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []
    db.downgrade(engine)
    assert db.current_revision(engine) is None
    assert not TABLES & set(sa.inspect(engine).get_table_names())
    db.upgrade(engine)  # and back up again on the same database
    assert TABLES <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_constraints_hold_in_the_database(engine):
    now = db.utcnow()
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(db.api_users.insert().values(name="mallory", role="admin", key_prefix="lk_abc",
                                                      key_hash="x", created_at=now))
    with engine.begin() as conn:
        conn.execute(db.api_users.insert().values(name="ana", role="viewer", key_prefix="lk_abc", key_hash="x",
                                                  created_at=now))
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(db.api_users.insert().values(name="ana", role="editor", key_prefix="lk_def",
                                                      key_hash="y", created_at=now))
    # an outcome must belong to an assigned customer of its campaign (foreign key, SQLite included)
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(db.outcomes.insert().values(campaign_id=999_999, customer_id="nobody", imported_at=now))
    with engine.begin() as conn:
        conn.execute(sa.delete(db.api_users).where(db.api_users.c.name == "ana"))


def test_bad_url_is_a_clear_error():
    with pytest.raises(db.DatabaseError, match="cannot use database URL"):
        db.open_database("nosuchdialect://x")
