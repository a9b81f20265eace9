"""Settings: every ``LOOKALIKE_*`` environment variable, read in this one place.

=========================== ====================================== ============================================
variable                    default                                meaning
=========================== ====================================== ============================================
``LOOKALIKE_HOME``          ``./.lookalike``                       the workspace: datasets, models, audiences,
                                                                   exports, the default SQLite database
``LOOKALIKE_DB_URL``        SQLite file ``<home>/lookalike.db``    users and campaigns (``postgresql+psycopg://…``
                                                                   to share one store)
``LOOKALIKE_CACHE_DIR``     ``<home>/cache``                       clean tables of unchanged raw files (inside
                                                                   the workspace, so ``forget`` erases them too)
``LOOKALIKE_SESSION_SECRET`` generated once, ``<home>/.session_secret`` signs the UI's login cookie
``LOOKALIKE_WORKERS``       ``2``                                  background job threads of the service
``LOOKALIKE_MAX_UPLOAD_MB`` ``200``                                largest upload the service takes
``LOOKALIKE_MAX_XLSX_ROWS`` ``2000000``                            most rows of a workbook sheet (checked before
                                                                   it is parsed: a zip bomb is refused)
``LOOKALIKE_MAX_XLSX_COLUMNS`` ``16384``                           most columns of a workbook sheet
``LOOKALIKE_MAX_XLSX_MB``   ``4096``                               most MiB of XML a workbook sheet expands to
``LOOKALIKE_MAX_BODY_KB``   ``1024``                               largest request body of every other route
``LOOKALIKE_DATA_DIRS``     unset (registration of server files    folders (``:``-separated) whose files and
                            is off)                                SQLite databases editors may register
``LOOKALIKE_HTTPS_ONLY``    unset                                  set: the login cookie is ``Secure`` (serve
                                                                   the UI over HTTPS only)
``LOOKALIKE_LANG``          ``es``                                 UI language when the browser asks for neither
``LOOKALIKE_DEBUG``         unset                                  set: the CLI shows tracebacks of unexpected
                                                                   failures
=========================== ====================================== ============================================

Layered as everywhere in Lookalike: explicit argument > environment > default. An entry point
(a CLI command, the app factory) builds one :class:`Settings` and passes it down; nothing reads
the environment after that, and library functions that are given no settings build their own.

>>> s = Settings(home="/tmp/lk", db_url=None, cache_dir="/tmp/lk-cache")
>>> s.database_url()
'sqlite:////tmp/lk/lookalike.db'
>>> from dataclasses import fields
>>> sorted(ENV_VARS) == sorted(f.metadata["env"] for f in fields(Settings) if "env" in f.metadata)
True
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from lookalike.errors import ParameterError

LANGUAGES = ("es", "en")

#: The environment variables Lookalike reads, and what for (the table above, as data).
ENV_VARS = {
    "LOOKALIKE_HOME": "workspace directory (default ./.lookalike)",
    "LOOKALIKE_DB_URL": "database URL for users and campaigns (default SQLite in the workspace)",
    "LOOKALIKE_CACHE_DIR": "clean-table cache (default <home>/cache)",
    "LOOKALIKE_SESSION_SECRET": "signs the UI's login cookie (default generated once per workspace)",
    "LOOKALIKE_WORKERS": "background job threads of the service (default 2)",
    "LOOKALIKE_MAX_UPLOAD_MB": "largest upload the service takes (default 200)",
    "LOOKALIKE_MAX_XLSX_ROWS": "most rows of a workbook sheet, checked before parsing (default 2000000)",
    "LOOKALIKE_MAX_XLSX_COLUMNS": "most columns of a workbook sheet (default 16384)",
    "LOOKALIKE_MAX_XLSX_MB": "most MiB of XML a workbook sheet may expand to (default 4096)",
    "LOOKALIKE_MAX_BODY_KB": "largest request body of every route but uploads (default 1024)",
    "LOOKALIKE_DATA_DIRS": "folders (os.pathsep-separated) whose files editors may register (default none)",
    "LOOKALIKE_HTTPS_ONLY": "any value: the UI's login cookie is Secure (HTTPS only)",
    "LOOKALIKE_LANG": "UI language when the browser asks for neither Spanish nor English (default es)",
    "LOOKALIKE_DEBUG": "any value: the CLI shows the traceback of an unexpected failure",
}


def _env(name: str) -> str | None:
    """The variable's value without surrounding spaces; unset and blank are both None."""
    return (os.environ.get(name) or "").strip() or None


def _int_env(name: str, default: int) -> int:
    text = _env(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise ParameterError(f"{name} must be a whole number, got {text!r}; fix or unset it") from None


def _paths_env(name: str) -> tuple[Path, ...]:
    return tuple(Path(p.strip()) for p in (_env(name) or "").split(os.pathsep) if p.strip())


def _setting(env: str, factory, *, shown: bool = True):
    return field(default_factory=factory, repr=shown, metadata={"env": env})


@dataclass(frozen=True)
class Settings:
    """Where the workspace, database and cache are, and how the service runs.

    Every field not given is read from its environment variable when the object is built.
    """

    home: Path = _setting("LOOKALIKE_HOME", lambda: Path(_env("LOOKALIKE_HOME") or ".lookalike"))
    # repr=False: a printed or logged Settings shows neither the database password nor the session secret
    db_url: str | None = _setting("LOOKALIKE_DB_URL", lambda: _env("LOOKALIKE_DB_URL"), shown=False)
    # None: <home>/cache, inside the workspace, so erasure reaches it without being told
    cache_dir: Path | None = _setting("LOOKALIKE_CACHE_DIR",
                                      lambda: Path(c) if (c := _env("LOOKALIKE_CACHE_DIR")) else None)
    session_secret: str | None = _setting("LOOKALIKE_SESSION_SECRET", lambda: _env("LOOKALIKE_SESSION_SECRET"),
                                          shown=False)
    workers: int = _setting("LOOKALIKE_WORKERS", lambda: _int_env("LOOKALIKE_WORKERS", 2))
    max_upload_mb: int = _setting("LOOKALIKE_MAX_UPLOAD_MB", lambda: _int_env("LOOKALIKE_MAX_UPLOAD_MB", 200))
    # a 558 KB xlsx can hold 2M rows: limits checked on the zip's directory and sheet XML before parsing
    max_xlsx_rows: int = _setting("LOOKALIKE_MAX_XLSX_ROWS", lambda: _int_env("LOOKALIKE_MAX_XLSX_ROWS", 2_000_000))
    max_xlsx_columns: int = _setting("LOOKALIKE_MAX_XLSX_COLUMNS",
                                     lambda: _int_env("LOOKALIKE_MAX_XLSX_COLUMNS", 16_384))
    max_xlsx_mb: int = _setting("LOOKALIKE_MAX_XLSX_MB", lambda: _int_env("LOOKALIKE_MAX_XLSX_MB", 4096))
    default_lang: str = _setting("LOOKALIKE_LANG", lambda: _env("LOOKALIKE_LANG") or "es")
    debug: bool = _setting("LOOKALIKE_DEBUG", lambda: bool(os.environ.get("LOOKALIKE_DEBUG")))
    max_body_kb: int = _setting("LOOKALIKE_MAX_BODY_KB", lambda: _int_env("LOOKALIKE_MAX_BODY_KB", 1024))
    # none by default: registering a server file is an administrator's decision, not an editor's
    data_dirs: tuple[Path, ...] = _setting("LOOKALIKE_DATA_DIRS", lambda: _paths_env("LOOKALIKE_DATA_DIRS"))
    https_only: bool = _setting("LOOKALIKE_HTTPS_ONLY", lambda: bool(os.environ.get("LOOKALIKE_HTTPS_ONLY")))

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home))
        object.__setattr__(self, "cache_dir", Path(self.cache_dir) if self.cache_dir is not None
                           else self.home / "cache")
        object.__setattr__(self, "data_dirs", tuple(Path(p) for p in self.data_dirs))

    def with_home(self, home: str | os.PathLike[str] | None) -> "Settings":
        """The same settings on another workspace (the default cache moves with it; a configured one stays)."""
        if home is None:
            return self
        default_cache = self.cache_dir == self.home / "cache"
        return dataclasses.replace(self, home=Path(home), cache_dir=None if default_cache else self.cache_dir)

    def check_service(self) -> "Settings":
        """``self`` when the service settings are usable, else ``ParameterError`` (the CLI ignores them)."""
        if self.default_lang not in LANGUAGES:
            raise ParameterError(f"default_lang must be one of {', '.join(LANGUAGES)}, got {self.default_lang!r}")
        if not 1 <= int(self.workers) <= 64:
            raise ParameterError(f"workers must be between 1 and 64, got {self.workers!r}")
        for name in ("max_upload_mb", "max_body_kb"):
            if int(getattr(self, name)) < 1:
                raise ParameterError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        return self

    def database_url(self) -> str:
        """The database URL: explicit setting, else ``LOOKALIKE_DB_URL``, else SQLite in the workspace."""
        return self.db_url or f"sqlite:///{(self.home / 'lookalike.db').resolve()}"

    def make_home(self) -> Path:
        """The workspace directory, created (mode 0700: it holds customer data and secrets) if missing."""
        return private_dir(self.home)

    def secret(self) -> str:
        """The session secret; generated and stored in the workspace (mode 0600) when not given."""
        if self.session_secret:
            return self.session_secret
        self.make_home()
        path = self.home / ".session_secret"
        if not path.is_file():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


def private_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a directory, created with mode 0700 (and missing parents) when it does not exist.

    An existing directory keeps its mode: the administrator may have chosen to share it.
    """
    path = Path(path)
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)  # mkdir's mode passes through the umask; make it exact
    return path


__all__ = ["ENV_VARS", "LANGUAGES", "Settings", "private_dir"]
