"""``LookalikeFinder``: fit the feature pipeline and a kNN index on clean customers, then query it.

>>> import lookalike as lk
>>> from lookalike.synth import generate
>>> data = generate(2000, seed=3)
>>> finder = lk.LookalikeFinder().fit(lk.clean_customers(data.raw).customers)
>>> out = finder.find_lookalikes(finder.customers_.customer_id.iloc[0], k=5)
>>> list(out.columns)[:2], len(out), bool(out.distance.is_monotonic_increasing)
(['customer_id', 'vip_flag'], 5, True)
"""

from __future__ import annotations

import logging
import numbers
import os
import warnings
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.base import BaseEstimator

from lookalike._version import __version__
from lookalike import index as knn  # module attributes: its graph size limit is read at call time
from lookalike.audience import expand as expansion  # module attribute: looked up at call time
from lookalike.audience.expand import AudienceResult
from lookalike.audience.scoring import check_scorer, value_column_of, value_percentile_ranks
from lookalike.cleaning.ids import canonical_id, canonical_ids  # re-exported: lookalike.finder.canonical_id(s)
from lookalike.errors import InputError, ModelFormatError, ParameterError, UnknownCustomerError
from lookalike.features import FeatureSpec, check_feature_input, make_feature_pipeline
from lookalike.index import DEFAULT_RECALL_FLOOR, INDEX_KINDS, LOW_RECALL_POLICIES, IndexReport, NeighborIndex, build_index
from lookalike.io import MANIFEST_NAME, atomic_path, read_manifest, write_manifest, write_table

log = logging.getLogger(__name__)

MODEL_FORMAT = "lookalike-model"
MODEL_FORMAT_VERSION = 1
#: Columns of ``find_lookalikes`` output, in order (those present in the fitted table).
LOOKALIKE_COLUMNS = ("customer_id", "vip_flag", "total_spent", "total_orders", "region", "fav_category")
_MANIFEST = MANIFEST_NAME
_CUSTOMERS = "customers.parquet"
_FEATURES = "features.npy"
#: The files :meth:`LookalikeFinder.save` writes into a model directory.
MODEL_FILES = (_MANIFEST, _CUSTOMERS, _FEATURES)


#: Above this many customers the feature pipeline's statistics (medians, means, scales, categories)
#: are fitted on a fixed random sample of this size, and features are computed in batches: the
#: full-table fit would hold float64 copies of every column (several GiB at 10M rows).
FIT_SAMPLE = 1_000_000
TRANSFORM_BATCH = 500_000


def _fit_pipeline(pipeline, table: pd.DataFrame):
    """Fit on the whole table, or on a deterministic sample of ``FIT_SAMPLE`` rows above that size."""
    if len(table) <= FIT_SAMPLE:
        return pipeline.fit(table)
    rows = np.sort(np.random.default_rng(0).choice(len(table), FIT_SAMPLE, replace=False))
    return pipeline.fit(table.iloc[rows])


def _fit_transform(pipeline, table: pd.DataFrame) -> np.ndarray:
    """Fitted features as float32, transformed in batches (never a float64 copy of the whole matrix);
    above ``FIT_SAMPLE`` rows the statistics come from a sample."""
    if len(table) <= TRANSFORM_BATCH:
        return np.ascontiguousarray(pipeline.fit_transform(table), dtype=np.float32)
    _fit_pipeline(pipeline, table)
    X = np.empty((len(table), len(pipeline.get_feature_names_out())), dtype=np.float32)
    for start in range(0, len(table), TRANSFORM_BATCH):  # blocks of rows, never one row at a time
        X[start : start + TRANSFORM_BATCH] = pipeline.transform(table.iloc[start : start + TRANSFORM_BATCH])
    return X


def _single_chunks(table: pd.DataFrame) -> pd.DataFrame:
    """The Arrow-backed columns ``find_lookalikes`` returns (the ids) in one chunk each: ``take`` on
    a chunked Arrow array reads every chunk (26 ms for 3 rows of 2M; 90 ms a query at 10M), on
    one chunk it costs the rows taken. Tables cleaned in batches arrive with one chunk per batch;
    other columns stay as they are (a copy of free text would cost memory for one-off takes)."""
    merged = {}
    for c in LOOKALIKE_COLUMNS:
        if c not in table.columns:
            continue
        values = table[c].array
        if isinstance(values, pd.arrays.ArrowExtensionArray):
            data = pa.array(values)
            if isinstance(data, pa.ChunkedArray) and data.num_chunks > 1:
                merged[c] = pd.array(data.combine_chunks(), dtype=values.dtype)
    return table.assign(**merged) if merged else table


def _read_only(arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """The arrays, no longer writeable: a finder shares them with every expansion."""
    for a in arrays:
        a.flags.writeable = False
    return arrays


def saved_spec(path: str | os.PathLike[str]) -> FeatureSpec:
    """The feature spec a saved model was fitted with (its manifest checked, the model not loaded)."""
    manifest = read_manifest(path, fmt=MODEL_FORMAT, version=MODEL_FORMAT_VERSION, files=(_CUSTOMERS, _FEATURES),
                             what="a Lookalike model", fix="refit the model with lookalike fit")
    try:
        return FeatureSpec.from_dict(manifest["spec"])
    except (KeyError, TypeError) as exc:
        raise ModelFormatError(f"{Path(path) / _MANIFEST} has an invalid feature spec ({exc}); refit the model") from None


class LookalikeFinder(BaseEstimator):
    """Exact k-nearest-neighbour lookalikes over scaled customer features.

    A scikit-learn estimator: ``__init__`` only stores the parameters below (``get_params``,
    ``set_params`` and ``sklearn.base.clone`` work), :meth:`fit` validates them and returns the
    finder, and what it learns ends in ``_`` (``customers_``, ``X_``, ``index_``, ...). It is fitted
    on a clean customer table rather than on a numeric matrix (the feature pipeline is part of it).

    Parameters
    ----------
    features:
        A :class:`~lookalike.features.FeatureSpec`; ``None`` uses the default spec
        (never ``vip_flag``, ``vip_score``, ``gender`` or contact columns).
    weights:
        Per-column or per-group weights (groups: demographics, value, behaviour, preferences).
    scorer:
        Default scoring rule of :meth:`expand`: ``"auto"``, ``"seed_share"``,
        ``"seed_distance"`` or ``"classifier"`` (see :mod:`lookalike.audience.scoring`).
    index:
        ``"auto"`` (exact while one query takes under 1 ms on this machine, about 100k customers;
        IVF above), ``"exact"``
        (FAISS flat), ``"faiss-flat"``, ``"sklearn"``, ``"hnsw"`` or ``"ivf"``; see
        :mod:`lookalike.index`. The build is described by :attr:`index_report`.
    recall_floor:
        Minimum recall@10 an approximate index must measure against exact search at build time.
    on_low_recall:
        Below the floor: ``"exact"`` falls back to exact search (logged), ``"raise"`` raises
        :class:`~lookalike.errors.RecallFloorError`.
    """

    def __init__(
        self,
        features: FeatureSpec | None = None,
        weights: Mapping[str, float] | None = None,
        scorer: str = "auto",
        index: str = "auto",
        recall_floor: float = DEFAULT_RECALL_FLOOR,
        on_low_recall: str = "exact",
    ):
        self.features = features
        self.weights = weights
        self.scorer = scorer
        self.index = index
        self.recall_floor = recall_floor
        self.on_low_recall = on_low_recall

    # ------------------------------------------------------------------ fit
    def fit(self, customers: pd.DataFrame) -> "LookalikeFinder":
        """Fit the feature pipeline and build the index on a clean customer table."""
        if not isinstance(customers, pd.DataFrame):
            raise ParameterError(f"fit expects a pandas DataFrame of clean customers, got {type(customers).__name__}")
        check_scorer(self.scorer)
        if self.index not in INDEX_KINDS:
            raise ParameterError(f"unknown index {self.index!r}; choose one of {', '.join(INDEX_KINDS)}")
        if self.on_low_recall not in LOW_RECALL_POLICIES:
            raise ParameterError(f"on_low_recall must be one of {', '.join(LOW_RECALL_POLICIES)}, "
                                 f"got {self.on_low_recall!r}")
        spec = self.features or FeatureSpec.default()
        spec.validate()
        if "customer_id" not in customers.columns:
            raise InputError("the customer table has no customer_id column; clean the export first (lookalike clean)")
        check_feature_input(customers, spec)
        n = len(customers)
        if n < 2:
            raise InputError(f"the customer table has {n} row(s); lookalikes need at least 2 customers")
        ids = customers["customer_id"].astype(str)
        dupes = ids[ids.duplicated(keep=False)]
        if len(dupes):
            example = ", ".join(repr(v) for v in dupes.unique()[:3])
            raise InputError(
                f"customer_id has {dupes.nunique():,} duplicated id(s) (e.g. {example}); "
                "clean the export with lookalike clean, which merges duplicates"
            )
        table = customers.reset_index(drop=True)
        pipeline = make_feature_pipeline(spec, self.weights)
        X = _fit_transform(pipeline, table)
        # every expansion ranks by the value column: its ranks once per table, before the index (whose
        # build is the peak of a fit: the sort's scratch memory is freed by then; 10M: 5.6 -> 5.3 GiB)
        column = value_column_of(table)
        values = _read_only(value_percentile_ranks(table[column])) if column is not None else None
        base = expansion.base_profile(table, spec)  # the audience profile's base column: the table's alone, too
        self._set_state(spec, pipeline, table, X)
        if values is not None:
            self._values[column] = values
        self._base = base
        return self

    def _set_state(self, spec: FeatureSpec, pipeline, table: pd.DataFrame, X: np.ndarray) -> None:
        bad = ~np.isfinite(X.sum(axis=0, dtype=np.float64))  # a NaN or inf makes its column's sum one; no n x d mask
        if bad.any():
            names = pipeline.get_feature_names_out()[bad]
            raise InputError(
                f"feature(s) {', '.join(names[:5])} have infinite or absurd values; "
                "check those columns in the quality report and fix or remove the rows"
            )
        table = _single_chunks(table)
        self.spec_ = spec
        self.pipeline_ = pipeline
        self.customers_ = table
        self.X_ = X
        self.feature_names_ = [str(c) for c in pipeline.get_feature_names_out()]
        self.n_customers_ = len(table)
        self.ids_ = pd.Index(table["customer_id"].astype(str).to_numpy())
        self.index_: NeighborIndex = build_index(X, self.index, recall_floor=self.recall_floor,
                                                 on_low_recall=self.on_low_recall)
        log.info("%s", self.index_.report.summary())
        self._graphs: dict[int, tuple] = {}
        self._values: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._base: tuple | None = None
        self._out = {c: table[c].array for c in LOOKALIKE_COLUMNS if c in table.columns}  # keeps Int64/category
        self._out_columns = pd.Index([*self._out, "distance"])

    def value_ranks(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Percentiles and average ranks of a value column of the fitted table (read-only arrays).

        :func:`~lookalike.audience.candidates.value_percentile_ranks`, computed once per column and
        kept: they depend on the table alone, not on the seeds, and sorting 10M values is seconds of
        every expansion. :meth:`fit` computes the default value column's (``total_spent``).
        """
        self._check_fitted()
        if column not in self._values:
            if column not in self.customers_.columns:
                raise ParameterError(f"value column {column!r} is not in the customer table; name a numeric "
                                     "column such as total_spent")
            self._values[column] = _read_only(value_percentile_ranks(self.customers_[column]))
        return self._values[column]

    def base_profile(self) -> tuple:
        """The base column of every audience profile (:func:`~lookalike.audience.expand.base_profile`):
        each numeric feature's mean and each category's share over the fitted table.

        Computed once and kept, like :meth:`value_ranks`: it depends on the table alone (0.3-0.5 s of
        every expansion at 10M). :meth:`fit` computes it; a loaded finder on first use.
        """
        self._check_fitted()
        if self._base is None:
            self._base = expansion.base_profile(self.customers_, self.spec_)
        return self._base

    @property
    def index_report(self) -> IndexReport:
        """How the kNN index was built: backend, parameters, build time, measured recall, any fallback."""
        self._check_fitted()
        return self.index_.report

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "index_")

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise ParameterError("this LookalikeFinder is not fitted yet; call fit(customers) or LookalikeFinder.load(dir)")

    # -------------------------------------------------------------- queries
    def positions(self, customer_ids) -> np.ndarray:
        """Row positions of ``customer_ids`` in the fitted table; unknown ids raise ``UnknownCustomerError``."""
        self._check_fitted()
        if isinstance(customer_ids, (str, bytes)) or not hasattr(customer_ids, "__iter__"):
            # the hot path of find_lookalikes: a hash lookup, no array building (~0.4 µs vs ~200 µs)
            one = canonical_id(customer_ids)
            try:
                return np.array([self.ids_.get_loc(one)], dtype=np.int64)
            except KeyError:
                raise UnknownCustomerError([one], self.n_customers_) from None
        wanted = canonical_ids(customer_ids)
        pos = self.ids_.get_indexer(wanted)
        if (pos < 0).any():
            raise UnknownCustomerError([w for w, p in zip(wanted, pos) if p < 0], self.n_customers_)
        return pos

    def _check_k(self, k: object) -> int:
        if isinstance(k, bool) or not isinstance(k, numbers.Integral):
            raise ParameterError(f"k must be a whole number, got {k!r}")
        k = int(k)
        limit = self.n_customers_ - 1
        if k < 1:
            raise ParameterError(f"k must be at least 1 (the number of lookalikes to return), got k = {k}")
        if k > limit:
            raise ParameterError(
                f"expected 1 <= k <= {limit} (the other customers in the table), but k = {k}, "
                f"n_customers = {self.n_customers_}; choose a smaller k"
            )
        return k

    def find_lookalikes(self, customer_id: str, k: int = 10) -> pd.DataFrame:
        """The ``k`` customers nearest to ``customer_id``, nearest first, the customer itself excluded.

        Columns: customer_id, vip_flag, total_spent, total_orders, region, fav_category, distance.
        """
        self._check_fitted()
        k = self._check_k(k)
        pos = int(self.positions(customer_id)[0])
        dist, idx = self.index_.search(self.X_[pos : pos + 1], k + 1)
        dist, idx = dist[0], idx[0]
        keep = (idx != pos) & (idx >= 0)
        idx, dist = idx[keep][:k], dist[keep][:k]
        arrays = [v.take(idx) for v in self._out.values()] + [dist.astype(np.float64)]
        # the constructor from a dict spends ~50 µs (of ~0.4 ms a query) inferring the columns' index;
        # the columns are known (tests/test_finder.py holds the result equal to the dict-built frame)
        return pd.DataFrame._from_arrays(arrays, columns=self._out_columns, index=pd.RangeIndex(len(idx)),
                                         verify_integrity=False)

    def neighbour_graph(self, k: int) -> tuple[np.ndarray, np.ndarray, str]:
        """The ``k`` nearest neighbours of every customer (cached: seed sets change, the graph does not)."""
        self._check_fitted()
        if k not in self._graphs:
            self._graphs[k] = knn.knn_graph(self.X_, k)
        return self._graphs[k]

    def weighted_graph(self, weights: np.ndarray, k: int,
                       seeds: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, str]:
        """The ``k`` nearest neighbours under per-column ``weights``.

        Exact up to ``EXACT_GRAPH_MAX`` customers; above, the cached unweighted graph with a
        pool of ``2k`` neighbours is re-ranked under the weights (approximate). With ``seeds``
        (a boolean mask), only rows whose pool holds a seed are re-ranked: the others have no
        seed neighbour under any re-ranking, so their row is left empty (-1).
        """

        if self.n_customers_ <= knn.EXACT_GRAPH_MAX:
            return knn.knn_graph(self.X_ * weights, k, method="exact")
        _, pool, method = self.neighbour_graph(2 * k)
        if seeds is None:
            dist, idx = knn.rerank_graph(self.X_, weights, pool, k)
            return dist, idx, f"{method}+rerank"
        rows = np.flatnonzero(seeds[pool].any(axis=1))
        k_eff = min(k, pool.shape[1])
        dist = np.full((self.n_customers_, k_eff), np.inf, dtype=np.float32)
        idx = np.full((self.n_customers_, k_eff), -1, dtype=np.int64)
        dist[rows], idx[rows] = knn.rerank_graph(self.X_, weights, pool[rows], k_eff, rows=rows)
        return dist, idx, f"{method}+rerank"

    def build_audience(self, seeds: object = None, size: object = None, **options) -> AudienceResult:
        """Expand ``seeds`` into an explained audience with diagnostics, reach curve and profiles.

        ``seeds``: ``"vip"`` (the default), a list of ids, an id file, a rule (list of conditions) or a
        list of :class:`~lookalike.audience.expand.SeedSet`. ``size``: a count, a share of the base
        (0.05) or ``"5%"`` (the default). Options: the fields of
        :class:`~lookalike.audience.options.AudienceOptions` as keywords, or ``options=`` one; see
        :func:`lookalike.audience.expand.build_audience`.
        """
        return expansion.build_audience(self, seeds, size, **options)

    def expand(self, seed_ids: object = None, size: object = None, **options) -> pd.DataFrame:
        """The audience of :meth:`build_audience` as a DataFrame, best first.

        Columns: customer_id, rank (1..n), similarity (0..1), reason, plus the clean
        table's columns (no contact data). Exactly ``size`` rows unless fewer customers
        qualify; then a ``UserWarning`` says why.
        """
        result = self.build_audience(seed_ids, size, **options)
        for warning in result.warnings:
            if warning.code == "too_few_candidates":
                warnings.warn(warning.message, UserWarning, stacklevel=2)
        return result.audience

    def transform(self, customers: pd.DataFrame) -> np.ndarray:
        """Feature vectors (float32) of ``customers`` with the fitted pipeline."""
        self._check_fitted()
        check_feature_input(customers, self.spec_)
        return np.ascontiguousarray(self.pipeline_.transform(customers), dtype=np.float32)

    # ---------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save to a directory: manifest.json + customers.parquet + features.npy (no pickle).

        The manifest records the format version, the spec, the weights and a SHA-256
        of each file; :meth:`load` refuses a directory whose files do not match.
        """
        self._check_fitted()
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        write_table(self.customers_, root / _CUSTOMERS)
        with atomic_path(root / _FEATURES) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, self.X_, allow_pickle=False)
        manifest = {
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "lookalike_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "spec": self.spec_.to_dict(),
            "weights": dict(self.weights or {}),
            "index": self.index,
            "recall_floor": self.recall_floor,
            "on_low_recall": self.on_low_recall,
            "index_report": self.index_.report.to_dict(),
            "scorer": self.scorer,
            "n_customers": self.n_customers_,
            "feature_names": self.feature_names_,
        }
        write_manifest(root, manifest, (_CUSTOMERS, _FEATURES))
        return root

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "LookalikeFinder":
        """Load a finder saved by :meth:`save`, checking format version and file hashes."""
        root = Path(path)
        mpath = root / _MANIFEST
        manifest = read_manifest(root, fmt=MODEL_FORMAT, version=MODEL_FORMAT_VERSION, files=(_CUSTOMERS, _FEATURES),
                                 what="a Lookalike model", fix="refit the model with lookalike fit")
        try:
            spec = FeatureSpec.from_dict(manifest["spec"])
            finder = cls(features=spec, weights=manifest.get("weights") or None,
                         scorer=manifest.get("scorer", "auto"), index=manifest.get("index", "auto"),
                         recall_floor=manifest.get("recall_floor", DEFAULT_RECALL_FLOOR),
                         on_low_recall=manifest.get("on_low_recall", "exact"))
        except (KeyError, TypeError) as exc:
            raise ModelFormatError(f"{mpath} has an invalid feature spec ({exc}); refit the model") from None
        table = pd.read_parquet(root / _CUSTOMERS, engine="pyarrow")
        with open(root / _FEATURES, "rb") as fh:
            X = np.load(fh, allow_pickle=False)
        # Refit the (deterministic) pipeline on the saved table instead of unpickling it,
        # then check it reproduces the saved features: guards against library changes.
        pipeline = make_feature_pipeline(spec, finder.weights)
        sample = slice(0, min(len(table), 2000))
        _fit_pipeline(pipeline, table)
        again = pipeline.transform(table.iloc[sample])
        if X.shape != (len(table), len(manifest.get("feature_names", []))) or not np.allclose(
            again, X[sample], atol=1e-4
        ):
            raise ModelFormatError(
                f"{root}: the saved features cannot be reproduced by this version's feature pipeline; refit the model"
            )
        finder._set_state(spec, pipeline, table, np.ascontiguousarray(X, dtype=np.float32))
        return finder

