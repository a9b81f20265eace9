"""The Lookalike database: where campaigns, their measurements and service users live.

One SQLAlchemy ``MetaData`` holds every table; Alembic migrations shipped in
``lookalike/migrations`` create and evolve the schema. The default is an
embedded SQLite file (zero set-up); a team points ``LOOKALIKE_DB_URL`` at a
PostgreSQL server to share one store::

    engine = open_database()                 # sqlite:///./.lookalike/lookalike.db, migrated
    engine = open_database("postgresql+psycopg://user:pw@host/db")

URL resolution: explicit argument > ``LOOKALIKE_DB_URL`` > ``sqlite:///<home>/lookalike.db``
with ``<home>`` = ``LOOKALIKE_HOME`` or ``./.lookalike`` (created on demand).
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from lookalike.config.settings import Settings, private_dir
from lookalike.errors import DatabaseError, LookalikeError, ParameterError

__all__ = [
    "metadata", "campaigns", "audience_versions", "assignments", "outcomes", "costs", "contacts",
    "api_users", "ui_sessions", "erasure_log", "database_url", "open_database", "upgrade", "downgrade",
    "current_revision", "utcnow", "DatabaseError",
]

ARMS = ("treatment", "control")
ROLES = ("viewer", "editor")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only clock the store writes)."""
    return datetime.now(timezone.utc)


# Constraint names follow one convention so that migrations (and SQLite batch mode) can refer to them.
metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

_TS = sa.DateTime(timezone=True)

campaigns = sa.Table(
    "campaigns", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("channel", sa.String(50), nullable=True),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("holdout_share", sa.Double, nullable=False),
    sa.Column("stratify", sa.String(100), nullable=True),
    sa.Column("status", sa.String(20), nullable=False, server_default="draft"),
    sa.Column("created_at", _TS, nullable=False),
    sa.CheckConstraint("holdout_share > 0 AND holdout_share < 1", name="holdout_share_range"),
)

# One audience version = the audience file's manifest (JSON) and content hash, as the campaign was built from it.
audience_versions = sa.Table(
    "audience_versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("label", sa.String(100), nullable=False),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("audience_hash", sa.String(128), nullable=False),
    sa.Column("manifest", sa.Text, nullable=False),
    sa.Column("n_customers", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
)

assignments = sa.Table(
    "assignments", metadata,
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("customer_id", sa.String(100), primary_key=True),
    sa.Column("audience_version_id", sa.Integer, sa.ForeignKey("audience_versions.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("arm", sa.String(20), nullable=False),
    sa.Column("bucket", sa.Integer, nullable=False),
    sa.Column("stratum", sa.String(200), nullable=True),
    sa.CheckConstraint("arm IN ('treatment', 'control')", name="arm_valid"),
)

outcomes = sa.Table(
    "outcomes", metadata,
    sa.Column("campaign_id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(100), primary_key=True),
    sa.Column("sends", sa.Integer, nullable=False, server_default="0"),
    sa.Column("opens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("clicks", sa.Integer, nullable=False, server_default="0"),
    sa.Column("conversions", sa.Integer, nullable=False, server_default="0"),
    sa.Column("revenue", sa.Double, nullable=False, server_default="0"),
    sa.Column("imported_at", _TS, nullable=False),
    # An outcome belongs to an assigned customer of the same campaign: unknown ids cannot be stored.
    sa.ForeignKeyConstraint(["campaign_id", "customer_id"], ["assignments.campaign_id", "assignments.customer_id"],
                            ondelete="CASCADE", name="fk_outcomes_assignment"),
    sa.CheckConstraint("revenue >= 0", name="revenue_nonnegative"),
    sa.CheckConstraint("sends >= 0 AND opens >= 0 AND clicks >= 0 AND conversions >= 0", name="counts_nonnegative"),
)

costs = sa.Table(
    "costs", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("amount", sa.Double, nullable=False),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("created_at", _TS, nullable=False),
    sa.CheckConstraint("amount >= 0", name="amount_nonnegative"),
)

# One row per customer in an exported channel file (docs/campaigns.md: what counts as a contact): the
# history behind the audience options exclude_contacted_within and max_contacts. A contact outlives its
# campaign (the message was sent), so deleting a campaign keeps its rows with campaign_id NULL; a plain
# export (no campaign) names its audience.
contacts = sa.Table(
    "contacts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.String(100), nullable=False, index=True),
    sa.Column("campaign_id", sa.Integer, sa.ForeignKey("campaigns.id", ondelete="SET NULL"), nullable=True,
              index=True),
    sa.Column("audience", sa.String(200), nullable=True),
    sa.Column("channel", sa.String(50), nullable=False),
    sa.Column("contacted_at", _TS, nullable=False, index=True),
)

api_users = sa.Table(
    "api_users", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("key_prefix", sa.String(12), nullable=False, index=True),
    sa.Column("key_hash", sa.String(255), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("revoked_at", _TS, nullable=True),
    sa.CheckConstraint("role IN ('viewer', 'editor')", name="role_valid"),
)

# A UI login: the cookie holds a random session id, this table its SHA-256. Logout deletes the row;
# the row names the user's key generation (key_prefix), so a removed-and-re-added name, or a new
# key, never revives an old session (and the foreign key removes the sessions with the user's row).
ui_sessions = sa.Table(
    "ui_sessions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("api_users.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("key_prefix", sa.String(12), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("expires_at", _TS, nullable=False),
)

# customer_key is sha256 of the canonical customer id: the log proves an erasure without keeping the id.
erasure_log = sa.Table(
    "erasure_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("customer_key", sa.String(64), nullable=False, index=True),
    sa.Column("requested_at", _TS, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("details", sa.Text, nullable=True),
)


def database_url(url: str | None = None, settings: Settings | None = None) -> str:
    """The database URL to use: ``url`` > ``LOOKALIKE_DB_URL`` > the SQLite file under the Lookalike home
    (created on demand); ``settings`` default to the environment's."""
    if url:
        return url
    settings = settings or Settings()
    if not settings.db_url:
        settings.make_home()
    return settings.database_url()


def _sqlite_foreign_keys(dbapi_conn, _record) -> None:
    # SQLite ignores foreign keys (and so ON DELETE CASCADE) unless asked on every connection.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def create_engine(url: str | None = None) -> sa.Engine:
    """An engine for ``database_url(url)``, without migrating (SQLite gets foreign keys switched on)."""
    resolved = database_url(url)
    try:
        engine = sa.create_engine(resolved)
    except Exception as exc:  # bad scheme, missing driver
        raise DatabaseError(f"cannot use database URL {_safe(resolved)}: {_scrub(_first_line(exc), resolved)}; "
                            "use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB") from exc
    if engine.dialect.name == "sqlite":
        _private_sqlite_file(engine.url)
        event.listen(engine, "connect", _sqlite_foreign_keys)
    return engine


def _private_sqlite_file(url: sa.URL) -> None:
    """Create a SQLite database file that does not exist yet, mode 0600 in a 0700 folder.

    SQLite would create it itself, readable by everyone (umask 022), and fail in a folder that
    does not exist yet (``lookalike users add`` in a fresh directory). It holds API key hashes and
    campaign data. Its journal files take the database file's mode. An existing file is left as it is.
    """
    name = url.database or ""
    if name in ("", ":memory:") or name.startswith("file:") or (url.query or {}).get("mode"):
        return  # in memory, or a URI filename the caller spelled out: leave it to SQLite
    path = Path(name)
    if path.exists():
        return
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # another process created it first
        pass


def _alembic_config(engine: sa.Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    cfg.attributes["engine"] = engine
    return cfg


def _as_engine(target: sa.Engine | str | None) -> sa.Engine:
    return target if isinstance(target, sa.Engine) else create_engine(target)


def upgrade(target: sa.Engine | str | None = None, revision: str = "head") -> sa.Engine:
    """Bring the schema to ``revision`` (default the latest) and return the engine."""
    from alembic import command

    engine = _as_engine(target)
    try:
        command.upgrade(_alembic_config(engine), revision)
    except LookalikeError:
        raise
    except Exception as exc:
        raise DatabaseError(f"cannot migrate {_safe(engine.url)} to {revision}: {_first_line(exc)}; "
                            "check that the server is running and the URL is right") from exc
    return engine


def downgrade(target: sa.Engine | str | None = None, revision: str = "base") -> sa.Engine:
    """Take the schema back to ``revision`` (default: empty, every Lookalike table dropped)."""
    from alembic import command

    engine = _as_engine(target)
    try:
        command.downgrade(_alembic_config(engine), revision)
    except Exception as exc:
        raise DatabaseError(f"cannot downgrade {_safe(engine.url)} to {revision}: {_first_line(exc)}") from exc
    return engine


def current_revision(target: sa.Engine | str | None = None) -> str | None:
    """The Alembic revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    engine = _as_engine(target)
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def open_database(url: str | None = None) -> sa.Engine:
    """Open the Lookalike database at ``url`` (see :func:`database_url`), migrated to the latest schema.

    >>> import tempfile, sqlalchemy as sa
    >>> with tempfile.TemporaryDirectory() as d:
    ...     engine = open_database(f"sqlite:///{d}/t.db")
    ...     names = set(sa.inspect(engine).get_table_names())
    ...     engine.dispose()
    >>> {"campaigns", "assignments", "api_users", "erasure_log"} <= names
    True
    """
    return upgrade(create_engine(url))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:200]


def _scrub(text: str, url: object) -> str:
    """``text`` with the password of ``url`` (and each ':'/'@'-separated piece of it) replaced by ``***``.

    A URL that does not parse (e.g. an unescaped '@' in the password) ends up, in parts, inside the
    parser's own error message.

    >>> _scrub("bad port 'pw9@host:1'", "postgresql://u:s3cr@pw9@host:x/db")
    "bad port '***@host:1'"
    """
    rest = str(url).split("://", 1)[-1]
    if "@" not in rest:
        return text
    userinfo = rest.rsplit("@", 1)[0]
    secret = userinfo.split(":", 1)[1] if ":" in userinfo else ""
    # the parser may cut the password anywhere at ':' or '@': hide every piece of it
    for piece in sorted({secret, *re.split(r"[:@]", secret)}, key=len, reverse=True):
        if len(piece) >= 3:
            text = text.replace(piece, "***")
    return text


def _safe(url: object) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return sa.make_url(str(url)).render_as_string(hide_password=True)
    except Exception:
        return str(url).split("@")[-1]


def check_arm(arm: str) -> str:
    """``arm`` if it is one of :data:`ARMS`, else a :class:`ParameterError`."""
    if arm not in ARMS:
        raise ParameterError(f"arm {arm!r} is not one of {', '.join(ARMS)}")
    return arm
