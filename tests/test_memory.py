"""The large-table paths hold no float64 copy of the feature matrix (issue 17, "10M without waste")."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa

from lookalike import LookalikeFinder
from lookalike import finder as finder_module
from lookalike.audience.seeds import _column_mean_std, diagnose_seeds
from lookalike.features import make_feature_pipeline
from tests.conftest import make_clean_customers


def _peak_mib(fn) -> tuple[object, float]:
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_seed_diagnostics_stay_in_float32():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300_000, 31)).astype(np.float32)  # 35 MiB; a float64 copy would be 71 MiB
    X[:3000] += 2.0  # the seeds stand out
    seeds = np.arange(3000)
    names = [f"f{j}" for j in range(31)]
    ids = np.arange(len(X)).astype(str)
    diag, peak = _peak_mib(lambda: diagnose_seeds(X, seeds, ids, names, np.arange(31)))
    assert peak < 40, f"diagnostics allocated {peak:.0f} MiB"  # one float64 copy alone: 71 MiB
    assert diag.distinctive["smd"].abs().min() > 1.5  # every feature is 2 sd off: still measured right
    mu, sd = _column_mean_std(X, chunk=70_000)
    np.testing.assert_allclose(mu, X.mean(axis=0, dtype=np.float64), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sd, X.std(axis=0, dtype=np.float64), rtol=1e-9)


def test_features_are_transformed_in_float32_batches(monkeypatch):
    customers = make_clean_customers(20_000, seed=3)
    monkeypatch.setattr(finder_module, "TRANSFORM_BATCH", 4_000)
    batched = finder_module._fit_transform(make_feature_pipeline(), customers)
    whole = np.asarray(make_feature_pipeline().fit_transform(customers), dtype=np.float32)
    assert batched.dtype == np.float32 and batched.flags.c_contiguous
    np.testing.assert_array_equal(batched, whole)
    # above the batch size the float64 output of one batch is the only temporary
    _, peak = _peak_mib(lambda: finder_module._fit_transform(make_feature_pipeline(), customers))
    assert peak < 2 * batched.nbytes / 2**20 + 8


def test_fitted_text_columns_are_one_chunk_so_lookups_cost_the_rows_taken():
    # a table cleaned in batches holds its Arrow-backed columns in one chunk per batch;
    # taking rows from a chunked column reads every chunk (O(n) per find_lookalikes query)
    parts = [make_clean_customers(1_500, seed=s) for s in (1, 2, 3)]
    for i, p in enumerate(parts):
        p["customer_id"] = (f"B{i}-" + p["customer_id"].astype(str)).astype("str")
    table = pd.concat(parts, ignore_index=True)
    def chunks(s: pd.Series) -> int:
        return getattr(pa.array(s.array), "num_chunks", 1)

    assert chunks(table["customer_id"]) == 3
    finder = LookalikeFinder().fit(table)
    fitted = finder.customers_["customer_id"]
    assert chunks(fitted) == 1 and fitted.dtype == table["customer_id"].dtype
    assert fitted.tolist() == table["customer_id"].tolist()
    out = finder.find_lookalikes("B2-" + str(parts[2]["customer_id"].iloc[0])[3:], k=5)
    assert len(out) == 5 and out["customer_id"].str.startswith("B").all()
