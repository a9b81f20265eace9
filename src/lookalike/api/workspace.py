"""The service's workspace: datasets, clean tables, fitted models, audiences and exports on disk.

Layout under ``home`` (``LOOKALIKE_HOME``)::

    datasets/<name>/source.json         where the data came from, when, row counts
    datasets/<name>/raw.<ext>           an uploaded file (registered files are read in place)
    datasets/<name>/customers.parquet   clean table, quarantine.csv, quality.{json,md,html}
    datasets/<name>/model/              the fitted LookalikeFinder (manifest + table + features)
    audiences/<name>.parquet            an audience and its sidecars (manifest, reach, profile, ...)
    exports/<audience>/<file>.csv       channel / ad-platform files; exports/export_log.jsonl

Every name that reaches a path is checked against :data:`NAME_PATTERN` (letters, digits,
``.``, ``_``, ``-``; no path separators, no leading dot), so no request can leave the workspace.
Fitted finders are cached in memory per dataset (loading is the slow part of a query).
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from lookalike.errors import InputError, NotFound, ParameterError, UploadTooLarge
from lookalike.report.outputs import write_clean_outputs
from lookalike.sources import fingerprint

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
RAW_SUFFIXES = (".xlsx", ".csv", ".parquet", ".pq", ".txt", ".tsv")


async def save_upload(upload, target: Path, limit_bytes: int) -> int:
    """Stream an uploaded file to ``target`` in 1 MiB blocks, atomically; return its size.

    Above ``limit_bytes`` nothing is left behind and :class:`UploadTooLarge` is raised; a
    large export never sits in memory and a failed upload never leaves a partial file.
    """
    from lookalike.io import atomic_path

    written = 0
    with atomic_path(target) as tmp, open(tmp, "wb") as out:
        while block := await upload.read(1 << 20):
            written += len(block)
            if written > limit_bytes:
                raise UploadTooLarge(f"the upload is larger than {limit_bytes >> 20} MB; register the file on the "
                                     "server (POST /api/v1/datasets/register) or raise LOOKALIKE_MAX_UPLOAD_MB")
            out.write(block)
    return written


async def store_upload(workspace: "Workspace", name: str, upload, limit_bytes: int) -> tuple[Path, int]:
    """Save an uploaded CRM export as dataset ``name``'s raw file; return (path, bytes).

    Refuses a file type the reader does not take; above the size limit the dataset
    directory is removed again and :class:`UploadTooLarge` is raised.
    """
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in RAW_SUFFIXES:
        raise ParameterError(f"file {upload.filename!r}: upload a .xlsx, .csv or .parquet export")
    d = workspace.dataset_dir(name)
    d.mkdir(parents=True, exist_ok=True)
    target = d / f"raw{suffix}"
    try:
        return target, await save_upload(upload, target, limit_bytes)
    except UploadTooLarge:
        shutil.rmtree(d, ignore_errors=True)
        raise


def check_name(name: str, what: str = "name") -> str:
    """``name`` if it is safe as a file name in the workspace, else ``ParameterError``.

    >>> check_name("spring-vips_2025")
    'spring-vips_2025'
    >>> check_name("../etc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    lookalike.errors.ParameterError: ...
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise ParameterError(f"{what} {name!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-', "
                             "starting with a letter or digit")
    return name


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Rankings:
    """Audiences built at the top of the size range, kept per dataset and options (all but the size).

    The slider of the audience builder asks for one size after another with the same seeds
    and options: the seeds are scored and the candidates ranked once, and every size up to
    :data:`RANKING_HEAD` of the base is cut from that ranking (:func:`~lookalike.audience.expand.cut_audience`),
    the final build included. An entry belongs to one fitted model (a re-fitted or reloaded
    dataset never hits an old entry); the least recently used entries go beyond ``capacity``.
    Requests for the same entry wait for the one building it instead of scoring again.
    """

    def __init__(self, capacity: int = 8):
        self._entries: OrderedDict[tuple, tuple] = OrderedDict()
        self._building: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()
        self.capacity = capacity

    def get(self, dataset: str, finder: object, options: str, build: Callable[[], Any]) -> Any:
        """The entry of (``dataset``, ``options``) for ``finder``, built with ``build()`` when missing."""
        key = (dataset, options)
        with self._lock:
            lock = self._building.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                hit = self._entries.get(key)
                if hit is not None and hit[0]() is finder:
                    self._entries.move_to_end(key)
                    return hit[1]
            value = build()
            with self._lock:
                self._entries[key] = (weakref.ref(finder), value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.capacity:
                    self._entries.popitem(last=False)
                self._building.pop(key, None)  # later requests find the entry; waiters hold the lock already
            return value

    def forget(self, dataset: str | None = None) -> None:
        """Drop the entries of one dataset (or all): its data or model changed."""
        with self._lock:
            for key in [k for k in self._entries if dataset is None or k[0] == dataset]:
                del self._entries[key]


class Workspace:
    """Datasets, models, audiences and exports under one directory."""

    def __init__(self, home: str | Path):
        self.home = Path(home)
        for sub in ("datasets", "audiences", "exports"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        self._finders: dict[str, object] = {}
        self._lock = threading.Lock()
        #: rankings of recent audience requests (``lookalike.api.service.build`` cuts sizes from them)
        self.rankings = Rankings()

    # ----------------------------------------------------------- datasets
    def dataset_dir(self, name: str) -> Path:
        return self.home / "datasets" / check_name(name, "dataset name")

    def datasets(self) -> list[dict]:
        """Every dataset's source record (ready ones have a model), newest first."""
        out = []
        for d in sorted((self.home / "datasets").iterdir()):
            if d.is_dir() and (d / "source.json").is_file():
                out.append(self.dataset_info(d.name))
        return sorted(out, key=lambda r: r.get("created", ""), reverse=True)

    def dataset_info(self, name: str) -> dict:
        d = self.dataset_dir(name)
        if not (d / "source.json").is_file():
            raise NotFound(f"dataset {name!r} does not exist; upload or register it first (GET /api/v1/datasets lists them)")
        info = json.loads((d / "source.json").read_text("utf-8"))
        info["ready"] = (d / "model" / "manifest.json").is_file()
        return info

    def quality(self, name: str) -> dict:
        """The quality report dict of a cleaned dataset."""
        path = self.dataset_dir(name) / "quality.json"
        if not path.is_file():
            self.dataset_info(name)  # raises NotFound for an unknown dataset
            raise NotFound(f"dataset {name!r} is not cleaned yet; poll its job until it is done")
        return json.loads(path.read_text("utf-8"))

    def prepare(self, name: str, load: Callable[[], object], source: dict,
                progress: Callable[[float, str], None]) -> dict:
        """Clean (``load()`` returns a raw DataFrame or a ``CleanResult``), save, fit and save the model."""
        d = self.dataset_dir(name)
        d.mkdir(parents=True, exist_ok=True)
        self._write_source(d, {**source, "name": name, "created": _now(), "status": "cleaning"})
        with self._lock:
            self._finders.pop(name, None)  # a re-upload replaces the model
        self.rankings.forget(name)
        try:
            return self._prepare(name, d, load, source, progress)
        except Exception as exc:  # the dataset says it failed (and why) instead of "cleaning" forever
            self._write_source(d, {**source, "name": name, "created": _now(), "status": "failed",
                                   "error": str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__})
            raise

    def _prepare(self, name: str, d: Path, load, source: dict, progress) -> dict:
        from lookalike.cleaning.table import CleanResult, clean_customers
        from lookalike.finder import LookalikeFinder

        progress(0.05, "reading")
        loaded = load()
        progress(0.3, "cleaning")
        result = loaded if isinstance(loaded, CleanResult) else clean_customers(loaded)
        write_clean_outputs(result, d)
        progress(0.6, "fitting the model")
        finder = LookalikeFinder().fit(result.customers)
        progress(0.85, "saving the model")
        finder.save(d / "model")
        rows = result.report.to_dict()["rows"]
        self._write_source(d, {**source, "name": name, "created": _now(), "status": "ready", "rows": rows,
                               "customers": int(len(result.customers))})
        with self._lock:
            self._finders[name] = finder
        return {"dataset": name, "customers": int(len(result.customers)), "rows": rows}

    @staticmethod
    def _write_source(d: Path, record: dict) -> None:
        from lookalike.io import write_text

        write_text(d / "source.json", json.dumps(record, indent=2, default=str))

    def finder(self, name: str):
        """The fitted finder of a dataset, loaded once and kept in memory."""
        with self._lock:
            cached = self._finders.get(name)
        if cached is not None:
            return cached
        info = self.dataset_info(name)
        if not info["ready"]:
            raise NotFound(f"dataset {name!r} has no fitted model yet (status {info.get('status')}); "
                           "poll its job until it is done")
        from lookalike.finder import LookalikeFinder

        finder = LookalikeFinder.load(self.dataset_dir(name) / "model")
        with self._lock:
            return self._finders.setdefault(name, finder)

    def drop_cached_finders(self) -> None:
        """Forget the finders kept in memory (their model files changed on disk, e.g. after an erasure)."""
        with self._lock:
            self._finders.clear()
        self.rankings.forget()

    def delete_dataset(self, name: str) -> None:
        self.dataset_info(name)
        with self._lock:
            self._finders.pop(name, None)
        self.rankings.forget(name)
        shutil.rmtree(self.dataset_dir(name))

    # ---------------------------------------------------------- audiences
    def audience_path(self, name: str) -> Path:
        return self.home / "audiences" / f"{check_name(name, 'audience name')}.parquet"

    def save_audience(self, name: str, result, dataset: str) -> Path:
        """Write an ``AudienceResult`` with its manifest and review files (see ``audience.store``)."""
        from lookalike import __version__
        from lookalike.audience.store import save_audience

        result.params["dataset"] = dataset
        path = self.audience_path(name)
        save_audience(result, path, model_version=__version__,
                      data_fingerprint=fingerprint(self.dataset_dir(dataset) / "model"), plot=False)
        return path

    def audiences(self) -> list[dict]:
        """Every saved audience's summary, newest first."""
        out = []
        for p in (self.home / "audiences").glob("*.manifest.json"):
            out.append(self.audience_info(p.name[: -len(".manifest.json")]))
        return sorted(out, key=lambda r: r.get("created") or "", reverse=True)

    def audience_info(self, name: str) -> dict:
        from lookalike.export import load_manifest

        path = self.audience_path(name)
        mpath = path.with_name(path.stem + ".manifest.json")
        if not path.is_file() or not mpath.is_file():
            raise NotFound(f"audience {name!r} does not exist; build one with POST /api/v1/datasets/{{name}}/audiences")
        m = load_manifest(mpath)
        params = m.get("parameters") or {}
        return {"name": name, "dataset": params.get("dataset"), "created": m.get("created"),
                "size": int((m.get("audience") or {}).get("rows", 0) or 0) or int(len(pd.read_parquet(path, columns=["rank"]))),
                "seeds": int((m.get("seeds") or {}).get("count", 0)), "parameters": params,
                "counts": m.get("counts") or {}}

    def audience_table(self, name: str) -> pd.DataFrame:
        from lookalike.audience.store import load_audience

        self.audience_info(name)
        return load_audience(self.audience_path(name))

    def audience_sidecar(self, name: str, suffix: str) -> Path:
        path = self.audience_path(name)
        return path.with_name(path.stem + suffix)

    # ------------------------------------------------------------ exports
    def export_dir(self, audience: str) -> Path:
        return self.home / "exports" / check_name(audience, "audience name")

    def export_log(self) -> Path:
        return self.home / "exports" / "export_log.jsonl"

    def exports(self) -> list[dict]:
        """The export log, newest first (who, when, which audience and profile, files and hashes)."""
        log = self.export_log()
        if not log.is_file():
            return []
        rows = [json.loads(line) for line in log.read_text("utf-8").splitlines() if line.strip()]
        return rows[::-1]

    def export_file(self, audience: str, filename: str) -> Path:
        path = self.export_dir(audience) / check_name(filename, "file name")
        if not path.is_file():
            raise NotFound(f"export file {filename!r} of audience {audience!r} does not exist; "
                           "GET /api/v1/exports lists the files")
        return path

    def find_raw(self, name: str) -> Path:
        d = self.dataset_dir(name)
        for p in d.glob("raw.*"):
            return p
        raise InputError(f"dataset {name!r} has no uploaded file")
