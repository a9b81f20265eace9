"""Where customers come from: a fitted model directory, a clean parquet table or a raw export.

Every command and the service accept any of the three wherever customers are needed; these
functions decide which one a path is and load it. They print nothing: pass a ``progress``
object (see :class:`Progress`) to show steps — the CLI passes spinners on stderr.

>>> import tempfile, pandas as pd
>>> d = tempfile.mkdtemp()
>>> pd.DataFrame({"customer_id": ["A"], "never_purchased": [False], "total_spent": [1.0]}).to_parquet(d + "/c.parquet")
>>> is_clean_table(d + "/c.parquet"), is_clean_table(d + "/raw.csv")
(True, False)
>>> list(load_customers(d + "/c.parquet").customer_id)
['A']
"""

from __future__ import annotations

import json
import os
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Protocol

import pandas as pd
import pyarrow.parquet as pq

from lookalike.cleaning.cache import clean_file
from lookalike.cleaning.table import CleanResult
from lookalike.finder import LookalikeFinder
from lookalike.io import file_digest

PathLike = str | os.PathLike[str]
#: Columns that mark a parquet file as a clean customer table (and ``total_spent_dirty`` as a raw one).
CLEAN_MARKERS = frozenset({"customer_id", "never_purchased", "total_spent"})


class Progress(Protocol):
    """How a long load reports itself: ``step(label)`` wraps a step, ``note(message)`` adds a remark."""

    def step(self, label: str) -> AbstractContextManager[object]: ...

    def note(self, message: str) -> None: ...


class Silent:
    """A :class:`Progress` that shows nothing (the default)."""

    def step(self, label: str) -> AbstractContextManager[object]:
        return nullcontext()

    def note(self, message: str) -> None:
        return None


SILENT = Silent()


def is_clean_table(path: PathLike) -> bool:
    """True when ``path`` is a parquet file with the clean table's columns (not a raw export)."""
    path = Path(path)
    if path.suffix.lower() not in (".parquet", ".pq"):
        return False
    try:
        names = set(pq.read_schema(path).names)
    except Exception:  # unreadable or not parquet: the raw reader gives the precise error later
        return False
    return CLEAN_MARKERS <= names and "total_spent_dirty" not in names


def load_clean(path: PathLike, *, columns: PathLike | None = None, cache_dir: PathLike | None = None,
               progress: Progress = SILENT) -> CleanResult:
    """Read and clean a raw export; with ``cache_dir``, an unchanged file's clean table is reused."""
    path = Path(path)
    with progress.step(f"read + clean {path.name}"):
        result, hit = clean_file(path, cache_dir=cache_dir, columns=columns)
    if hit:
        progress.note("unchanged file: clean table taken from the cache")
    return result


def load_model(path: PathLike, *, progress: Progress = SILENT) -> LookalikeFinder:
    """A saved model directory."""
    with progress.step(f"load model {path}"):
        return LookalikeFinder.load(path)


def load_customers(source: PathLike, *, columns: PathLike | None = None, cache_dir: PathLike | None = None,
                   progress: Progress = SILENT) -> pd.DataFrame:
    """The clean customer table of a model directory, a clean parquet table or a raw export."""
    source = Path(source)
    if source.is_dir():
        return load_model(source, progress=progress).customers_
    if is_clean_table(source):
        return pd.read_parquet(source)
    return load_clean(source, columns=columns, cache_dir=cache_dir, progress=progress).customers


def load_finder(source: PathLike, *, columns: PathLike | None = None, cache_dir: PathLike | None = None,
                progress: Progress = SILENT) -> LookalikeFinder:
    """A fitted finder: loaded from a model directory, else fitted on the (cleaned) customers."""
    source = Path(source)
    if source.is_dir():
        return load_model(source, progress=progress)
    customers = load_customers(source, columns=columns, cache_dir=cache_dir, progress=progress)
    with progress.step(f"fit {len(customers):,} customers"):
        return LookalikeFinder().fit(customers)


def load_quality(source: PathLike, *, cache_dir: PathLike | None = None,
                 progress: Progress = SILENT) -> dict | None:
    """The quality report of ``source``: the ``quality.json`` next to it (clean dir / model dir),
    else the report of cleaning a raw export; None for a clean table without one."""
    source = Path(source)
    near = (source / "quality.json", source.parent / "quality.json") if source.is_dir() else (
        source.parent / "quality.json",)
    for cand in near:
        if cand.is_file():
            return json.loads(cand.read_text("utf-8"))
    if source.is_file() and not is_clean_table(source):
        return load_clean(source, cache_dir=cache_dir, progress=progress).report.to_dict()
    return None


def fingerprint(source: PathLike) -> str:
    """What an audience was built from, for its manifest: a model's manifest digest, else the file's."""
    source = Path(source)
    if source.is_dir():
        return "model:" + file_digest(source / "manifest.json")[:32]
    return "file:" + file_digest(source)[:32]


__all__ = ["CLEAN_MARKERS", "Progress", "SILENT", "Silent", "fingerprint", "is_clean_table", "load_clean",
           "load_customers", "load_finder", "load_model", "load_quality"]
