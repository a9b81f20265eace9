"""Saving an audience with everything needed to trace, reproduce and review it.

``save_audience(result, "out/vip-lookalikes.parquet", ...)`` writes, next to the
audience table, ``<stem>.manifest.json`` (seeds, parameters, model version, data
fingerprint, counts, created time, digest of the ranked ids), ``<stem>.reach.csv``
(size against similarity), ``<stem>.profile.csv`` (audience against seeds and base),
``<stem>.sensitive.csv`` and ``<stem>.diagnostics.json``. Data only: the faces draw the
reach plot (``lookalike expand`` writes ``<stem>.reach.png`` with :mod:`lookalike.report.plots`).

Versions: a place that keeps audiences by name (the service's workspace) never overwrites one.
:func:`archive_version` moves the current files of a name into ``.versions/<stem>/v<N>/`` next to
them, under their own file names (so their manifest still vouches for them), before the new version
is saved; :func:`audience_versions` lists every version of a name, oldest first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from lookalike.audience.manifest import audience_digest, load_manifest, members_fingerprint, write_manifest
from lookalike.errors import InputError, ResultWarning
from lookalike.io import file_digest, move_file, read_csv, write_table, write_table_sha256, write_text

#: The files :func:`save_audience` writes next to ``<stem>.parquet`` (or ``.csv``).
SIDECARS = (".manifest.json", ".reach.csv", ".reach.png", ".profile.csv", ".sensitive.csv", ".diagnostics.json")
#: The folder next to the audience files that keeps the earlier versions of each name (a leading dot:
#: no audience name can take it).
VERSIONS_DIR = ".versions"


def audience_files(path: str | os.PathLike[str]) -> list[Path]:
    """The audience file and its sidecars that exist: exactly these names (``spring`` never takes
    ``spring.v2`` along, as a ``spring.*`` pattern would)."""
    p = Path(path)
    return [f for f in (p, *(sidecar(p, s) for s in SIDECARS)) if f.is_file()]


def sidecar(path: str | os.PathLike[str], suffix: str) -> Path:
    """``out/a.parquet`` + ``.manifest.json`` → ``out/a.manifest.json``."""
    p = Path(path)
    return p.with_name(p.stem + suffix)


def versions_dir(path: str | os.PathLike[str]) -> Path:
    """``out/spring.parquet`` → ``out/.versions/spring``: where the earlier versions of ``spring`` are kept."""
    p = Path(path)
    return p.parent / VERSIONS_DIR / p.stem


def version_of(manifest: dict | None) -> int:
    """The version number an audience's manifest records (``parameters.version``); 1 when it has none."""
    v = ((manifest or {}).get("parameters") or {}).get("version")
    return int(v) if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else 1


def audience_versions(path: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """Every version of the audience at ``path``: ``(number, file)`` pairs, oldest first, the current
    file (``path`` itself) last when it exists."""
    p = Path(path)
    out = []
    root = versions_dir(p)
    if root.is_dir():
        for d in root.iterdir():
            f = d / p.name
            if d.is_dir() and d.name[:1] == "v" and d.name[1:].isdigit() and f.is_file():
                out.append((int(d.name[1:]), f))
    out.sort()
    if p.is_file():
        out.append((max(version_of(_manifest_or_none(p)), out[-1][0] + 1 if out else 1), p))
    return out


def next_version(path: str | os.PathLike[str]) -> int:
    """The number the next version of the audience at ``path`` gets (1 for a new name)."""
    versions = audience_versions(path)
    return versions[-1][0] + 1 if versions else 1


def archive_version(path: str | os.PathLike[str]) -> Path | None:
    """Move the audience at ``path`` and its sidecars to ``.versions/<stem>/v<N>/`` (N its version
    number); returns that folder, or None when there is no audience at ``path``.

    The files keep their names, so the manifest still lists and checks them (:func:`load_audience`
    reads an archived version as it read the current one). The caller holds the name's lock.
    """
    p = Path(path)
    if not p.is_file():
        return None
    number = audience_versions(p)[-1][0]
    target = versions_dir(p) / f"v{number}"
    target.mkdir(parents=True, exist_ok=False)
    for f in audience_files(p):
        move_file(f, target / f.name)
    return target


def restore_version(folder: Path, path: str | os.PathLike[str]) -> None:
    """Undo :func:`archive_version` (a save that failed after it): the folder's files go back next to ``path``."""
    p = Path(path)
    for f in sorted(folder.iterdir()):
        move_file(f, p.parent / f.name)
    folder.rmdir()


def _manifest_or_none(p: Path) -> dict | None:
    mpath = sidecar(p, ".manifest.json")
    return load_manifest(mpath) if mpath.is_file() else None


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
    paths.append(write_text(sidecar(p, ".diagnostics.json"), json.dumps(
        {**result.diagnostics.to_dict(), "warnings": result.warnings,
         "warning_codes": [{"code": getattr(w, "code", ""), "params": getattr(w, "params", {})} for w in result.warnings]},
        indent=2, default=str)))
    return paths


def saved_warnings(diagnostics: dict) -> list[ResultWarning]:
    """The warnings of a saved audience's ``.diagnostics.json``, typed again (code and parameters), so
    that a face can say them in its reader's language; plain text for files written before codes were.

    >>> saved_warnings({"warnings": ["a", "b"], "warning_codes": [{"code": "too_small", "params": {"seeds": 3}}]})
    [ResultWarning('too_small', 'a'), 'b']
    """
    texts = [str(w) for w in diagnostics.get("warnings") or []]
    codes = diagnostics.get("warning_codes") or []
    return [ResultWarning(c["code"], text, **(c.get("params") or {})) if i < len(codes) and
            isinstance(c := codes[i], dict) and c.get("code") else text for i, text in enumerate(texts)]


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
