"""Audience manifests: what an audience file is, how it was made, and its checksums.

A manifest (JSON, next to the audience file) records the seeds, the parameters, the model
version and data fingerprint, the counts, :func:`audience_digest` of the ranked ids and the
SHA-256 of the files, so a list can be traced, reproduced, and refused when it was modified
(:func:`lookalike.audience.store.load_audience`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lookalike.errors import InputError, MissingColumnsError
from lookalike.io import TEXT_DTYPE, as_text, to_jsonable, write_text

__all__ = ["MANIFEST_KIND", "MANIFEST_VERSION", "audience_digest", "load_manifest", "write_manifest"]

MANIFEST_KIND = "lookalike.audience_manifest"
MANIFEST_VERSION = 1


def audience_digest(audience: pd.DataFrame) -> str:
    """SHA-256 of an audience's ``customer_id<TAB>rank`` lines (one per row, in rank order, UTF-8).

    Without a ``rank`` column the rows' order gives ranks 1..n.

    >>> d = audience_digest(pd.DataFrame({"customer_id": ["C2", "C1"], "rank": [2, 1]}))
    >>> d == hashlib.sha256(b"C1\\t1\\nC2\\t2\\n").hexdigest()
    True
    """
    if "customer_id" not in audience.columns:
        raise MissingColumnsError(["customer_id"], audience.columns, where="audience")
    if "rank" in audience.columns:
        aud = audience.sort_values("rank", kind="stable")
        rank = as_text(pd.to_numeric(aud["rank"], errors="coerce").astype("Int64"))
    else:
        aud = audience
        rank = pd.Series(np.arange(1, len(aud) + 1), index=aud.index).astype(TEXT_DTYPE)
    lines = as_text(aud["customer_id"]).fillna("") + "\t" + rank.fillna("") + "\n"
    return hashlib.sha256("".join(lines.tolist()).encode("utf-8")).hexdigest()


def write_manifest(
    path: str | Path,
    *,
    audience: pd.DataFrame,
    seeds: Iterable[str] | str | Mapping[str, Any],
    parameters: dict,
    model_version: str,
    data_fingerprint: str,
    counts: dict,
    created: str | None = None,
    files: Mapping[str, str] | None = None,
) -> Path:
    """Write an audience manifest (JSON, keys sorted, 2-space indent) atomically and return its path.

    ``files`` maps file names next to the manifest to their SHA-256, so a reader can
    refuse a modified or corrupt audience file (:func:`lookalike.audience.store.load_audience`).

    ``seeds`` is the list of seed ids, or a description (``"VIP customers"``) or a mapping
    such as ``{"description": "VIP customers", "count": 600}``. The manifest records the
    audience's size and :func:`audience_digest`, so a list can be traced and reproduced.

    >>> import tempfile, os
    >>> p = write_manifest(os.path.join(tempfile.mkdtemp(), "m.json"),
    ...                    audience=pd.DataFrame({"customer_id": ["C1"], "rank": [1]}), seeds=["C9"],
    ...                    parameters={"size": 1}, model_version="0.1.0", data_fingerprint="abc",
    ...                    counts={"audience": 1}, created="2025-01-01T00:00:00+00:00")
    >>> load_manifest(p)["seeds"]
    {'count': 1, 'ids': ['C9']}
    """
    if isinstance(seeds, str):
        seeds_entry: dict[str, Any] = {"description": seeds}
    elif isinstance(seeds, Mapping):
        seeds_entry = dict(seeds)
    else:
        ids = pd.Series(list(seeds), dtype=object)
        seeds_entry = {"ids": as_text(ids).fillna("").tolist(), "count": int(len(ids))}
    doc = {
        "kind": MANIFEST_KIND,
        "format_version": MANIFEST_VERSION,
        "created": created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "audience": {"rows": int(len(audience)), "sha256": audience_digest(audience),
                     "sha256_of": "customer_id<TAB>rank lines in rank order, UTF-8"},
        "seeds": to_jsonable(seeds_entry, "seeds"),
        "parameters": to_jsonable(parameters, "parameters"),
        "model_version": str(model_version),
        "data_fingerprint": str(data_fingerprint),
        "counts": to_jsonable(counts, "counts"),
    }
    if files:
        doc["files"] = {str(k): str(v) for k, v in files.items()}
    text = json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return write_text(path, text)


def load_manifest(path: str | Path) -> dict:
    """Read an audience manifest written by :func:`write_manifest`.

    Raises :class:`~lookalike.errors.InputError` when the file is missing, is not JSON
    or is not an audience manifest.
    """
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"cannot read manifest {p}: the file does not exist; check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read manifest {p}: {exc}; pass a manifest written by write_manifest") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{p} is not an audience manifest: not valid JSON (line {exc.lineno}); "
                         "pass a manifest written by write_manifest") from exc
    if not isinstance(doc, dict) or doc.get("kind") != MANIFEST_KIND:
        raise InputError(f"{p} is not an audience manifest (no \"kind\": \"{MANIFEST_KIND}\"); "
                         "pass a manifest written by write_manifest")
    version = doc.get("format_version")
    if not isinstance(version, int) or version > MANIFEST_VERSION:
        raise InputError(f"{p} has manifest format version {version!r}; this Lookalike reads up to "
                         f"{MANIFEST_VERSION}; upgrade Lookalike")
    return doc
