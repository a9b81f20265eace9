"""Nearest-neighbour index backends behind one small interface.

Every backend answers ``search(queries, k) -> (distances, indices)`` with
Euclidean (not squared) distances, nearest first, as float32/int64 arrays of
shape ``(n_queries, k)`` (``-1`` marks a missing neighbour), and carries an
:class:`IndexReport` saying what was built and how good it is.

Backends (FAISS is imported lazily):

``exact`` / ``faiss-flat``
    FAISS ``IndexFlatL2``: exact. About 7x faster than scikit-learn's brute force
    for single queries at 100k rows on the development machine (0.83 ms against
    5.7 ms; 153 ms against 534 ms at 10M), so it is the exact default.
``sklearn``
    scikit-learn ``NearestNeighbors(algorithm="brute")``: exact; the fallback when
    FAISS is not importable, kept for parity tests.
``hnsw``
    FAISS ``IndexHNSWFlat`` (graph; no training step): approximate.
``ivf``
    FAISS ``IndexIVFFlat`` (k-means inverted lists; builds ~7x faster than HNSW at
    1M rows): approximate, for the largest tables.

``auto`` chooses by measured cost: exact search while one query is predicted to take at most
:data:`EXACT_QUERY_BUDGET_MS` on this machine (:func:`exact_query_cost`: a cost in n × d,
calibrated once per process by timing single queries, and checked on the built index), IVF
beyond. HNSW is built only when asked for (its build takes seconds at 100k rows and minutes at
1M+). Every approximate index measures its recall@k against exact search on a sample of indexed
rows at build time (the sample shrinks on large tables so the exact ground truth stays within
:data:`RECALL_CHECK_SECONDS`) and tunes its search effort (``nprobe`` / ``efSearch``) to the
smallest value meeting the floor (default 0.95; :func:`tune_effort`: halve or double from the
start, then bisect, within :data:`TUNE_SECONDS`); when even 16 times the starting effort misses
the floor it either falls back to exact search (``on_low_recall="exact"``, logged and recorded in
the report) or raises :class:`~lookalike.errors.RecallFloorError` (``on_low_recall="raise"``).

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(3000, 8)).astype("float32")
>>> ivf = build_index(x, "ivf", random_state=0)
>>> ivf.report.kind, ivf.report.recall >= 0.95
('ivf', True)
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from lookalike.errors import ParameterError, RecallFloorError

log = logging.getLogger(__name__)

INDEX_KINDS = ("auto", "exact", "faiss-flat", "sklearn", "hnsw", "ivf")
LOW_RECALL_POLICIES = ("exact", "raise")
#: ``auto`` searches exactly while a single query is predicted to take at most this long.
EXACT_QUERY_BUDGET_MS = 1.0
#: time allowed for the exact ground truth of the recall check (fewer sampled queries on large tables)
RECALL_CHECK_SECONDS = 6.0
#: time allowed for the effort search after its first measurement (it keeps the best passing effort so far)
TUNE_SECONDS = 10.0
_MIN_RECALL_QUERIES = 100
DEFAULT_RECALL_FLOOR = 0.95
#: the effort search aims this far above the floor, so the chosen effort is not fitted to
#: the sampled queries alone (on 1M customers, recall on other queries differed by up to ~0.005)
RECALL_MARGIN = 0.005
#: ... and wants the floor under the recall's one-sided 95% lower bound over its sampled queries
#: (mean - z·sd/√q): on 10M customers, 238 queries put nprobe 18 at 0.956 while 1,000 others
#: measured 0.948 (per-query recall sd 0.09); the margin alone was fitted to the sample
RECALL_Z = 1.645
_SINGLE_THREAD_BELOW = 4
_MAX_WIDENINGS = 4  # the effort search goes up to 2**4 = 16 times the starting effort


@dataclass(frozen=True)
class IndexReport:
    """What an index build produced: backend, parameters, time and measured recall."""

    kind: str                  # the backend that answers queries
    requested: str             # what was asked for (``auto`` included)
    n: int
    dim: int
    params: dict = field(default_factory=dict)
    build_seconds: float = 0.0
    recall: float | None = None          # recall@k of the approximate index (None: exact)
    recall_k: int = 10
    recall_queries: int = 0
    recall_floor: float = DEFAULT_RECALL_FLOOR
    fallback: str | None = None          # why an approximate index was replaced by exact search
    cost: dict = field(default_factory=dict)  # why ``auto`` chose it: predicted and measured query times

    @property
    def exact(self) -> bool:
        """True when queries are answered by exact search."""
        return self.kind in ("faiss-flat", "sklearn")

    def to_dict(self) -> dict:
        """A JSON-serialisable dict."""
        return {**asdict(self), "exact": self.exact}

    def summary(self) -> str:
        """One line for logs and the CLI."""
        text = f"{self.kind} index over {self.n:,} x {self.dim} in {self.build_seconds:.1f} s"
        if self.params:
            text += " (" + ", ".join(f"{k}={v}" for k, v in self.params.items()) + ")"
        if self.recall is not None:
            text += f"; recall@{self.recall_k} {self.recall:.3f} on {self.recall_queries} queries (floor {self.recall_floor})"
        if self.cost.get("query_ms") is not None:
            text += f"; one query {self.cost['query_ms']:.2f} ms"
        if self.fallback:
            text += f"; {self.fallback}"
        return text


@runtime_checkable
class NeighborIndex(Protocol):
    """What every index backend offers."""

    name: str
    report: IndexReport

    @property
    def ntotal(self) -> int:
        """Number of indexed vectors."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and row indices of the ``k`` nearest indexed vectors of each query."""


class _FaissIndex:
    """Shared FAISS plumbing: optional zero padding, thread capping for a few queries."""

    name = "faiss"
    _pad = 0

    def __init__(self) -> None:
        import faiss

        self._faiss = faiss
        self._index = None
        self.report = IndexReport(self.name, self.name, 0, 0)

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def _padded(self, x: np.ndarray) -> np.ndarray:
        if not self._pad:
            return x
        out = np.zeros((x.shape[0], x.shape[1] + self._pad), dtype=np.float32)  # np.pad costs ~0.1 ms a call
        out[:, : x.shape[1]] = x
        return out

    def to_bytes(self) -> bytes:
        """The index as bytes (``faiss.serialize_index`` plus a small JSON header), e.g. to broadcast it."""
        head = json.dumps({"name": self.name, "pad": self._pad, "report": self.report.to_dict()}).encode()
        body = self._faiss.serialize_index(self._index)
        return len(head).to_bytes(4, "little") + head + body.tobytes()

    @staticmethod
    def from_bytes(data: bytes) -> "_FaissIndex":
        """Rebuild an index written by :meth:`to_bytes` (searches exactly like the original)."""
        import faiss

        size = int.from_bytes(data[:4], "little")
        head = json.loads(data[4 : 4 + size])
        out = _FaissIndex.__new__(_FaissIndex)
        out._faiss = faiss
        out._index = faiss.deserialize_index(np.frombuffer(data[4 + size :], dtype=np.uint8))
        out._pad, out.name = int(head["pad"]), head["name"]
        rep = {k: v for k, v in head["report"].items() if k != "exact"}
        out.report = IndexReport(**rep)
        return out

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = self._padded(_as_matrix(queries))
        if q.shape[0] <= _SINGLE_THREAD_BELOW:
            # A few queries are memory-bound: a second OpenMP thread only adds spin-waiting,
            # which costs 2-20x when another process shares the cores. FAISS keeps the thread
            # count per process, so it is restored right after.
            threads = self._faiss.omp_get_max_threads()
            self._faiss.omp_set_num_threads(1)
            try:
                d2, idx = self._index.search(q, k)
            finally:
                self._faiss.omp_set_num_threads(threads)
        else:
            d2, idx = self._index.search(q, k)
        # FAISS returns squared distances, with tiny negatives from rounding
        return np.sqrt(np.maximum(d2, 0.0)), idx.astype(np.int64, copy=False)


class FaissFlatIndex(_FaissIndex):
    """Exact search with FAISS ``IndexFlatL2``."""

    name = "faiss-flat"

    def __init__(self, vectors: np.ndarray):
        super().__init__()
        x = _as_matrix(vectors)
        # zero-padding to a multiple of 8 leaves distances unchanged and lets FAISS use whole
        # AVX2 registers: about 15% faster single queries at 31 features
        self._pad = (-x.shape[1]) % 8
        self._index = self._faiss.IndexFlatL2(x.shape[1] + self._pad)
        for start in range(0, x.shape[0], _ADD_CHUNK):  # padded copies one chunk at a time
            self._index.add(self._padded(x[start : start + _ADD_CHUNK]))
        self.report = IndexReport(self.name, self.name, x.shape[0], x.shape[1])


class FaissHNSWIndex(_FaissIndex):
    """Approximate search with FAISS ``IndexHNSWFlat`` (``M`` links per node)."""

    name = "hnsw"

    def __init__(self, vectors: np.ndarray, *, M: int = 32, ef_construction: int = 40, ef_search: int = 64):
        super().__init__()
        x = _as_matrix(vectors)
        self._m = int(M)
        self._index = self._faiss.IndexHNSWFlat(x.shape[1], self._m)
        self._index.hnsw.efConstruction = int(ef_construction)
        self._index.add(x)
        self.set_effort(ef_search)
        self.report = IndexReport(self.name, self.name, x.shape[0], x.shape[1], self.params)

    #: efSearch below k is raised to k by FAISS; below 10 the effort search stops
    min_effort = 10
    max_effort = 4096

    def set_effort(self, value: int) -> None:
        """Search effort: ``efSearch`` (candidates kept while walking the graph)."""
        self._index.hnsw.efSearch = int(value)

    @property
    def effort(self) -> int:
        return int(self._index.hnsw.efSearch)

    @property
    def params(self) -> dict:
        return {"M": self._m, "efSearch": self.effort,
                "efConstruction": int(self._index.hnsw.efConstruction)}


class FaissIVFIndex(_FaissIndex):
    """Approximate search with FAISS ``IndexIVFFlat``: ``nlist`` k-means cells, ``nprobe`` searched.

    ``nlist`` defaults to ``4·√n`` capped at 4096 (the development machine builds IVF4096
    over 10M×25 in about 25 s); the quantizer is trained on ``40·nlist`` sampled rows.
    """

    name = "ivf"

    def __init__(self, vectors: np.ndarray, *, nlist: int | None = None, nprobe: int | None = None,
                 random_state: int = 0):
        super().__init__()
        x = _as_matrix(vectors)
        n, d = x.shape
        if nlist is None:
            nlist = int(min(4096, max(1, 4 * np.sqrt(n))))
        nlist = max(1, min(int(nlist), n // 39 or 1))  # FAISS wants ~39 training points per cell
        quantizer = self._faiss.IndexFlatL2(d)
        self._index = self._faiss.IndexIVFFlat(quantizer, d, nlist)
        # 10 k-means iterations instead of FAISS' 25: the build's effort search makes up for the
        # slightly coarser cells with a few more probes, and training takes 2.5x less time
        self._index.cp.niter = 10
        self._quantizer = quantizer
        rng = np.random.default_rng(random_state)
        train = x[np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))]
        self._index.train(train)
        for start in range(0, n, _ADD_CHUNK):  # slices of a C-contiguous array: no copies
            self._index.add(x[start : start + _ADD_CHUNK])
        # 1/64 of the cells to start (the build's effort search narrows or widens from here): on
        # customer features (31 columns, one-hot blocks) recall@10 at 1M rows and 4000 cells was
        # 0.74 at nprobe 8, 0.94 at 32, 0.985 at 64
        self.set_effort(nprobe if nprobe is not None else max(8, nlist // 64))
        self.report = IndexReport(self.name, self.name, n, d, self.params)

    min_effort = 1

    @property
    def max_effort(self) -> int:
        """Searching every cell is exact (and slower than a flat scan): the effort search stops there."""
        return int(self._index.nlist)

    def set_effort(self, value: int) -> None:
        """Search effort: ``nprobe`` (cells searched per query)."""
        self._index.nprobe = int(min(max(1, value), self._index.nlist))

    @property
    def effort(self) -> int:
        return int(self._index.nprobe)

    @property
    def params(self) -> dict:
        return {"nlist": int(self._index.nlist), "nprobe": self.effort}


class SklearnExactIndex:
    """Exact search with scikit-learn's brute-force ``NearestNeighbors``."""

    name = "sklearn"

    def __init__(self, vectors: np.ndarray):
        from sklearn.neighbors import NearestNeighbors

        self._x = _as_matrix(vectors)
        self._nn = NearestNeighbors(algorithm="brute").fit(self._x)
        self.report = IndexReport(self.name, self.name, self._x.shape[0], self._x.shape[1])

    @property
    def ntotal(self) -> int:
        return int(self._x.shape[0])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        dist, idx = self._nn.kneighbors(_as_matrix(queries), n_neighbors=k)
        return dist.astype(np.float32, copy=False), idx.astype(np.int64, copy=False)


_ADD_CHUNK = 1_000_000


def resolve_kind(kind: str, n: int, dim: int = 32) -> str:
    """The backend ``kind`` stands for at ``n`` rows of ``dim`` features.

    ``auto`` is exact while :func:`exact_query_cost` predicts a single query within
    :data:`EXACT_QUERY_BUDGET_MS`, IVF beyond; HNSW only when asked for. (:func:`build_index`
    also times queries on the exact index it built and turns to IVF when they miss the budget.)

    >>> resolve_kind("auto", 20_000), resolve_kind("auto", 10_000_000), resolve_kind("hnsw", 10)
    ('exact', 'ivf', 'hnsw')
    """
    if kind not in INDEX_KINDS:
        raise ParameterError(f"unknown index {kind!r}; choose one of {', '.join(INDEX_KINDS)}")
    if kind != "auto":
        return kind
    return "exact" if exact_query_cost().predict_ms(n, dim) <= EXACT_QUERY_BUDGET_MS else "ivf"


@dataclass(frozen=True)
class ExactCost:
    """Time of exact FAISS search on this machine, linear in the stored values (rows × padded dims).

    ``single_ns``/``overhead_ms``: one query at a time (as ``find_lookalikes`` asks, one thread);
    ``batch_ns``: per query and stored value when many queries are searched at once (BLAS).
    """

    single_ns: float
    overhead_ms: float
    batch_ns: float

    def predict_ms(self, n: int, dim: int) -> float:
        """Predicted milliseconds of one exact query over ``n`` × ``dim`` vectors."""
        return self.overhead_ms + self.single_ns * n * _padded_dim(dim) / 1e6

    def batch_seconds(self, n_queries: int, n: int, dim: int) -> float:
        """Predicted seconds of ``n_queries`` exact queries searched together."""
        return self.batch_ns * n_queries * n * _padded_dim(dim) / 1e9

    def to_dict(self) -> dict:
        return {"single_ns_per_value": round(self.single_ns, 5), "overhead_ms": round(self.overhead_ms, 4),
                "batch_ns_per_value": round(self.batch_ns, 5)}


_COST: ExactCost | None = None


def exact_query_cost() -> ExactCost:
    """The exact-search cost model of this machine, measured on first use (about 0.1 s) and kept per process.

    Single queries are timed on float32 matrices of 2^13 and 2^16 rows × 32 columns (median of
    a few, after a warm-up); the difference gives the time per stored value, the rest is the
    per-query overhead. A batch of queries is timed on the larger one. Both fit in the CPU
    caches, so the prediction is a lower bound for tables that do not: ``auto`` checks it by
    timing queries on the built exact index (:func:`build_index`).
    """
    global _COST
    if _COST is None:
        _COST = _calibrate()
    return _COST


def _calibrate(dim: int = 32, reps: int = 9) -> ExactCost:
    sizes = (1 << 13, 1 << 16)
    # a flat search reads every value whatever it is: a constant matrix times like real data
    x = np.ones((sizes[1], dim), dtype=np.float32)
    try:
        times = []
        for n in sizes:
            index = FaissFlatIndex(x[:n])
            for i in range(3):  # warm-up
                index.search(x[i : i + 1], 11)
            t = []
            for i in range(reps):
                t0 = time.perf_counter()
                index.search(x[i : i + 1], 11)
                t.append(time.perf_counter() - t0)
            times.append(float(np.median(t)))
        batch = np.inf
        for _ in range(2):  # the first batch also starts FAISS' threads
            t0 = time.perf_counter()
            index.search(x[:32], 11)
            batch = min(batch, time.perf_counter() - t0)
    except ImportError:  # scikit-learn brute force: slower, predicted as such
        return ExactCost(single_ns=1.5, overhead_ms=0.2, batch_ns=0.2)
    single = max((times[1] - times[0]) / ((sizes[1] - sizes[0]) * dim) * 1e9, 1e-3)
    overhead = max(times[0] * 1e3 - single * sizes[0] * dim / 1e6, 0.0)
    return ExactCost(single_ns=single, overhead_ms=overhead, batch_ns=batch / (32 * sizes[1] * dim) * 1e9)


def _padded_dim(dim: int) -> int:
    return dim + (-dim) % 8


def _query_ms(index: NeighborIndex, x: np.ndarray, reps: int = 7) -> float:
    """Median milliseconds of single queries on a built index (rows of ``x`` as queries)."""
    rows = np.linspace(0, x.shape[0] - 1, reps).astype(np.int64)
    index.search(x[rows[:1]], 11)  # warm-up
    t = []
    for r in rows:
        t0 = time.perf_counter()
        index.search(x[r : r + 1], 11)
        t.append(time.perf_counter() - t0)
    return round(float(np.median(t)) * 1e3, 4)


def recall_queries_within(n: int, dim: int, wanted: int) -> int:
    """How many of ``wanted`` sampled queries the exact ground truth can afford within
    :data:`RECALL_CHECK_SECONDS` (at least 100): 500 at 1M rows, about 200 at 10M on the
    development machine."""
    per_query = exact_query_cost().batch_seconds(1, n, dim)
    affordable = int(RECALL_CHECK_SECONDS / per_query) if per_query > 0 else wanted
    return int(max(min(wanted, affordable), min(wanted, _MIN_RECALL_QUERIES)))


def build_index(
    vectors: np.ndarray,
    kind: str = "auto",
    *,
    recall_floor: float = DEFAULT_RECALL_FLOOR,
    on_low_recall: str = "exact",
    recall_k: int = 10,
    recall_queries: int = 500,
    tune: bool = True,
    nprobe: int | None = None,
    nlist: int | None = None,
    ef_search: int = 64,
    hnsw_m: int = 32,
    random_state: int = 0,
) -> NeighborIndex:
    """Build an index of ``kind`` over ``vectors`` and report it (``index.report``).

    Approximate kinds (``hnsw``, ``ivf``, or what ``auto`` picks) measure recall@``recall_k``
    against exact search on ``recall_queries`` sampled rows and, when ``tune``, set their search
    effort to the smallest one meeting ``recall_floor`` (:func:`tune_effort`, starting from
    ``nprobe``/``ef_search``). Below the floor even so, ``on_low_recall`` decides:
    ``"exact"`` falls back to an exact index (logged as a warning), ``"raise"`` raises
    :class:`~lookalike.errors.RecallFloorError`.
    """
    if on_low_recall not in LOW_RECALL_POLICIES:
        raise ParameterError(f"on_low_recall must be one of {', '.join(LOW_RECALL_POLICIES)}, got {on_low_recall!r}")
    if isinstance(recall_floor, bool) or not isinstance(recall_floor, (int, float)) or not 0 <= recall_floor <= 1:
        raise ParameterError(f"recall_floor must be a number between 0 and 1, got {recall_floor!r}")
    x = _as_matrix(vectors)
    resolved = resolve_kind(kind, x.shape[0], x.shape[1])
    cost = {}
    if kind == "auto":
        model = exact_query_cost()
        cost = {"budget_ms": EXACT_QUERY_BUDGET_MS, "exact_query_ms_predicted": round(model.predict_ms(*x.shape), 4),
                **model.to_dict()}
    start = time.perf_counter()
    if resolved in ("exact", "faiss-flat"):
        index = _exact(x, strict=resolved == "faiss-flat")
    elif resolved == "sklearn":
        index = SklearnExactIndex(x)
    else:
        try:
            index = _approximate(x, resolved, nprobe=nprobe, nlist=nlist, ef_search=ef_search, hnsw_m=hnsw_m,
                                 random_state=random_state)
        except ImportError:
            raise ParameterError(f"index {resolved!r} needs FAISS: pip install faiss-cpu") from None
    build = time.perf_counter() - start
    if index.report.exact and cost:
        # the prediction (a lower bound: calibrated in cache) checked on the index itself
        cost["query_ms"] = cost["exact_query_ms_measured"] = _query_ms(index, x)
        if cost["query_ms"] > EXACT_QUERY_BUDGET_MS and x.shape[0] > 1000:
            log.info("exact search takes %.2f ms a query over %d x %d (budget %.1f ms): building IVF",
                     cost["query_ms"], *x.shape, EXACT_QUERY_BUDGET_MS)
            del index
            index = _approximate(x, "ivf", nprobe=nprobe, nlist=nlist, ef_search=ef_search, hnsw_m=hnsw_m,
                                 random_state=random_state)
    if index.report.exact:
        index.report = IndexReport(index.name, kind, x.shape[0], x.shape[1], build_seconds=round(build, 3),
                                   recall_floor=float(recall_floor), cost=cost)
        return index
    n_truth = recall_queries_within(x.shape[0], x.shape[1], recall_queries)
    truth = recall_sample(x, k=recall_k, n_queries=n_truth, random_state=random_state)  # once
    if tune:
        recall, n_queries = tune_effort(index, x, truth, recall_floor)
    else:
        recall, n_queries = measure_recall(index, x, truth=truth)
    if cost:
        cost["query_ms"] = _query_ms(index, x)
    build = time.perf_counter() - start
    report = IndexReport(index.name, kind, x.shape[0], x.shape[1], index.params, round(build, 3), round(recall, 4),
                         int(min(recall_k, x.shape[0])), n_queries, float(recall_floor), cost=cost)
    if recall >= recall_floor:
        index.report = report
        return index
    problem = (f"{index.name} index recall@{report.recall_k} is {recall:.3f} on {n_queries} sampled queries "
               f"({', '.join(f'{k}={v}' for k, v in index.params.items())}), below the floor {recall_floor}")
    if on_low_recall == "raise":
        raise RecallFloorError(f"{problem}; raise nprobe/efSearch, lower the floor, or use index='exact'")
    log.warning("%s; falling back to exact search", problem)
    del index
    exact = _exact(x, strict=False)
    exact.report = IndexReport(exact.name, kind, x.shape[0], x.shape[1], report.params,
                               round(time.perf_counter() - start, 3), report.recall, report.recall_k, n_queries,
                               float(recall_floor), fallback=f"{problem}: fell back to exact search", cost=cost)
    return exact


def tune_effort(index, vectors: np.ndarray, truth: tuple[np.ndarray, np.ndarray],
                recall_floor: float, max_seconds: float = TUNE_SECONDS) -> tuple[float, int]:
    """Set ``index`` to the smallest search effort (``nprobe``/``efSearch``) meeting the recall floor.

    Every measurement uses the same ``truth`` sample; an effort meets the floor when
    :func:`recall_clears` says so (the floor plus :data:`RECALL_MARGIN`, and under the recall's
    lower confidence bound). From the index's starting effort ``e0`` the
    effort is halved while the floor is met, or doubled until it
    is (at most up to ``16·e0``, or ``nlist`` for IVF), then bisected between the last failing
    and the first passing value to within 1/8. The search cost of IVF and HNSW grows about
    linearly with the effort, so the smallest passing effort is the fastest index meeting the
    floor. When no effort up to the ceiling meets the floor, the ceiling is kept and its recall
    returned (the caller falls back or raises). Narrowing and bisecting stop once ``max_seconds``
    have passed (widening does not: it is what meets the floor); the smallest passing effort
    measured so far is kept. Returns (recall, number of queries).
    """
    seen: dict[int, float] = {}
    cleared: dict[int, bool] = {}
    n_queries = 0
    deadline = time.perf_counter() + max_seconds

    def passes(effort: int) -> bool:
        nonlocal n_queries
        if effort not in seen:
            index.set_effort(effort)
            per_query = query_recalls(index, vectors, truth)
            seen[effort], cleared[effort], n_queries = float(per_query.mean()), recall_clears(per_query, recall_floor), len(per_query)
        return cleared[effort]

    def in_time() -> bool:
        return time.perf_counter() < deadline

    start = index.effort
    ceiling = max(start, min(index.max_effort, start * 2**_MAX_WIDENINGS))
    floor_effort = index.min_effort
    if passes(start):
        hi, lo = start, None
        while hi > floor_effort and in_time():  # narrow while the floor still holds
            e = max(floor_effort, hi // 2)
            if not passes(e):
                lo = e
                break
            hi = e
    else:
        lo, hi = start, None
        while lo < ceiling:
            e = min(ceiling, lo * 2)
            if passes(e):
                hi = e
                break
            lo = e
    if hi is None:  # nothing up to the ceiling meets the target: keep the best measured
        best = max(seen, key=lambda e: (seen[e], -e))
        index.set_effort(best)
        return seen[best], n_queries
    while lo is not None and hi - lo > max(1, hi // 8) and in_time():
        mid = (lo + hi) // 2
        if passes(mid):
            hi = mid
        else:
            lo = mid
    index.set_effort(hi)
    return seen[hi], n_queries


def _exact(x: np.ndarray, *, strict: bool) -> NeighborIndex:
    try:
        return FaissFlatIndex(x)
    except ImportError:
        if strict:
            raise ParameterError("index 'faiss-flat' needs FAISS: pip install faiss-cpu") from None
        log.warning("FAISS is not installed; falling back to scikit-learn exact search (slower queries)")
        return SklearnExactIndex(x)


def _approximate(x: np.ndarray, kind: str, *, nprobe: int, nlist: int | None, ef_search: int, hnsw_m: int,
                 random_state: int):
    for name, value in (("nprobe", nprobe or 1), ("ef_search", ef_search), ("hnsw_m", hnsw_m)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ParameterError(f"{name} must be a whole number >= 1, got {value!r}")
    if kind == "hnsw":
        return FaissHNSWIndex(x, M=hnsw_m, ef_search=ef_search)
    return FaissIVFIndex(x, nlist=nlist, nprobe=nprobe, random_state=random_state)


def exact_knn(queries: np.ndarray, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``k`` nearest rows of ``vectors`` for each query, without building (copying) an index."""
    import faiss

    d2, idx = faiss.knn(_as_matrix(queries), _as_matrix(vectors), int(k))
    return np.sqrt(np.maximum(d2, 0.0)), idx.astype(np.int64, copy=False)


def recall_sample(vectors: np.ndarray, *, k: int = 10, n_queries: int = 500,
                  random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sampled query rows and their exact ``k``-th neighbour distance: the ground truth of :func:`measure_recall`."""
    x = _as_matrix(vectors)
    n = x.shape[0]
    rng = np.random.default_rng(random_state)
    rows = np.sort(rng.choice(n, size=min(n, n_queries), replace=False))
    truth_d, _ = exact_knn(x[rows], x, int(min(k, n)))
    return rows, truth_d


def query_recalls(index: NeighborIndex, vectors: np.ndarray, truth: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Recall@k of each sampled query of ``truth`` (:func:`recall_sample`), tie-aware as :func:`measure_recall`."""
    x = _as_matrix(vectors)
    rows, truth_d = truth
    k = truth_d.shape[1]
    got_d, got_i = index.search(x[rows], k)
    tol = 1e-5 * np.maximum(truth_d[:, -1:], 1.0)
    return ((got_i >= 0) & (got_d <= truth_d[:, -1:] + tol)).mean(axis=1)


def recall_clears(per_query: np.ndarray, floor: float) -> bool:
    """Whether recall measured on a sample of queries holds the ``floor`` for queries in general: the
    mean is at least the floor plus :data:`RECALL_MARGIN`, and the one-sided 95% lower bound
    (mean - :data:`RECALL_Z` standard errors) is at least the floor.

    >>> recall_clears(np.full(400, 0.96), 0.95), recall_clears(np.r_[np.ones(380), np.full(20, 0.2)], 0.95)
    (True, False)
    """
    per_query = np.asarray(per_query, dtype=np.float64)
    mean = float(per_query.mean())
    bound = mean - RECALL_Z * float(per_query.std(ddof=1)) / np.sqrt(len(per_query)) if len(per_query) > 1 else mean
    return bool(mean >= min(1.0, floor + RECALL_MARGIN) and bound >= floor)


def measure_recall(index: NeighborIndex, vectors: np.ndarray, *, k: int = 10, n_queries: int = 500,
                   random_state: int = 0, truth: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[float, int]:
    """Recall@k of ``index`` against exact search, on ``n_queries`` rows sampled from ``vectors``.

    Tie-aware (as FAISS' own evaluation): a returned neighbour counts when its distance is
    within the exact k-th distance, so equidistant rows are interchangeable. ``truth`` (from
    :func:`recall_sample`) reuses one exact search across several measurements.
    Returns (recall, number of queries).
    """
    x = _as_matrix(vectors)
    truth = truth if truth is not None else recall_sample(x, k=k, n_queries=n_queries, random_state=random_state)
    return float(query_recalls(index, x, truth).mean()), int(len(truth[0]))


def _as_matrix(x: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(x, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise ParameterError(f"expected a 2-D array of vectors, got shape {arr.shape}")
    return arr


EXACT_GRAPH_MAX = 30_000


def knn_graph(vectors: np.ndarray, k: int, *, method: str = "auto", nprobe: int = 16,
              random_state: int = 0, recall_floor: float = DEFAULT_RECALL_FLOOR) -> tuple[np.ndarray, np.ndarray, str]:
    """The ``k`` nearest other rows of every row: (distances, indices, method used).

    ``exact`` searches a flat index (n × n distances: fine up to ~30k rows on 2 cores);
    ``ivf`` searches the IVF index of :func:`build_index`, with its measured recall floor and
    effort search (starting from ``nprobe``), about ten times faster at 100k rows; when the
    floor cannot be met it searches exactly and the method says ``exact``. ``auto`` picks exact
    up to ``EXACT_GRAPH_MAX`` rows. A row never lists itself.
    """
    x = _as_matrix(vectors)
    n = x.shape[0]
    k = min(k, n - 1)
    if method == "auto":
        method = "exact" if n <= EXACT_GRAPH_MAX else "ivf"
    if method not in ("exact", "ivf"):
        raise ParameterError(f"unknown graph method {method!r}; use auto, exact or ivf")
    # the floor holds for the depth the graph uses (k others + the row itself), not only the top 10
    index = build_index(x, method, nprobe=nprobe, recall_floor=recall_floor, recall_k=k + 1,
                        random_state=random_state)
    method = "exact" if index.report.exact else method
    dist, idx = index.search(x, k + 1)
    # drop the row itself (usually first; exact duplicates may put it later)
    own = idx == np.arange(n)[:, None]
    order = np.argsort(own, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(dist, order, 1), np.take_along_axis(idx, order, 1), method


def rerank_graph(vectors: np.ndarray, weights: np.ndarray, pool: np.ndarray, k: int,
                 chunk: int = 1024, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Re-rank a neighbour pool under per-column ``weights``: the ``k`` nearest of each row's pool.

    Used above ``EXACT_GRAPH_MAX`` rows, where the unweighted graph (computed once, with a pool
    of about ``2k`` neighbours) is re-ordered with the seed-specific feature weights instead of
    searching again: exact within the pool, approximate overall.
    """
    xw = _as_matrix(vectors) * np.asarray(weights, dtype=np.float32)
    rows = np.arange(xw.shape[0]) if rows is None else np.asarray(rows)  # the row each pool line belongs to
    n = len(rows)
    k = min(k, pool.shape[1])
    out_d = np.empty((n, k), dtype=np.float32)
    out_i = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, chunk):  # chunks of rows keep the (rows × pool × features) block small
        stop = min(start + chunk, n)
        cand = pool[start:stop]
        diff = xw[np.maximum(cand, 0)] - xw[rows[start:stop], None, :]
        d2 = np.einsum("cpd,cpd->cp", diff, diff)
        d2[cand < 0] = np.inf
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        pd2 = np.take_along_axis(d2, part, 1)
        order = np.argsort(pd2, axis=1, kind="stable")
        out_d[start:stop] = np.sqrt(np.take_along_axis(pd2, order, 1))
        out_i[start:stop] = np.take_along_axis(np.take_along_axis(cand, part, 1), order, 1)
    return out_d, out_i
