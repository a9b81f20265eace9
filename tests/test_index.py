"""Index backends: exact backends agree, approximate ones meet their recall floor, the floor is enforced."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from lookalike import LookalikeFinder
from lookalike.errors import ParameterError, RecallFloorError
from lookalike import index as ix
from lookalike.index import (
    ExactCost,
    NeighborIndex,
    SklearnExactIndex,
    build_index,
    exact_knn,
    knn_graph,
    measure_recall,
    recall_queries_within,
    resolve_kind,
)
from tests.conftest import make_clean_customers


@pytest.fixture(scope="module")
def blobs() -> np.ndarray:
    """Clustered float32 vectors (25 dims), like scaled customer features: 8 blobs of 750."""
    rng = np.random.default_rng(7)
    centres = rng.normal(0, 4, size=(8, 25))
    return (centres[rng.integers(0, 8, 6000)] + rng.normal(size=(6000, 25))).astype(np.float32)


def _brute_force(q: np.ndarray, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Independent reference: full distance matrix in float64 with numpy."""
    d = np.sqrt(((q[:, None, :].astype(np.float64) - x[None, :, :]) ** 2).sum(-1))
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(d, idx, 1), idx


def test_exact_backends_agree_with_brute_force(blobs):
    x, q = blobs[:2000], blobs[2000:2050]
    ref_d, ref_i = _brute_force(q, x, 10)
    for kind in ("exact", "faiss-flat", "sklearn"):
        index = build_index(x, kind)
        assert isinstance(index, NeighborIndex) and index.report.exact and index.report.recall is None
        d, i = index.search(q, 10)
        np.testing.assert_allclose(d, ref_d, rtol=1e-4, atol=1e-4)
        # indices equal except where two neighbours are equidistant
        same = (i == ref_i) | np.isclose(d, ref_d, rtol=1e-5)
        assert same.all(), kind
    # exact_knn (used for recall ground truth) is exact too, without building an index
    d, i = exact_knn(q, x, 10)
    np.testing.assert_allclose(d, ref_d, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_meets_recall_floor(blobs, kind):
    index = build_index(blobs, kind, recall_floor=0.95, on_low_recall="raise", random_state=1)
    rep = index.report
    assert rep.kind == kind and not rep.exact and rep.fallback is None
    assert rep.recall >= 0.95 and rep.recall_queries == 500 and rep.recall_k == 10
    # the reported recall is checked independently on other queries against numpy brute force
    q = blobs[::97]
    ref_d, _ = _brute_force(q, blobs, 10)
    d, i = index.search(q, 10)
    hits = (i >= 0) & (d <= ref_d[:, -1:] + 1e-4)
    assert hits.mean() >= 0.95


def test_recall_below_floor_raises(blobs):
    with pytest.raises(RecallFloorError, match=r"recall@10 is 0\.\d+ .*below the floor 0\.999"):
        build_index(blobs, "ivf", nprobe=1, nlist=64, tune=False, recall_floor=0.999, on_low_recall="raise")


def test_recall_below_floor_falls_back_to_exact(blobs, caplog):
    with caplog.at_level(logging.WARNING, logger="lookalike.index"):
        index = build_index(blobs, "hnsw", ef_search=1, hnsw_m=4, tune=False, recall_floor=0.999)
    rep = index.report
    assert rep.exact and rep.kind == "faiss-flat" and rep.requested == "hnsw"
    assert rep.recall is not None and rep.recall < 0.999 and "fell back to exact" in rep.fallback
    assert "falling back to exact search" in caplog.text
    d, _ = index.search(blobs[:5], 3)
    np.testing.assert_allclose(d[:, 0], 0.0, atol=1e-3)  # exact: each row finds itself first


def test_tuning_widens_the_search_until_the_floor(blobs):
    low = build_index(blobs, "ivf", nprobe=1, nlist=64, tune=False, recall_floor=0.0)
    tuned = build_index(blobs, "ivf", nprobe=1, nlist=64, tune=True, recall_floor=0.99, on_low_recall="raise")
    assert low.report.params["nprobe"] == 1
    assert tuned.report.params["nprobe"] > 1 and tuned.report.recall >= 0.99 > low.report.recall


def test_measure_recall_of_exact_is_one(blobs):
    recall, n = measure_recall(SklearnExactIndex(blobs), blobs, k=10, n_queries=100)
    assert recall == 1.0 and n == 100


def test_auto_chooses_by_measured_cost_and_rejects_unknown(monkeypatch):
    cost = ix.exact_query_cost()  # measured on this machine, once per process
    assert cost is ix.exact_query_cost() and cost.single_ns > 0 and cost.batch_ns > 0
    assert cost.predict_ms(1_000_000, 32) > cost.predict_ms(100_000, 32) > cost.predict_ms(100_000, 8)
    # a machine where one exact query costs 0.25 ns per stored value: 1 ms at 118,750 rows × 32
    monkeypatch.setattr(ix, "_COST", ExactCost(single_ns=0.25, overhead_ms=0.05, batch_ns=0.05))
    assert resolve_kind("auto", 100_000) == "exact"
    assert resolve_kind("auto", 200_000) == "ivf"
    assert resolve_kind("auto", 100_000, dim=64) == "ivf"  # cost grows with n × d
    assert resolve_kind("auto", 10_000_000) == "ivf"  # never HNSW unless asked
    assert resolve_kind("hnsw", 10) == "hnsw"
    with pytest.raises(ParameterError, match="unknown index 'annoy'"):
        resolve_kind("annoy", 10)
    with pytest.raises(ParameterError, match="on_low_recall"):
        build_index(np.zeros((10, 2), np.float32), "ivf", on_low_recall="ignore")
    with pytest.raises(ParameterError, match="recall_floor"):
        build_index(np.zeros((10, 2), np.float32), "ivf", recall_floor=1.5)


def test_auto_reports_its_calibration_and_goes_ivf_when_exact_is_too_slow(blobs, monkeypatch):
    exact = build_index(blobs, "auto")
    cost = exact.report.cost
    assert exact.report.exact and cost["budget_ms"] == ix.EXACT_QUERY_BUDGET_MS
    assert 0 < cost["exact_query_ms_predicted"] <= ix.EXACT_QUERY_BUDGET_MS and cost["query_ms"] > 0
    assert "one query" in exact.report.summary()
    # on a (pretend) machine 1000x slower, 6000 rows no longer answer within the budget
    monkeypatch.setattr(ix, "_COST", ExactCost(single_ns=250.0, overhead_ms=0.05, batch_ns=0.05))
    approx = build_index(blobs, "auto", on_low_recall="raise")
    assert approx.report.kind == "ivf" and approx.report.requested == "auto"
    assert approx.report.recall >= 0.95 and approx.report.cost["exact_query_ms_predicted"] > 1


def test_recall_check_shrinks_on_large_tables(monkeypatch):
    monkeypatch.setattr(ix, "_COST", ExactCost(single_ns=0.25, overhead_ms=0.05, batch_ns=0.05))
    assert recall_queries_within(1_000_000, 32, 500) == 500  # 0.05 ns x 32M values = 1.6 ms a query
    n10m = recall_queries_within(10_000_000, 32, 500)  # 16 ms a query: 3 s buy about 187
    assert 150 <= n10m < 500
    assert recall_queries_within(10**9, 32, 500) == 100  # never fewer than 100
    assert recall_queries_within(10**9, 32, 50) == 50


def test_knn_graph_ivf_goes_through_the_index_builder_and_its_recall_floor(blobs, monkeypatch):
    built = []
    real = ix.build_index

    def spy(*args, **kwargs):
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(ix, "build_index", spy)
    dist, idx, method = knn_graph(blobs, 10, method="ivf", nprobe=1)
    assert method == "ivf" and len(built) == 1
    rep = built[0].report
    assert rep.kind == "ivf" and rep.recall >= 0.95 and rep.params["nprobe"] > 1  # tuned up from nprobe=1
    exact_d, exact_i, exact_method = knn_graph(blobs, 10, method="exact")
    assert exact_method == "exact"
    assert not (idx == np.arange(len(blobs))[:, None]).any()  # a row never lists itself
    # tie-aware recall of the whole graph against the exact one
    hits = dist <= exact_d[:, -1:] * (1 + 1e-5) + 1e-6
    assert hits.mean() >= 0.9
    with pytest.raises(ParameterError, match="graph method"):
        knn_graph(blobs, 10, method="hnsw")


def test_finder_reports_its_index_and_keeps_it_across_save(tmp_path):
    customers = make_clean_customers(3000, seed=2)
    exact = LookalikeFinder().fit(customers)
    approx = LookalikeFinder(index="hnsw").fit(customers)
    assert exact.index_report.exact and exact.index_report.requested == "auto"
    rep = approx.index_report
    assert rep.kind == "hnsw" and rep.recall >= 0.95
    cid = customers.customer_id.iloc[0]
    a = approx.find_lookalikes(cid, k=10)
    e = exact.find_lookalikes(cid, k=10)
    assert len(a) == 10 and len(set(a.customer_id) & set(e.customer_id)) >= 8
    approx.save(tmp_path / "m")
    again = LookalikeFinder.load(tmp_path / "m")
    assert again.index_report.kind == "hnsw" and again.recall_floor == 0.95
    with pytest.raises(ParameterError, match="on_low_recall"):
        LookalikeFinder(on_low_recall="shrug").fit(customers)


@pytest.mark.slow
@pytest.mark.parametrize("start", [1, 8, 64])
def test_effort_search_finds_the_smallest_effort_meeting_the_floor(blobs, start):
    """Whatever the starting nprobe, tuning settles on (about) the smallest one that meets the floor."""
    from lookalike.index import query_recalls, recall_clears, recall_sample

    floor = 0.95
    tuned = build_index(blobs, "ivf", nlist=64, nprobe=start, recall_floor=floor, on_low_recall="raise")
    chosen = tuned.report.params["nprobe"]
    # independent curve: every nprobe measured on the same truth sample with a fresh untuned index
    ref = build_index(blobs, "ivf", nlist=64, nprobe=1, tune=False, recall_floor=0.0)
    truth = recall_sample(blobs, k=10, n_queries=500, random_state=0)
    curve, clears = {}, {}
    for e in range(1, 65):
        ref.set_effort(e)
        per_query = query_recalls(ref, blobs, truth)
        curve[e], clears[e] = measure_recall(ref, blobs, truth=truth)[0], recall_clears(per_query, floor)
        assert curve[e] == pytest.approx(per_query.mean())
    smallest = min(e for e, ok in clears.items() if ok)
    assert smallest > 1  # the data make the search non-trivial
    # bisection stops within 1/8 of the effort; start=1 can only double (1, 2, 4, 8, 16)
    assert smallest <= chosen <= smallest + max(1, smallest // 8) or (start == 1 and chosen < 2 * smallest)
    assert tuned.report.recall == pytest.approx(curve[chosen]) and tuned.report.recall >= floor
    if start == 64:
        assert chosen < 64  # narrowed, not only widened


def test_effort_search_narrows_hnsw(blobs):
    wide = build_index(blobs, "hnsw", ef_search=256, tune=False, recall_floor=0.0)
    tuned = build_index(blobs, "hnsw", ef_search=256, recall_floor=0.95, on_low_recall="raise")
    assert wide.report.params["efSearch"] == 256
    assert tuned.report.params["efSearch"] < 256 and tuned.report.recall >= 0.95


def test_recall_floor_is_held_with_a_confidence_bound_not_only_on_average():
    """An effort whose sampled recall just clears floor + margin on average, with a few bad queries
    among few samples, does not clear the floor: other queries would likely measure under it."""
    from lookalike.index import RECALL_MARGIN, recall_clears

    floor = 0.95
    noisy = np.r_[np.ones(96), np.full(4, 0.0)]  # mean 0.96 on 100 queries, sd 0.2
    assert noisy.mean() >= floor + RECALL_MARGIN and not recall_clears(noisy, floor)
    steady = np.r_[np.ones(9_600), np.full(400, 0.0)]  # the same mean on 10,000 queries
    assert recall_clears(steady, floor)
    assert not recall_clears(np.full(500, floor + RECALL_MARGIN / 2), floor)  # the margin still applies

