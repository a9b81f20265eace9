"""Service settings: where the workspace lives, the database, the session secret.

Layered explicit argument > environment > defaults, as everywhere in Lookalike:
``LOOKALIKE_HOME`` (workspace, default ``./.lookalike``), ``LOOKALIKE_DB_URL`` (users and
campaigns; default SQLite in the workspace), ``LOOKALIKE_SESSION_SECRET`` (signs the UI's
login cookie; generated once per workspace and kept in ``<home>/.session_secret`` when unset),
``LOOKALIKE_WORKERS`` (background job threads), ``LOOKALIKE_MAX_UPLOAD_MB``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from lookalike.errors import ParameterError

LANGUAGES = ("es", "en")


@dataclass(frozen=True)
class Settings:
    """Everything the app factory needs; nothing is read from globals after creation."""

    home: Path = field(default_factory=lambda: Path(os.environ.get("LOOKALIKE_HOME") or ".lookalike"))
    # repr=False: a printed or logged Settings shows neither the database password nor the session secret
    db_url: str | None = field(default_factory=lambda: os.environ.get("LOOKALIKE_DB_URL") or None, repr=False)
    session_secret: str | None = field(default_factory=lambda: os.environ.get("LOOKALIKE_SESSION_SECRET") or None,
                                       repr=False)
    workers: int = field(default_factory=lambda: int(os.environ.get("LOOKALIKE_WORKERS") or 2))
    max_upload_mb: int = field(default_factory=lambda: int(os.environ.get("LOOKALIKE_MAX_UPLOAD_MB") or 200))
    default_lang: str = field(default_factory=lambda: os.environ.get("LOOKALIKE_LANG") or "es")
    https_only: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home))
        if self.default_lang not in LANGUAGES:
            raise ParameterError(f"default_lang must be one of {', '.join(LANGUAGES)}, got {self.default_lang!r}")
        if not 1 <= int(self.workers) <= 64:
            raise ParameterError(f"workers must be between 1 and 64, got {self.workers!r}")

    def database_url(self) -> str:
        """The database URL: explicit setting, else ``LOOKALIKE_DB_URL``, else SQLite in the workspace."""
        return self.db_url or f"sqlite:///{(self.home / 'lookalike.db').resolve()}"

    def secret(self) -> str:
        """The session secret; generated and stored in the workspace (mode 0600) when not given."""
        if self.session_secret:
            return self.session_secret
        self.home.mkdir(parents=True, exist_ok=True)
        path = self.home / ".session_secret"
        if not path.is_file():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
