"""The backtest harness on generated data (planted structure) and on real data shipped in datasets/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lookalike as lk
from lookalike.errors import ParameterError
from lookalike.evaluation.backtest import backtest
from lookalike.evaluation.report import conclusion, write_results
from lookalike.evaluation.tasks import load_task, synthetic_task, task_from_frame
from lookalike.synth import generate

REAL = Path(__file__).resolve().parents[2] / "datasets" / "real"


@pytest.fixture(scope="module")
def synthetic():
    data = generate(12_000, seed=5)
    return synthetic_task(lk.clean_customers(data.raw).customers, data.customers)


@pytest.fixture(scope="module")
def synthetic_result(synthetic):
    return backtest(synthetic, n_splits=20, baselines=("best_rule", "spend", "random"),
                    scorers=("seed_share", "classifier"))


@pytest.mark.slow
def test_harness_recovers_planted_structure_lookalike_beats_rule_at_its_size(synthetic_result):
    s = synthetic_result.summary.set_index("method")
    # at the rule's own audience size, the CIs must not overlap
    assert s.loc["seed_share", "precision@M ci_low"] > s.loc["best_rule", "precision@M ci_high"]
    assert s.loc["seed_share", "lift@N"] > 5 * s.loc["random", "lift@N"]
    comp = synthetic_result.comparisons
    row = comp[(comp.metric == "precision@M") & (comp.versus == "best_rule")].iloc[0]
    assert row["ci_low"] > 0 and row["share_positive"] > 0.9


@pytest.mark.slow
def test_every_split_is_kept_and_counts_are_consistent(synthetic, synthetic_result):
    sp = synthetic_result.splits
    assert sp.split.nunique() == 20 and set(sp.method) == {"seed_share", "classifier", "best_rule", "spend", "random"}
    # "given" mode: each split keeps seed_share (0.8) of the seeds; population and targets are the task's own
    assert (sp.n_seeds == round(0.8 * int(synthetic.seeds.sum()))).all()
    assert (sp.n_population == int(synthetic.population.sum())).all()
    assert (sp.n_target == int((synthetic.target & synthetic.population).sum())).all()
    assert sp["precision@N"].between(0, 1).all()
    # precision@N is recall@N when N is the number of targets: lift = precision / base rate
    np.testing.assert_allclose(sp["lift@N"], sp["precision@N"] / sp["base_rate"])
    assert len(synthetic_result.rules) == 20


def test_no_leakage_label_columns_are_refused_as_features():
    df = pd.DataFrame({"customer_id": ["a", "b", "c"], "vip_score": [0.1, 0.9, 0.5], "age": [30, 40, 50],
                       "vip_flag": [0, 1, 0]})
    cfg = {"features": {"numeric": ["age", "vip_score"], "label": ["vip_flag", "vip_score"]},
           "task": {"mode": "hide", "positives": "vip_flag == 1"}}
    with pytest.raises(ParameterError, match="vip_score"):
        task_from_frame(df, cfg)


@pytest.mark.slow
def test_synthetic_task_reports_excluded_label_columns(synthetic):
    d = synthetic.describe()
    assert {"vip_flag", "vip_score", "vip_like"} <= set(d["label_columns_excluded"])
    assert not set(d["features"]) & set(d["label_columns_excluded"])


def test_customer_personality_lookalike_at_least_matches_the_best_label_free_rule():
    task = load_task(REAL / "customer_personality" / "task.toml")
    d = task.describe()
    assert d["customers"] == 2240 and d["seeds"] == 463
    assert abs(task.target[task.population].mean() - 0.082) < 0.001  # the reference base rate
    res = backtest(task, n_splits=20, scorers=("seed_share",), baselines=("best_rule", "spend"))
    s = res.summary.set_index("method")
    assert s.loc["seed_share", "precision@N"] >= s.loc["best_rule", "precision@N"]
    assert s.loc["seed_share", "precision@N"] > 2 * 0.082


def test_bank_time_split_has_no_duration_and_the_reference_base_rate():
    task = load_task(REAL / "bank_marketing" / "task.toml")
    assert "duration" not in task.spec.columns and "duration" in task.label_columns
    assert abs(task.target[task.population].mean() - 0.186) < 0.001
    # time split: every seed is in the past, every target in the future
    assert not (task.seeds & task.population).any() and task.target[~task.population].sum() == 0


@pytest.mark.slow
def test_results_written_with_a_generated_conclusion(synthetic_result, tmp_path):
    paths = write_results(synthetic_result, tmp_path)
    names = {p.name for p in paths}
    assert {"synthetic-vip-like.json", "synthetic-vip-like.md", "synthetic-vip-like.splits.csv",
            "synthetic-vip-like.gain.png"} <= names
    text = conclusion(synthetic_result)
    s = synthetic_result.summary.set_index("method")
    assert f"{s.loc['seed_share', 'precision@N']:.1%}" in text  # generated from the numbers
