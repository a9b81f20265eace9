"""Saving an audience with everything needed to trace, reproduce and review it.

``save_audience(result, "out/vip-lookalikes.parquet", ...)`` writes, next to the
audience table, ``<stem>.manifest.json`` (seeds, parameters, model version, data
fingerprint, counts, created time, digest of the ranked ids), ``<stem>.reach.csv``
(size against similarity), ``<stem>.profile.csv`` (audience against seeds and base),
``<stem>.sensitive.csv`` and ``<stem>.diagnostics.json``. Data only: the faces draw the
reach plot (``lookalike expand`` writes ``<stem>.reach.png`` with :mod:`lookalike.report.plots`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from lookalike.audience.manifest import audience_digest, load_manifest, members_fingerprint, write_manifest
from lookalike.errors import InputError
from lookalike.io import file_digest, read_csv, write_table, write_table_sha256, write_text

#: The files :func:`save_audience` writes next to ``<stem>.parquet`` (or ``.csv``).
SIDECARS = (".manifest.json", ".reach.csv", ".reach.png", ".profile.csv", ".sensitive.csv", ".diagnostics.json")


def audience_files(path: str | os.PathLike[str]) -> list[Path]:
    """The audience file and its sidecars that exist: exactly these names (``spring`` never takes
    ``spring.v2`` along, as a ``spring.*`` pattern would)."""
    p = Path(path)
    return [f for f in (p, *(sidecar(p, s) for s in SIDECARS)) if f.is_file()]


def sidecar(path: str | os.PathLike[str], suffix: str) -> Path:
    """``out/a.parquet`` + ``.manifest.json`` → ``out/a.manifest.json``."""
    p = Path(path)
    return p.with_name(p.stem + suffix)


def save_audience(result, path: str | os.PathLike[str], *, model_version: str, data_fingerprint: str,
                  created: str | None = None, customers: pd.DataFrame | None = None) -> list[Path]:
    """Write the audience (parquet or csv) and its manifest and review files; returns the paths.

    ``customers``: the table the audience was built from; its members' rows are fingerprinted in
    the manifest (:func:`~lookalike.audience.manifest.members_fingerprint`) so that an export with
    other data is refused."""
    p = Path(path)
    members = members_fingerprint(customers, result.audience["customer_id"]) if customers is not None else None
    # the checksum of the bytes this call wrote: read back from `p`, it could be another writer's
    # file, and the manifest would vouch for it
    digest = write_table_sha256(result.audience, p)
    paths = [p]
    paths.append(write_manifest(
        sidecar(p, ".manifest.json"), audience=result.audience,
        seeds={"count": len(result.seed_ids), "ids": result.seed_ids, "sets": result.params.get("seed_sets", [])},
        parameters=result.params, model_version=model_version, data_fingerprint=data_fingerprint,
        counts=result.counts, created=created, files={p.name: digest}, members=members,
    ))
    paths.append(write_table(result.reach, sidecar(p, ".reach.csv")))
    paths.append(write_table(result.profile, sidecar(p, ".profile.csv")))
    paths.append(write_table(result.sensitive, sidecar(p, ".sensitive.csv")))
    paths.append(write_text(sidecar(p, ".diagnostics.json"),
                            json.dumps({**result.diagnostics.to_dict(), "warnings": result.warnings}, indent=2, default=str)))
    return paths


def load_audience(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read an audience written by :func:`save_audience` (or any table with customer_id and rank).

    When the audience has its ``.manifest.json`` next to it, the file must match the
    SHA-256 recorded there (older manifests without one: the ranked ids must match the
    manifest's digest): a modified, corrupt or newer-format audience is refused with
    :class:`~lookalike.errors.InputError`.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"audience file {p} does not exist; build one with lookalike expand or lookalike playbook run")
    manifest = _checked_manifest(p)
    try:
        df = (pd.read_parquet(p) if p.suffix.lower() in (".parquet", ".pq")
              else read_csv(p, dtype={"customer_id": str}, na="pandas", what="the audience")[0])
    except Exception as exc:
        raise InputError(f"cannot read audience {p}: {str(exc).splitlines()[0][:200]}") from None
    missing = {"customer_id", "rank"} - set(df.columns)
    if missing:
        raise InputError(f"{p} is not an audience: missing column(s) {', '.join(sorted(missing))}")
    if manifest is not None and p.name not in (manifest.get("files") or {}):
        # manifests without a file checksum: the ranked ids must still match their digest
        recorded = manifest.get("audience") or {}
        if recorded.get("rows") != len(df) or recorded.get("sha256") != audience_digest(df):
            raise InputError(f"{p} does not match the ids and ranks in {sidecar(p, '.manifest.json').name} "
                             "(modified or corrupt); rebuild it with lookalike expand or playbook run")
    return df


def audience_manifest(path: str | os.PathLike[str]) -> dict | None:
    """The manifest next to an audience file (checked like :func:`load_audience` does), None without one."""
    return _checked_manifest(Path(path))


def _checked_manifest(p: Path) -> dict | None:
    """The audience's manifest when there is one, after checking the file's recorded SHA-256."""
    mpath = sidecar(p, ".manifest.json")
    if not mpath.is_file():
        return None
    manifest = load_manifest(mpath)  # refuses other files and newer format versions
    digest = (manifest.get("files") or {}).get(p.name)
    if digest is not None and file_digest(p, "sha256") != digest:
        raise InputError(f"{p} does not match its checksum in {mpath.name} (modified or corrupt); "
                         "rebuild it with lookalike expand or playbook run")
    return manifest
