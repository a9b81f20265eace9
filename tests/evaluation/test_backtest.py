"""The backtest harness on generated data (planted structure) and on real data shipped in datasets/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lookalike as lk
from lookalike.errors import InputError
from lookalike.evaluation.backtest import backtest
from lookalike.evaluation.report import conclusion
from lookalike.report.evaluation import write_evaluation
from lookalike.evaluation.tasks import load_task, synthetic_task, task_from_frame
from lookalike.synth import generate

REAL = Path(__file__).resolve().parents[2] / "datasets" / "real"


@pytest.fixture(scope="module")
def synthetic():
    data = generate(20_000, seed=5)  # as `lookalike evaluate --task synthetic`
    return synthetic_task(lk.clean_customers(data.raw).customers, data.customers)


@pytest.fixture(scope="module")
def synthetic_result(synthetic):
    return backtest(synthetic, n_splits=6, baselines=("best_rule", "spend", "random"),
                    scorers=("auto", "classifier"), customer_resamples=300)


@pytest.mark.slow
def test_harness_recovers_planted_structure_the_default_beats_both_label_free_baselines(synthetic_result):
    s = synthetic_result.summary.set_index("method")
    for baseline in ("best_rule", "spend"):
        assert s.loc["auto", "precision@N"] > s.loc[baseline, "precision@N"]
    assert s.loc["auto", "lift@N"] > 5 * s.loc["random", "lift@N"]
    comp = synthetic_result.comparisons.set_index(["metric", "versus"])
    row = comp.loc[("precision@N", "spend")]
    # the interval behind the sentence resamples customers too: wider than the split-only one
    assert row["interval"] == "customers and splits"
    assert row["ci_high"] - row["ci_low"] > row["split_ci_high"] - row["split_ci_low"]
    assert row["verdict"] == ("better" if row["ci_low"] > 0 else "worse" if row["ci_high"] < 0 else "tie")


@pytest.mark.slow
def test_every_split_is_kept_and_counts_are_consistent(synthetic, synthetic_result):
    sp = synthetic_result.splits
    assert sp.split.nunique() == 6 and set(sp.method) == {"auto", "classifier", "best_rule", "spend", "random"}
    # "given" mode: each split keeps seed_share (0.8) of the seeds; population and targets are the task's own,
    # less the opted-out customers expand never ranks
    contactable = synthetic.customers["promo_channel"].astype(str).ne("none").to_numpy()
    assert (sp.n_seeds == round(0.8 * int(synthetic.seeds.sum()))).all()
    assert (sp.n_population == int((synthetic.population & contactable).sum())).all()
    assert (sp.n_target == int((synthetic.target & synthetic.population & contactable).sum())).all()
    assert (sp["precision@N"].between(0, 1)).all() and (sp["precision@10%"].between(0, 1)).all()
    # precision@N is recall@N when N is the number of targets: lift = precision / base rate
    np.testing.assert_allclose(sp["lift@N"], sp["precision@N"] / sp["base_rate"])
    assert len(synthetic_result.rules) == 6 and len(synthetic_result.validations) == 6
    # opted-out customers are never ranked, as in expand
    assert synthetic_result.params["excluded_opted_out"] > 0


@pytest.mark.slow
def test_the_auto_row_is_exactly_what_expand_ships(synthetic, monkeypatch):
    """The backtest and build_audience call score_audience with the same data and options."""
    from lookalike.audience import expand as expand_mod
    from lookalike.evaluation import backtest as backtest_mod

    calls = []

    def spy(module):
        real = module.score_audience

        def wrapped(data, seed_pos, **kw):
            out = real(data, seed_pos, **kw)
            calls.append((data, np.asarray(seed_pos), kw, out))
            return out
        monkeypatch.setattr(module, "score_audience", wrapped)

    spy(backtest_mod)
    spy(expand_mod)
    backtest(synthetic, n_splits=1, scorers=("auto",), baselines=(), customer_resamples=0)
    seeds = synthetic.customers.customer_id.to_numpy()[calls[0][1]]
    finder = lk.LookalikeFinder(features=synthetic.spec).fit(synthetic.customers)
    finder.build_audience(list(seeds), 100, explain=False, random_state=0)
    (d1, s1, kw1, out1), (d2, s2, kw2, out2) = calls
    assert kw1["scorer"] == kw2["scorer"] == "auto" and (s1 == s2).all()
    assert np.array_equal(d1.X, d2.X) and d1.k == d2.k and d1.learn_weights == d2.learn_weights
    assert d1.value_column == d2.value_column == "total_spent"
    assert (d1.rule_numeric, d1.rule_categorical) == (d2.rule_numeric, d2.rule_categorical)
    assert out1.validation.chosen == out2.validation.chosen
    np.testing.assert_array_equal(out1.similarity, out2.similarity)


def test_no_leakage_label_columns_are_refused_as_features():
    df = pd.DataFrame({"customer_id": ["a", "b", "c"], "vip_score": [0.1, 0.9, 0.5], "age": [30, 40, 50],
                       "vip_flag": [0, 1, 0]})
    cfg = {"features": {"numeric": ["age", "vip_score"], "label": ["vip_flag", "vip_score"]},
           "task": {"mode": "hide", "positives": "vip_flag == 1"}}
    with pytest.raises(InputError, match=r"\[features\] numeric uses vip_score.*label"):
        task_from_frame(df, cfg)


@pytest.mark.slow
def test_synthetic_task_reports_excluded_label_columns(synthetic):
    d = synthetic.describe()
    assert {"vip_flag", "vip_score", "vip_like"} <= set(d["label_columns_excluded"])
    assert not set(d["features"]) & set(d["label_columns_excluded"])


@pytest.mark.slow
def test_customer_personality_default_at_least_matches_the_best_label_free_rule():
    task = load_task(REAL / "customer_personality" / "task.toml")
    d = task.describe()
    assert d["customers"] == 2240 and d["seeds"] == 463 and d["seed_order"] == "first_campaign"
    assert abs(task.target[task.population].mean() - 0.082) < 0.001  # the reference base rate
    res = backtest(task, n_splits=6, scorers=("auto",), baselines=("best_rule", "spend"), customer_resamples=0)
    s = res.summary.set_index("method")
    assert s.loc["auto", "precision@N"] >= max(s.loc["best_rule", "precision@N"], s.loc["spend", "precision@N"]) - 0.005
    assert s.loc["auto", "precision@N"] > 2 * 0.082
    # the campaigns 1-5 are successive: auto validated forward
    assert {v["kind"] for v in res.validations} == {"forward"}


def test_bank_time_split_has_no_duration_and_the_reference_base_rate():
    task = load_task(REAL / "bank_marketing" / "task.toml")
    assert "duration" not in task.spec.columns and "duration" in task.label_columns
    assert abs(task.target[task.population].mean() - 0.186) < 0.001
    # time split: every seed is in the past, every target in the future
    assert not (task.seeds & task.population).any() and task.target[~task.population].sum() == 0


@pytest.mark.slow
def test_results_written_with_a_generated_conclusion(synthetic_result, tmp_path):
    paths = write_evaluation(synthetic_result, tmp_path)
    names = {p.name for p in paths}
    assert {"synthetic-vip-like.json", "synthetic-vip-like.md", "synthetic-vip-like.splits.csv",
            "synthetic-vip-like.gain.png"} <= names
    text = conclusion(synthetic_result)
    s = synthetic_result.summary.set_index("method")
    assert f"{s.loc['auto', 'precision@N']:.1%}" in text  # generated from the numbers
    assert "auto validated random" in text.lower() or "Auto validated random" in text
