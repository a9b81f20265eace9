"""Holdout assignment: the sha256 rule, determinism, the asked share, strata, balance and SRM."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lookalike.campaigns.holdout import assign_arms, balance_table, hash_buckets, sample_ratio_check
from lookalike.errors import InputError, ParameterError

IDS = pd.Series([f"C{i:06d}" for i in range(20_000)])


def test_buckets_follow_the_documented_sha256_rule():
    ids = ["C1", "c000002", "Ñandú-7", "", "12345"]
    expected = [int(hashlib.sha256(f"salt-x:{i}".encode()).hexdigest(), 16) % 10000 for i in ids]
    assert hash_buckets(ids, "salt-x").tolist() == expected


def test_assignment_is_deterministic_and_salt_dependent():
    a = assign_arms(IDS, "s1", 0.1)
    assert a.equals(assign_arms(IDS, "s1", 0.1))
    # the same customers in another order get the same arms
    shuffled = IDS.sample(frac=1, random_state=3)
    b = assign_arms(shuffled, "s1", 0.1).set_index("customer_id").loc[IDS, "arm"]
    assert (b.to_numpy() == a["arm"].to_numpy()).all()
    other = assign_arms(IDS, "s2", 0.1)
    both = ((a["arm"] == "control") & (other["arm"] == "control")).mean()
    assert both < 0.02  # independent splits overlap in about 0.1 * 0.1 = 1% of customers


@pytest.mark.parametrize("share", [0.05, 0.1, 0.2, 0.5])
def test_control_share_within_binomial_bound(share):
    n_ctrl = int((assign_arms(IDS, f"share-{share}", share)["arm"] == "control").sum())
    lo, hi = stats.binom.ppf([0.0005, 0.9995], len(IDS), share)
    assert lo <= n_ctrl <= hi


def test_stratified_assignment_holds_out_the_share_in_every_stratum():
    rng = np.random.default_rng(0)
    strata = pd.Series(rng.choice(["Norte", "Sur", "Este", None], len(IDS), p=[0.6, 0.3, 0.09, 0.01]))
    a = assign_arms(IDS, "strat", 0.1, strata)
    counts = a.groupby("stratum")["arm"].agg(n="size", ctrl=lambda s: int((s == "control").sum()))
    assert ((counts["n"] * 0.1).round().astype(int) == counts["ctrl"]).all()
    assert "(missing)" in counts.index
    assert a.equals(assign_arms(IDS, "strat", 0.1, strata))


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ParameterError, match="holdout share"):
        assign_arms(IDS, "s", 1.5)
    with pytest.raises(InputError, match="more than once"):
        assign_arms(["C1", "C2", "C1"], "s", 0.1)


def test_balance_table_matches_the_smd_formula_and_flags_imbalance():
    rng = np.random.default_rng(1)
    arm = np.where(rng.random(4000) < 0.2, "control", "treatment")
    x = rng.normal(0, 1, 4000) + np.where(arm == "control", 0.5, 0.0)  # planted imbalance
    y = rng.normal(10, 2, 4000)
    df = pd.DataFrame({"x": x, "y": y, "region": rng.choice(["a", "b"], 4000)})
    table = balance_table(df, arm).set_index("feature")
    t, c = x[arm == "treatment"], x[arm == "control"]
    smd = (t.mean() - c.mean()) / np.sqrt((t.var(ddof=1) + c.var(ddof=1)) / 2)
    assert table.loc["x", "smd"] == pytest.approx(smd)
    assert bool(table.loc["x", "unbalanced"]) and not bool(table.loc["y", "unbalanced"])
    assert {"region=a", "region=b"} <= set(table.index)


def test_sample_ratio_check_is_scipy_chisquare():
    res = sample_ratio_check(9000, 1200, 0.1)
    expected = stats.chisquare([9000, 1200], [10200 * 0.9, 10200 * 0.1])
    assert res.p_value == pytest.approx(expected.pvalue)
    assert res.mismatch  # 1,200 control where 1,020 were planned
    assert not sample_ratio_check(9050, 1010, 0.1).mismatch
