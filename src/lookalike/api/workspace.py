"""The service's workspace: datasets, clean tables, fitted models, audiences and exports on disk.

Layout under ``home`` (``LOOKALIKE_HOME``)::

    datasets/<name>/source.json         where the data came from, when, row counts
    datasets/<name>/raw.<ext>           an uploaded file (registered files are read in place)
    datasets/<name>/customers.parquet   clean table, quarantine.csv, quality.{json,md,html}
    datasets/<name>/model/              the fitted LookalikeFinder (manifest + table + features)
    audiences/<name>.parquet            an audience and its sidecars (manifest, reach, profile, ...)
    audiences/.versions/<name>/v<N>/    its earlier versions: building a name again never overwrites it
    exports/<audience>/<file>.csv       channel / ad-platform files; exports/export_log.jsonl
    uplift/<name>/                      uplift models fitted on past campaigns (manifest + training table)

Every name that reaches a path is checked against :data:`NAME_PATTERN` (letters, digits,
``.``, ``_``, ``-``; no path separators, no leading dot), so no request can leave the workspace,
and against the reserved names (``export_log.jsonl``, names ending like a sidecar), so no name
can take the place of the workspace's own files.
Fitted finders are cached in memory per dataset (loading is the slow part of a query).

Writes to one name are serialised (:meth:`Workspace.lock`): two builds of one audience, or two
uploads to one dataset, run one after the other, and each caller gets its own result. An upload is
saved under a name of its own (``.upload-<random>.<ext>``) and becomes ``raw.<ext>`` only when its
job runs, so a second upload cannot replace the file a first job is about to read.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from lookalike._version import __version__
from lookalike.audience.compare import compare_audiences
from lookalike.audience.store import (archive_version, audience_files, audience_versions, load_audience,
                                      next_version, restore_version, save_audience, versions_dir)
from lookalike.campaigns.uplift_models import UpliftModel
from lookalike.cleaning.table import CleanResult, clean_customers
from lookalike.config.settings import private_dir
from lookalike.errors import InputError, NotFound, ParameterError, UploadTooLarge
from lookalike.export import load_manifest
from lookalike.finder import LookalikeFinder
from lookalike.io import atomic_path, check_workbook, move_file, write_text
from lookalike.report.outputs import write_clean_outputs
from lookalike.sources import check_clean_set, fingerprint

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
RAW_SUFFIXES = (".xlsx", ".csv", ".parquet", ".pq", ".txt", ".tsv")
#: Names the workspace keeps for its own files, and endings of the files written next to an audience.
RESERVED_NAMES = frozenset({"export_log.jsonl"})
RESERVED_ENDINGS = (".manifest", ".reach", ".profile", ".sensitive", ".diagnostics", ".jsonl", ".tmp")


async def save_upload(upload, target: Path, limit_bytes: int) -> int:
    """Stream an uploaded file to ``target`` in 1 MiB blocks, atomically; return its size.

    Above ``limit_bytes`` nothing is left behind and :class:`UploadTooLarge` is raised; a
    large export never sits in memory and a failed upload never leaves a partial file.
    """

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
    """Save an uploaded CRM export for dataset ``name`` under a name of its own; return (path, bytes).

    The file becomes the dataset's ``raw.<ext>`` when its job runs (:meth:`Workspace.adopt_upload`).
    Refuses a file type the reader does not take; above the size limit nothing is left behind
    (a dataset folder made for it is removed, an existing dataset is untouched) and
    :class:`UploadTooLarge` is raised. A workbook that would expand beyond the workbook limits
    (rows, columns, XML size: :func:`lookalike.io.check_workbook`) is refused the same way, before
    any job parses it (HTTP 413, the limit named).
    """
    suffix = Path(upload.filename or "").suffix.lower()
    if suffix not in RAW_SUFFIXES:
        raise ParameterError(f"file {upload.filename!r}: upload a .xlsx, .csv or .parquet export")
    d = workspace.dataset_dir(name)
    created = not d.is_dir()
    d.mkdir(parents=True, exist_ok=True)
    target = d / f".upload-{secrets.token_hex(8)}{suffix}"
    try:
        written = await save_upload(upload, target, limit_bytes)
        if suffix == ".xlsx":  # a zip bomb is refused here, before a job parses it

            check_workbook(target)
        return target, written
    except BaseException:
        target.unlink(missing_ok=True)
        if created:
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
    low = name.lower()  # case-insensitive file systems: Export_Log.jsonl is the log too
    if low in RESERVED_NAMES or low.endswith(RESERVED_ENDINGS):
        raise ParameterError(f"{what} {name!r} is reserved for the workspace's own files "
                             f"(export_log.jsonl, names ending in {', '.join(RESERVED_ENDINGS)}); choose another name")
    return name


def redact_paths(text: str, roots: Iterable[Path]) -> str:
    """``text`` with server paths hidden: paths under ``roots`` become relative to them, any other
    absolute path is cut to its last part.

    >>> redact_paths("cannot read /srv/lk/datasets/a/raw.csv: bad; see /usr/lib/x.py", [Path("/srv/lk")])
    'cannot read datasets/a/raw.csv: bad; see …/x.py'
    >>> redact_paths("upload it (POST /api/v1/datasets/upload) or use sqlite:///crm/a.db", [])
    'upload it (POST /api/v1/datasets/upload) or use sqlite:///crm/a.db'
    """
    for root in sorted({str(r) for r in roots if str(r) not in ("", "/", ".")}, key=len, reverse=True):
        text = text.replace(root.rstrip("/") + "/", "")
    return _ABSOLUTE.sub(lambda m: "…/" + m.group(0).rstrip("/").rsplit("/", 1)[-1], text)


# an absolute path in running text (not part of a URL, not a route of this API named in a hint)
_ABSOLUTE = re.compile(r"(?<![\w.:/~-])/(?!api/v1/)(?:[^\s/'\"():;,]+/)+[^\s/'\"():;,]*")


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

    def __init__(self, home: str | Path, data_dirs: Iterable[str | Path] = ()):
        self.home = private_dir(home)
        self.data_dirs = tuple(Path(d) for d in data_dirs)
        for sub in ("datasets", "audiences", "exports", "uplift"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        self._finders: dict[str, object] = {}
        self._uplift: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()
        #: rankings of recent audience requests (``lookalike.api.service.build`` cuts sizes from them)
        self.rankings = Rankings()
        self._name_locks: dict[tuple[str, str], threading.RLock] = {}

    def lock(self, kind: str, name: str) -> threading.RLock:
        """The lock serialising writes to one dataset or audience name (``with ws.lock("audience", n):``)."""
        with self._lock:
            return self._name_locks.setdefault((kind, name), threading.RLock())

    def redact(self, text: str) -> str:
        """A message for clients: workspace and data-folder paths relative, no other server path."""
        roots = [self.home, self.home.resolve(), *self.data_dirs, *(d.resolve() for d in self.data_dirs)]
        return redact_paths(text, roots)

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
            raise NotFound(f"dataset {name!r} does not exist; upload or register it first (GET /api/v1/datasets lists them)",
                           code="no_dataset", name=name)
        info = json.loads((d / "source.json").read_text("utf-8"))
        info["ready"] = (d / "model" / "manifest.json").is_file()
        return info

    def quality(self, name: str) -> dict:
        """The quality report dict of a cleaned dataset."""
        report = check_clean_set(self.dataset_dir(name))  # refuses a report of another run than the table
        if report is None:
            self.dataset_info(name)  # raises NotFound for an unknown dataset
            raise NotFound(f"dataset {name!r} is not cleaned yet; poll its job until it is done", code="not_clean_yet",
                           name=name)
        return report

    def prepare(self, name: str, load: Callable[[], object], source: dict,
                progress: Callable[[float, str], None]) -> dict:
        """Clean (``load()`` returns a raw DataFrame or a ``CleanResult``), save, fit and save the model.

        One dataset name is prepared by one job at a time: a second job waits for the first, so
        each job's result describes the data it read.
        """
        d = self.dataset_dir(name)
        with self.lock("dataset", name):
            d.mkdir(parents=True, exist_ok=True)
            self._write_source(d, {**source, "name": name, "created": _now(), "status": "cleaning"})
            with self._lock:
                self._finders.pop(name, None)  # a re-upload replaces the model
            self.rankings.forget(name)
            try:
                return self._prepare(name, d, load, source, progress)
            except Exception as exc:  # the dataset says it failed (and why) instead of "cleaning" forever
                error = self.redact(str(exc).splitlines()[0][:300]) if str(exc) else type(exc).__name__
                self._write_source(d, {**source, "name": name, "created": _now(), "status": "failed",
                                       "error": error})
                raise

    def adopt_upload(self, name: str, upload: Path) -> Path:
        """Make a stored upload (:func:`store_upload`) dataset ``name``'s ``raw.<ext>``, replacing the
        previous raw file; called by the dataset's job, under its lock."""

        d = self.dataset_dir(name)
        if upload.parent != d or not upload.name.startswith(".upload-"):
            raise ParameterError(f"{upload.name!r} is not an upload of dataset {name!r}")
        target = d / f"raw{upload.suffix}"
        with self.lock("dataset", name):
            for old in d.glob("raw.*"):
                if old != target:
                    old.unlink()
            return move_file(upload, target)

    def _prepare(self, name: str, d: Path, load, source: dict, progress) -> dict:
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
                           "poll its job until it is done", code="not_fitted_yet", name=name)

        finder = LookalikeFinder.load(self.dataset_dir(name) / "model")
        with self._lock:
            return self._finders.setdefault(name, finder)

    def drop_cached_finders(self) -> None:
        """Forget the finders kept in memory (their model files changed on disk, e.g. after an erasure)."""
        with self._lock:
            self._finders.clear()
        self.rankings.forget()

    def delete_dataset(self, name: str) -> None:
        with self.lock("dataset", name):
            self.dataset_info(name)
            with self._lock:
                self._finders.pop(name, None)
            self.rankings.forget(name)
            shutil.rmtree(self.dataset_dir(name))

    # ---------------------------------------------------------- audiences
    def audience_path(self, name: str) -> Path:
        return self.home / "audiences" / f"{check_name(name, 'audience name')}.parquet"

    def save_audience(self, name: str, result, dataset: str, user: str | None = None) -> Path:
        """Write an ``AudienceResult`` with its manifest and review files (see ``audience.store``) as a
        new version of ``name``: the current one, if any, is kept under ``audiences/.versions``.

        The manifest's parameters record the dataset, the version number and who built it."""

        path = self.audience_path(name)
        with self.lock("audience", name):
            result.params.update(dataset=dataset, version=next_version(path), user=user)
            archived = archive_version(path)
            try:
                save_audience(result, path, model_version=__version__,
                              data_fingerprint=fingerprint(self.dataset_dir(dataset) / "model"),
                              customers=self.finder(dataset).customers_)
            except BaseException:
                for f in audience_files(path):  # what this save wrote before it failed
                    f.unlink()
                if archived is not None:
                    restore_version(archived, path)
                raise
        return path

    def delete_audience(self, name: str) -> list[str]:
        """Delete an audience, its sidecars and its earlier versions — that name only; return the file
        names removed."""

        with self.lock("audience", name):
            self.audience_info(name)
            path = self.audience_path(name)
            files = [f for _, v in audience_versions(path) for f in audience_files(v)]
            for f in files:
                f.unlink()
            shutil.rmtree(versions_dir(path), ignore_errors=True)
        return [f.name for f in files]

    def audiences(self) -> list[dict]:
        """Every saved audience's summary, newest first."""
        out = []
        for p in (self.home / "audiences").glob("*.manifest.json"):
            out.append(self.audience_info(p.name[: -len(".manifest.json")]))
        return sorted(out, key=lambda r: r.get("created") or "", reverse=True)

    def audience_info(self, name: str, version: int | None = None) -> dict:
        """An audience's summary (of one of its versions with ``version``): dataset, size, seeds, counts,
        parameters, version number and who built it."""
        path = self.audience_version_path(name, version)
        mpath = path.with_name(path.stem + ".manifest.json")
        if not path.is_file() or not mpath.is_file():
            raise NotFound(f"audience {name!r} does not exist; build one with POST /api/v1/datasets/{{name}}/audiences",
                           code="no_audience", name=name)
        m = load_manifest(mpath)
        params = m.get("parameters") or {}
        return {"name": name, "dataset": params.get("dataset"), "created": m.get("created"),
                "size": int((m.get("audience") or {}).get("rows", 0) or 0) or int(len(pd.read_parquet(path, columns=["rank"]))),
                "seeds": int((m.get("seeds") or {}).get("count", 0)), "parameters": params,
                "counts": m.get("counts") or {}, "version": int(params.get("version") or 1),
                "user": params.get("user"), "sha256": (m.get("audience") or {}).get("sha256")}

    def audience_version_path(self, name: str, version: int | None = None) -> Path:
        """The file of one version of an audience (the current one without ``version``)."""
        path = self.audience_path(name)
        if version is None:
            return path
        for number, f in audience_versions(path):
            if number == version:
                return f
        raise NotFound(f"audience {name!r} has no version {version}; GET /api/v1/audiences/{name}/versions lists them")

    def audience_versions(self, name: str) -> list[dict]:
        """Every version of an audience, oldest first: number, created, who built it, size, the audience
        digest (campaigns record it) and who entered and who left since the version before."""
        with self.lock("audience", name):
            self.audience_info(name)
            versions = audience_versions(self.audience_path(name))
            out, previous = [], None
            for number, path in versions:
                info = self.audience_info(name, number)
                ids = pd.read_parquet(path, columns=["customer_id"])
                change = compare_audiences(previous, ids) if previous is not None else None
                out.append({"version": number, "created": info["created"], "user": info["user"],
                            "size": info["size"], "sha256": info["sha256"], "current": path == versions[-1][1],
                            "entered": None if change is None else len(change.entered),
                            "left": None if change is None else len(change.left)})
                previous = ids
        return out

    def audience_table(self, name: str, version: int | None = None) -> pd.DataFrame:
        """An audience's members (of one of its versions with ``version``), checked against its manifest."""
        self.audience_info(name, version)
        return load_audience(self.audience_version_path(name, version))

    def audience_sidecar(self, name: str, suffix: str) -> Path:
        path = self.audience_path(name)
        return path.with_name(path.stem + suffix)

    # ------------------------------------------------------------ uplift models
    def uplift_dir(self, name: str) -> Path:
        return self.home / "uplift" / check_name(name, "uplift model name")

    def uplift_models(self) -> list[dict]:
        """Every saved uplift model's summary (from its manifest, without loading it), newest first."""
        out = []
        for d in (self.home / "uplift").iterdir():
            m = d / "manifest.json"
            if d.is_dir() and m.is_file():
                doc = json.loads(m.read_text("utf-8"))
                cv = (doc.get("cross_validation") or [{}])[0]
                out.append({"name": d.name, "created": doc.get("created"), "learner": doc.get("learner"),
                            "base": doc.get("base"), "outcome": doc.get("outcome"),
                            "campaigns": (doc.get("source") or {}).get("campaigns", []),
                            "dataset": (doc.get("source") or {}).get("dataset"),
                            "n_treatment": doc.get("n_treatment"), "n_control": doc.get("n_control"),
                            "cv_qini": cv.get("qini_mean"), "cv_qini_sd": cv.get("qini_sd")})
        return sorted(out, key=lambda r: r.get("created") or "", reverse=True)

    def uplift_model(self, name: str):
        """A saved uplift model, loaded once per version of its files (loading refits it to check them)."""
        manifest = self.uplift_dir(name) / "manifest.json"
        if not manifest.is_file():
            raise NotFound(f"uplift model {name!r} does not exist; fit one from past campaigns first")
        stamp = manifest.stat().st_mtime
        with self._lock:
            cached = self._uplift.get(name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        model = UpliftModel.load(self.uplift_dir(name))
        with self._lock:
            self._uplift[name] = (stamp, model)
        return model

    def save_uplift_model(self, name: str, model) -> Path:
        """Save a fitted uplift model under ``name`` (replacing one of that name)."""
        with self.lock("uplift", name):
            path = model.save(self.uplift_dir(name))
            with self._lock:
                self._uplift.pop(name, None)
        return path

    def spool_dir(self) -> Path:
        """A private folder inside the workspace for files being uploaded (never the system's /tmp:
        they hold customer data); each caller makes and removes its own sub-folder."""
        d = self.home / ".spool"
        d.mkdir(mode=0o700, exist_ok=True)
        return d

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
