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

__all__ = ["MANIFEST_KIND", "MANIFEST_VERSION", "MEMBER_COLUMNS", "audience_digest", "check_members", "load_manifest",
           "members_fingerprint", "write_manifest"]

MANIFEST_KIND = "lookalike.audience_manifest"
MANIFEST_VERSION = 1
#: The columns an export takes from the customer data: whom to contact, how, and with which consent.
#: :func:`members_fingerprint` covers them for the audience's members.
MEMBER_COLUMNS = ("email", "phone", "first_name", "last_name", "country", "zip", "promo_channel",
                  "consent_email", "consent_sms", "consent_push", "consent_ads")


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


def members_fingerprint(customers: pd.DataFrame, ids: Iterable[object],
                        columns: Iterable[str] | None = None) -> dict:
    """SHA-256 of the audience members' rows in ``customers``: id and the :data:`MEMBER_COLUMNS` present.

    Recorded in the manifest when the audience is built, and computed again at export time on the
    data the export is given (:func:`check_members`): another dataset (other people under the same
    ids, other contacts or consents) gives another digest. Values are hashed as text, in id order,
    so the digest does not depend on how the table was stored (parquet, model, raw export cleaned
    again). ``missing``: members that are not in ``customers``.

    >>> c = pd.DataFrame({"customer_id": ["C1", "C2"], "email": ["a@x.es", "b@x.es"]})
    >>> fp = members_fingerprint(c, ["C2", "C1"])
    >>> fp["columns"], fp["missing"], fp == members_fingerprint(c.iloc[::-1], ["C1", "C2"])
    (['email'], 0, True)
    """
    if "customer_id" not in customers.columns:
        raise MissingColumnsError(["customer_id"], customers.columns, where="customers")
    cols = [c for c in (MEMBER_COLUMNS if columns is None else columns) if c in customers.columns]
    wanted = pd.Index(as_text(pd.Series(list(ids), dtype=object)).dropna().unique()).sort_values()
    table = customers.set_index(as_text(customers["customer_id"]))
    table = table[~table.index.duplicated()]
    rows = table.reindex(wanted)
    lines = pd.Series(wanted, index=wanted, dtype=TEXT_DTYPE)
    for c in cols:  # column by column, vectorized; a missing value is NUL, never the text "nan"
        lines = lines + "\x1f" + as_text(rows[c]).fillna("\x00")
    lines = lines + "\n"
    digest = hashlib.sha256("".join(lines.tolist()).encode("utf-8")).hexdigest()
    return {"columns": cols, "sha256": digest, "members": int(len(wanted)),
            "missing": int((~wanted.isin(table.index)).sum())}


def check_members(manifest: Mapping | None, audience: pd.DataFrame, customers: pd.DataFrame, *,
                  allow_other_data: bool = False, where: str = "the audience") -> list[str]:
    """Refuse to export an audience with other data than it was built from; returns warnings.

    Compares :func:`members_fingerprint` of the audience's members in ``customers`` with the one in
    ``manifest``. A mismatch raises :class:`~lookalike.errors.InputError` (contact data of other
    people would be attached to the audience's ids) unless ``allow_other_data``, which turns it
    into a warning. Members missing from ``customers`` are a warning either way. No manifest (a
    hand-made list) or one without a fingerprint (older audiences) cannot be checked: a warning
    says so.
    """
    recorded = manifest.get("members_fingerprint") if isinstance(manifest, Mapping) else None
    warnings: list[str] = []
    if not isinstance(recorded, Mapping) or "sha256" not in recorded:
        why = "no manifest" if manifest is None else "no data fingerprint (built by an older Lookalike)"
        warnings.append(f"{where} has {why}: cannot check that the data given is the data it was built from; "
                        "rebuild the audience to have it checked")
        now = members_fingerprint(customers, audience["customer_id"])
    else:
        now = members_fingerprint(customers, audience["customer_id"], recorded.get("columns"))
        if now["sha256"] != recorded["sha256"] or now["columns"] != list(recorded.get("columns", [])):
            text = (f"{where} was built from other data: its {now['members']:,} members' ids, contacts or "
                    "consents differ in the data given (another dataset, or one changed since)")
            if not allow_other_data:
                raise InputError(text + "; export it with the data it was built from, rebuild the audience on "
                                 "this data, or pass --allow-other-data (API: allow_other_data) to export anyway")
            warnings.append(text + "; exported anyway (--allow-other-data)")
    if now["missing"]:
        warnings.append(f"{now['missing']:,} of {now['members']:,} audience members are not in the data given; "
                        "they have no contact data and are left out of the export")
    return warnings


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
    members: Mapping[str, Any] | None = None,
) -> Path:
    """Write an audience manifest (JSON, keys sorted, 2-space indent) atomically and return its path.

    ``files`` maps file names next to the manifest to their SHA-256, so a reader can
    refuse a modified or corrupt audience file (:func:`lookalike.audience.store.load_audience`).
    ``members`` is :func:`members_fingerprint` on the data the audience was built from, checked
    at export time (:func:`check_members`).

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
    if members:
        doc["members_fingerprint"] = to_jsonable(members, "members")
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
