"""Registering a dataset read in place: a file in an allowed server folder, or one read-only query.

Registration is an editor's request that reaches the server's disk and databases, so it is
read-only and fenced:

* **Files** only under the folders the administrator listed in ``LOOKALIKE_DATA_DIRS`` (none by
  default: registering files is off), symlinks resolved before the check, never the workspace.
* **SQLite** databases are files too (same folders); opened with ``mode=ro`` (SQLite refuses every
  write and never creates a file), never the service's own database.
* **PostgreSQL** sessions run with ``default_transaction_read_only=on`` (set at connection, before
  the query runs; a transaction cannot switch itself back to read-write after its first query),
  never the service's own database. Other databases: export them to a file.
* **The query** is one ``SELECT`` (or ``WITH … SELECT``) statement or a table name: no ``;``
  outside strings and comments. The read-only connection is what stops writes; this check keeps
  the request what it says it is (``VACUUM INTO`` runs on a read-only SQLite connection).
* **Messages** name paths as the client gave them (relative to a data folder), never a server path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import sqlalchemy as sa

from lookalike.errors import AccessDenied, ParameterError
from lookalike.io import read_customers

__all__ = ["data_file", "read_only_url", "register_loader", "single_select"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?")
# What a SQL lexer skips over: comments, quoted strings and identifiers, dollar-quoted strings.
# Unterminated ones are left in place, so a ';' in them is seen (and refused).
_OPAQUE = re.compile(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]"
                     r"|\$([A-Za-z_][A-Za-z0-9_]*|)\$.*?\$\1\$", re.S)
# The ways a statement that starts with SELECT or WITH can still write: WITH ... INSERT/UPDATE/DELETE/MERGE,
# SELECT ... INTO a new table, SELECT ... FOR UPDATE (row locks).
_WRITES = re.compile(r"(?i)\b(insert|update|delete|merge|into)\b")
_READ_ONLY_PG = "-c default_transaction_read_only=on"
OFF = ("registering files on the server is switched off: upload the file instead, or ask the administrator "
       "to list the allowed folders in LOOKALIKE_DATA_DIRS")


def single_select(query: str) -> str:
    """``query`` if it is a table name or one SELECT/WITH statement (a final ``;`` allowed), else
    :class:`~lookalike.errors.ParameterError`.

    >>> single_select("customers"), single_select("SELECT * FROM t WHERE note = 'a;b';")
    ('customers', "SELECT * FROM t WHERE note = 'a;b';")
    >>> single_select("SELECT 1; DROP TABLE t")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    lookalike.errors.ParameterError: the query must be one SELECT statement...
    """
    text = (query or "").strip()
    if not text:
        raise ParameterError("a database source needs query: a SELECT statement or a table name")
    if not any(ch.isspace() for ch in text):  # the reader takes a word without spaces as a table name
        if not _IDENTIFIER.fullmatch(text):
            raise ParameterError(f"table name {text[:60]!r} is not a plain name (letters, digits, '_', "
                                 "one '.'); write a SELECT statement instead")
        return text
    code = _OPAQUE.sub(" ", text).strip()
    if ";" in code.rstrip(";").rstrip() or not re.match(r"(?i)\(*\s*(select|with)\b", code):
        raise ParameterError("the query must be one SELECT statement (or WITH ... SELECT): registration "
                             "only reads; give a table name or a single SELECT without ';' between statements")
    word = _WRITES.search(code)
    if word:
        raise ParameterError(f"the query contains {word.group(0).upper()}: registration only reads; "
                             "give a single SELECT statement")
    return text


def _inside(path: Path, folders: Iterable[Path]) -> bool:
    return any(path == f or path.is_relative_to(f) for f in folders)


def data_file(path: str, data_dirs: Iterable[Path], *, workspace: Path | None = None) -> Path:
    """The resolved file ``path`` names inside one of ``data_dirs`` (a relative path is taken
    relative to each folder in turn), else :class:`~lookalike.errors.AccessDenied`.

    Symlinks are resolved first, so a link inside a data folder cannot lead out of it; files of
    the ``workspace`` are refused even when a data folder contains it.
    """
    folders = [Path(d).resolve() for d in data_dirs]
    if not folders:
        raise AccessDenied(OFF)
    given = Path(path)
    shown = f"{path!r}" if not given.is_absolute() else "the path"  # never echo a server path
    candidates = [given] if given.is_absolute() else [f / given for f in folders]
    for cand in candidates:
        real = cand.resolve()
        if not _inside(real, folders):
            continue
        if workspace is not None and _inside(real, [Path(workspace).resolve()]):
            raise AccessDenied(f"{shown} is inside the service's workspace, whose files cannot be registered")
        if real.is_file():
            return real
    raise AccessDenied(f"{shown} is not a file inside the allowed data folders (LOOKALIKE_DATA_DIRS); give it "
                       "relative to a data folder, e.g. crm/export.csv, or upload the file instead")


def _same_file(a: Path, b: str | None) -> bool:
    try:
        return b is not None and os.path.samefile(a, b)
    except OSError:
        return False


def read_only_url(url: str, data_dirs: Iterable[Path], *, own_url: str, workspace: Path | None = None) -> str:
    """``url`` rewritten to open its database read-only, after the checks in the module docstring."""
    try:
        u = sa.make_url(url)
    except Exception:
        raise ParameterError("url is not a database URL; use e.g. postgresql+psycopg://user:pw@host/db "
                             "or sqlite:///crm/customers.db (a file in a data folder)") from None
    backend = u.get_backend_name()
    own = _parse(own_url)
    if backend == "sqlite":
        name = u.database or ""
        if name in ("", ":memory:") or name.startswith("file:"):
            raise ParameterError("a sqlite url must name a database file, e.g. sqlite:///crm/customers.db "
                                 "(relative to a data folder)")
        real = data_file(name, data_dirs, workspace=workspace)
        if own is not None and own.get_backend_name() == "sqlite" and _same_file(real, own.database):
            raise AccessDenied("that is the service's own database; register a customer database instead")
        # a URI filename with mode=ro: SQLite refuses writes and never creates the file
        return sa.URL.create("sqlite", database=f"file:{quote(str(real))}",
                             query={"mode": "ro", "uri": "true"}).render_as_string(hide_password=False)
    if backend == "postgresql":
        if own is not None and own.get_backend_name() == "postgresql" and \
                (u.host or "", u.port or 5432, u.database) == (own.host or "", own.port or 5432, own.database):
            raise AccessDenied("that is the service's own database; register a customer database instead")
        given = u.query.get("options", ())
        options = " ".join([given] if isinstance(given, str) else list(given))
        # ours goes last: a later -c wins, so the URL cannot switch read-only off
        return u.update_query_dict({"options": f"{options} {_READ_ONLY_PG}".strip()}).render_as_string(
            hide_password=False)
    raise ParameterError(f"registration reads SQLite and PostgreSQL databases (read-only), not {backend}; "
                         "export the customer table to a .csv or .parquet file and upload it")


def _parse(url: str | None) -> sa.URL | None:
    try:
        return sa.make_url(url) if url else None
    except Exception:
        return None


def register_loader(path: str | None, url: str | None, query: str | None, *, data_dirs: Iterable[Path],
                    own_url: str, workspace: Path | None = None) -> Callable[[], pd.DataFrame]:
    """A loader for a dataset read in place, after every check above (they run now, not in the job)."""

    if bool(path) == bool(url):
        raise ParameterError("give exactly one of path (a file in a data folder) or url (a database URL with query)")
    data_dirs = tuple(data_dirs)
    if url:
        if not query:
            raise ParameterError("a database source needs query: a SELECT statement or a table name")
        sql = single_select(query)
        ro = read_only_url(url, data_dirs, own_url=own_url, workspace=workspace)
        return lambda: read_customers(ro, query=sql)
    real = data_file(path, data_dirs, workspace=workspace)
    return lambda: read_customers(real)
