"""Service users and their API keys, stored in the ``api_users`` table of :mod:`lookalike.database`.

A key is ``lk_<prefix>_<secret>``: ``prefix`` (8 random characters) is stored in clear to find
the row, and only ``sha256(key)`` is stored; the key itself is shown once, when it is made.
The secret has 256 bits of entropy (``secrets.token_urlsafe(32)``), so one unsalted SHA-256 is
enough (a slow password hash protects low-entropy human passwords, not random tokens), and the
comparison uses :func:`hmac.compare_digest` so its time does not leak the hash.

A UI login is a server-side session (:func:`start_session`): the cookie carries a random id, the
``ui_sessions`` table its SHA-256, the user's row id and key prefix. Logout deletes the row; a new key
or a removed user ends the session (:func:`session_user` joins on the active key).

Roles: ``viewer`` reads (datasets, quality, lookalikes, audiences, campaign results);
``editor`` also builds, exports and runs.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from lookalike.database import api_users, ui_sessions, utcnow
from lookalike.errors import ParameterError

ROLES = ("viewer", "editor")
_RANK = {"viewer": 1, "editor": 2}
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
_KEY = re.compile(r"^lk_([A-Za-z0-9]{8})_([A-Za-z0-9_-]{20,100})$")
#: How long a UI login lasts (the cookie's max age is the same).
SESSION_HOURS = 8


@dataclass(frozen=True)
class User:
    """An authenticated (or listed) service user."""

    name: str
    role: str
    created_at: datetime | None = None
    revoked_at: datetime | None = None
    key_prefix: str = ""

    def can(self, role: str) -> bool:
        """True when this user's role includes ``role`` (editor includes viewer)."""
        return _RANK.get(self.role, 0) >= _RANK[role]


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _table():
    return api_users


def check_role(role: str) -> str:
    """``role`` if it is viewer or editor, else ``ParameterError``."""
    if role not in ROLES:
        raise ParameterError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def add_user(engine: sa.Engine, name: str, role: str = "viewer") -> tuple[User, str]:
    """Create a user and return it with its API key (shown once: only its hash is stored)."""

    if not isinstance(name, str) or not _USER_NAME.fullmatch(name):
        raise ParameterError(f"user name {name!r} is not allowed: use letters, digits, '.', '_', '@' or '-'")
    check_role(role)
    t = _table()
    prefix = "".join(secrets.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
    key = f"lk_{prefix}_{secrets.token_urlsafe(32)}"
    now = utcnow()
    with engine.begin() as conn:
        existing = conn.execute(sa.select(t.c.id, t.c.revoked_at).where(t.c.name == name)).first()
        if existing is not None and existing.revoked_at is None:
            raise ParameterError(f"user {name!r} already exists; remove it first (lookalike users remove {name}) "
                                 "to issue a new key")
        if existing is not None:  # a removed user's name is reused: the old row (and key) goes
            conn.execute(sa.delete(t).where(t.c.id == existing.id))
        conn.execute(sa.insert(t).values(name=name, role=role, key_prefix=prefix, key_hash=_hash(key),
                                         created_at=now, revoked_at=None))
    return User(name=name, role=role, created_at=now, key_prefix=prefix), key


def remove_user(engine: sa.Engine, name: str) -> bool:
    """Revoke a user's key (the row stays, with ``revoked_at``, for the audit trail); False if unknown."""

    t = _table()
    with engine.begin() as conn:
        res = conn.execute(sa.update(t).where(t.c.name == name, t.c.revoked_at.is_(None)).values(revoked_at=utcnow()))
    return res.rowcount > 0


def list_users(engine: sa.Engine, *, include_revoked: bool = False) -> list[User]:
    """Users by name (never their keys or hashes)."""
    t = _table()
    q = sa.select(t.c.name, t.c.role, t.c.created_at, t.c.revoked_at, t.c.key_prefix).order_by(t.c.name)
    if not include_revoked:
        q = q.where(t.c.revoked_at.is_(None))
    with engine.connect() as conn:
        return [User(r.name, r.role, r.created_at, r.revoked_at, r.key_prefix) for r in conn.execute(q)]


def authenticate(engine: sa.Engine, key: str | None) -> User | None:
    """The active user holding ``key``, or None (malformed, unknown or revoked keys alike)."""
    if not key:
        return None
    m = _KEY.fullmatch(key.strip())
    if m is None:
        return None
    t = _table()
    digest = _hash(key.strip())
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.name, t.c.role, t.c.key_hash, t.c.created_at)
                            .where(t.c.key_prefix == m.group(1), t.c.revoked_at.is_(None))).all()
    for r in rows:
        if hmac.compare_digest(r.key_hash, digest):
            return User(r.name, r.role, r.created_at, key_prefix=m.group(1))
    return None


def key_prefix(key: str | None) -> str | None:
    """The prefix of a well-formed key (it names the user's key without revealing it), else None."""
    m = _KEY.fullmatch((key or "").strip())
    return m.group(1) if m else None


def start_session(engine: sa.Engine, user: User) -> str:
    """Record a UI login for ``user`` (by their current key) and return its session id for the cookie.

    Expired sessions of every user are purged on the way (a login is rare enough to pay for it).
    """

    t = _table()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(sa.select(t.c.id).where(t.c.name == user.name, t.c.key_prefix == user.key_prefix,
                                                   t.c.revoked_at.is_(None))).first()
        if row is None:
            raise ParameterError(f"user {user.name!r} has no active key; log in again")
        conn.execute(sa.delete(ui_sessions).where(ui_sessions.c.expires_at <= now))
        conn.execute(sa.insert(ui_sessions).values(token_hash=_hash(token), user_id=row.id,
                                                   key_prefix=user.key_prefix, created_at=now,
                                                   expires_at=now + timedelta(hours=SESSION_HOURS)))
    return token


def session_user(engine: sa.Engine, token: str | None) -> User | None:
    """The user of a live UI session: not logged out, not expired, and their key still the one it began with."""

    if not token or not isinstance(token, str):
        return None
    t, s = _table(), ui_sessions
    q = (sa.select(t.c.name, t.c.role, t.c.created_at, t.c.key_prefix)
         .select_from(s.join(t, t.c.id == s.c.user_id))
         .where(s.c.token_hash == _hash(token), s.c.expires_at > utcnow(), s.c.key_prefix == t.c.key_prefix,
                t.c.revoked_at.is_(None)))
    with engine.connect() as conn:
        r = conn.execute(q).first()
    return User(r.name, r.role, r.created_at, key_prefix=r.key_prefix) if r else None


def end_session(engine: sa.Engine, token: str | None) -> None:
    """Revoke a UI session on the server: a copy of its cookie no longer logs anyone in."""

    if token and isinstance(token, str):
        with engine.begin() as conn:
            conn.execute(sa.delete(ui_sessions).where(ui_sessions.c.token_hash == _hash(token)))
