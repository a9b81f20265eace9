"""The cleaner against the generator's ground truth, and dirt invariance of the features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lookalike as lk
from lookalike import synth

#: clean column -> the raw columns it is recovered from
SOURCES = {
    "age": ["age", "age_str_dirty"],
    "gender": ["gender"],
    "income": ["income"],
    "tenure_months": ["tenure_months"],
    "total_orders": ["total_orders"],
    "days_since_last_purchase": ["days_since_last_purchase", "days_since_last_purchase_dirty"],
    "never_purchased": ["days_since_last_purchase", "days_since_last_purchase_dirty"],
    "pct_reordered": ["pct_reordered", "pct_reordered_dirty"],
    "avg_items_per_order": ["avg_items_per_order"],
    "region": ["region", "region_dirty"],
    "fav_category": ["fav_category"],
    "signup_channel": ["signup_channel"],
    "signup_date": ["signup_date_dirty"],
    "total_spent": ["total_spent_dirty"],
    "vip_score": ["vip_score"],
    "vip_flag": ["vip_flag"],
    "promo_channel": ["json_prefs"],
    "promo_level": ["json_prefs"],
}
TOLERANCE = {"total_spent": 0.006, "income": 0.006, "pct_reordered": 1e-6, "vip_score": 1e-9, "avg_items_per_order": 1e-9}
PLACEHOLDERS = {"Unknown", "unknown"}


@pytest.fixture(scope="module", params=["USD", "EUR"])
def cleaned(request):
    data = synth.generate(30_000, seed=21, currency=request.param)
    return data, lk.clean_customers(data.raw)


def _customer_recoverable(data, columns):
    rec = data.recoverable[columns].all(axis=1) if len(columns) == 1 else data.recoverable[columns].any(axis=1)
    return rec.groupby(data.row_truth["customer_id"]).any()


def _equal(col, got, want):
    if col in ("signup_date",):
        return pd.to_datetime(got).dt.normalize().eq(pd.to_datetime(want).dt.normalize()).to_numpy()
    if col in TOLERANCE or col in ("age", "tenure_months", "total_orders", "days_since_last_purchase", "promo_level"):
        g = pd.to_numeric(got, errors="coerce").to_numpy(dtype=float)
        w = pd.to_numeric(want, errors="coerce").to_numpy(dtype=float)
        both_nan = np.isnan(g) & np.isnan(w)
        return both_nan | (np.abs(g - w) <= TOLERANCE.get(col, 1e-9))
    return got.astype(str).to_numpy() == want.astype(str).to_numpy()


@pytest.mark.parametrize("col", list(SOURCES))
def test_recoverable_values_parse_to_the_truth(cleaned, col):
    data, result = cleaned
    truth = data.customers.set_index("customer_id")
    got = result.customers.set_index("customer_id")
    assert got.index.equals(truth.index)  # every customer kept once, in order
    rec = _customer_recoverable(data, SOURCES[col]).reindex(truth.index)
    ok = _equal(col, got.loc[rec, col], truth.loc[rec, col])
    accuracy = ok.mean()
    bad = got.loc[rec, col][~ok].head(5).tolist(), truth.loc[rec, col][~ok].head(5).tolist()
    assert accuracy >= 0.999, f"{col}: {accuracy:.5f} of {rec.sum()} recoverable cells; e.g. got {bad[0]} want {bad[1]}"


@pytest.mark.parametrize("col", [c for c in SOURCES if c not in ("never_purchased", "vip_flag")])
def test_unrecoverable_values_are_never_invented(cleaned, col):
    data, result = cleaned
    got = result.customers.set_index("customer_id")
    rec = _customer_recoverable(data, SOURCES[col]).reindex(got.index)
    unrec = got.loc[~rec, col]
    invented = unrec.notna() & ~unrec.astype(str).isin(PLACEHOLDERS)
    assert not invented.any(), f"{col}: {int(invented.sum())} values invented, e.g. {unrec[invented].head(3).tolist()}"


def test_row_accounting_and_duplicates(cleaned):
    data, result = cleaned
    rep = result.report
    assert rep.rows_in == len(data.raw)
    assert rep.balanced and rep.rows_in == rep.rows_kept + rep.rows_quarantined + rep.duplicates_merged
    assert rep.duplicates_merged == int(data.row_truth["is_duplicate"].sum())
    assert rep.columns["days_since_last_purchase_dirty"]["code"] > 0


def test_quarantine_keeps_original_values_with_a_reason():
    data = synth.generate(2_000, seed=4)
    raw = data.raw.copy()
    raw.loc[5, "customer_id"] = None
    raw.loc[9, raw.columns.drop("customer_id")] = None
    result = lk.clean_customers(raw)
    q = result.quarantine.set_index("row_number")
    assert q.loc[6, "reason"] == "missing customer_id"
    assert q.loc[10, "reason"].startswith("no usable values")
    assert q.loc[6, "total_spent_dirty"] == raw.loc[5, "total_spent_dirty"]
    assert result.report.balanced and result.report.quarantine_reasons["missing customer_id"] == 1


def test_dirt_invariance_same_customer_same_features():
    truth = synth.sample_customers(3_000, seed=9)
    raw_a, _, _ = synth.render_dirty(truth, seed=1, unrecoverable=False, duplicate_rate=0.0)
    raw_b, _, _ = synth.render_dirty(truth, seed=2, unrecoverable=False, duplicate_rate=0.0)
    assert not raw_a.astype(str).equals(raw_b.astype(str))  # really rendered differently
    a = lk.clean_customers(raw_a).customers
    b = lk.clean_customers(raw_b).customers
    finder = lk.LookalikeFinder().fit(a)
    Xa, Xb = finder.transform(a), finder.transform(b)
    dist = np.linalg.norm(Xa - Xb, axis=1)
    assert dist.max() < 1e-4, f"max distance {dist.max()} for {a.customer_id[np.argmax(dist)]}"


def test_dirty_only_columns_are_enough(tmp_path):
    """An export without the clean twins (only the dirty columns) still cleans."""
    data = synth.generate(1_000, seed=3)
    raw = data.raw.drop(columns=["age", "days_since_last_purchase", "pct_reordered", "region"])
    result = lk.clean_customers(raw)
    assert result.report.balanced and result.customers["region"].isin(["Norte", "Sur", "Este", "Oeste", "Centro", "Unknown"]).all()
    assert result.report.twins["age"]["source"] == "dirty"
