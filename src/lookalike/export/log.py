"""The export log: one JSON line per export (who, when, what, file hashes; never personal data).

Records are only appended (:func:`append_log`), never rewritten: a file rewritten later (an
erasure) gets a record of its own (:func:`log_rewrite`) whose checksums supersede the earlier ones.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["append_log", "check_log", "current_user", "log_rewrite"]


def current_user() -> str:
    """The login name of the process (``"unknown"`` when there is none), recorded as the exporting user."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers)
        return "unknown"


def check_log(path: Path) -> None:
    """Raise the ``OSError`` an append to the log at ``path`` would meet (a directory in its place,
    no permission), before anything is exported; creates the log (empty) when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8"):
        pass


def append_log(path: Path, record: dict) -> None:
    """Append ``record`` as one JSON line (keys sorted) to the log at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line)


def log_rewrite(path: str | Path, audience: str, files: Sequence[Mapping[str, Any]], *, user: str | None = None,
                reason: str = "erasure") -> None:
    """Append a record to an export log saying that exported files of ``audience`` were rewritten.

    ``files`` are ``{"file", "rows", "rows_removed", "sha256"}`` entries: the new checksums supersede
    those of the earlier export records. The record has the fields of an export record (``profile`` is
    the ``reason``) plus ``"event": reason``, and no personal data (an erasure is logged by key in the
    database's ``erasure_log``). Files already uploaded to a destination are not affected.
    """
    removed = int(sum(int(f.get("rows_removed", 0)) for f in files))
    append_log(Path(path), {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "user": user if user is not None else current_user(),
        "event": reason,
        "audience": audience,
        "profile": reason,
        "rows": int(sum(int(f.get("rows", 0)) for f in files)),
        "files": [dict(f) for f in files],
        "counts": {"rows_removed": removed},
        "warnings": [],
    })
