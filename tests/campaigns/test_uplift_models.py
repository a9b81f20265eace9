"""Uplift models: recover a known persuadable segment, save/load without pickle, refuse tampered files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from lookalike.campaigns.plan import uplift_plan
from lookalike.campaigns.simulate import UPLIFT_SEGMENTS, simulate_uplift_customers
from lookalike.campaigns.uplift import (bootstrap_uplift_metrics, qini_coefficient, uplift_at_shares,
                                        uplift_metrics)
from lookalike.campaigns.uplift_models import (LEARNERS, Candidate, UpliftModel, _MetaLearner, cross_validate)
from lookalike.errors import InputError, ModelFormatError, ParameterError
from lookalike.features import make_feature_pipeline


@pytest.fixture(scope="module")
def sims():
    """A training campaign and an independent test campaign with the same heterogeneous effect."""
    return simulate_uplift_customers(8000, random_state=1), simulate_uplift_customers(8000, random_state=2)


@pytest.fixture(scope="module")
def fitted(sims):
    train, _ = sims
    return UpliftModel("two_model", "logistic", {"C": 1.0}, spec=train.spec).fit(
        train.customers, train.treatment, train.converted,
        outcomes=pd.DataFrame({"conversions": train.converted, "revenue": train.revenue}))


def test_simulation_has_the_four_segments_with_their_rates():
    sim = simulate_uplift_customers(40_000, random_state=3)
    df = pd.DataFrame({"seg": sim.segment, "t": sim.treatment, "y": sim.converted})
    rates = df.groupby(["seg", "t"])["y"].mean().unstack()
    for seg, (p0, p1) in UPLIFT_SEGMENTS.items():
        assert abs(rates.loc[seg, 0] - p0) < 0.03 and abs(rates.loc[seg, 1] - p1) < 0.03
    assert np.allclose(sim.true_uplift[sim.segment == "persuadable"], 0.23)


@pytest.mark.slow
@pytest.mark.parametrize("learner", LEARNERS)
def test_uplift_ranking_recovers_the_persuadables_and_a_response_model_does_not(sims, learner):
    train, test = sims
    model = UpliftModel(learner, "logistic", {"C": 1.0}, spec=train.spec).fit(train.customers, train.treatment,
                                                                              train.converted)
    pipe = make_feature_pipeline(train.spec).fit(train.customers)
    treated = train.treatment == 1
    response = LogisticRegression().fit(pipe.transform(train.customers)[treated], train.converted[treated])
    scores = {"uplift": model.predict(test.customers),
              "response": response.predict_proba(pipe.transform(test.customers))[:, 1],
              "random": np.random.default_rng(0).random(len(test.treatment))}
    boot = bootstrap_uplift_metrics(test.converted, scores, test.treatment, n_resamples=300)
    up, resp = boot.interval("uplift"), boot.interval("response")
    assert up["ci_low"] > 0                       # uplift ranking: Qini CI above random
    assert resp["ci_low"] <= 0                    # the response model's is not
    assert boot.difference("uplift", "response")["ci_low"] > 0
    quarter = len(test.treatment) // 4            # the persuadables are a quarter of the customers
    top = lambda s: (test.segment[np.argsort(-s)[:quarter]] == "persuadable").mean()  # noqa: E731
    assert top(scores["uplift"]) > 0.6
    assert top(scores["response"]) < 0.25         # it ranks the sure things and do-not-disturbs first


def test_cross_validation_prefers_a_learner_that_sees_the_effect(sims):
    train, _ = sims
    X = np.asarray(make_feature_pipeline(train.spec).fit_transform(train.customers), dtype=float)
    cands = [Candidate("two_model", "logistic", {"C": 1.0}), Candidate("two_model", "logistic", {"C": 1e-6})]
    cv = cross_validate(X, train.treatment, train.converted, cands, n_splits=3)
    assert cv.best == cands[0]  # C=1e-6 shrinks both arm models to constants: no ranking at all
    assert cv.table.iloc[0]["qini_mean"] > cv.table.iloc[1]["qini_mean"]
    assert cv.oof.shape == (len(train.treatment),) and np.isfinite(cv.oof).all()


@pytest.mark.slow
def test_auto_chooses_by_cross_validation_and_records_the_table(sims):
    train, _ = sims
    m = UpliftModel("auto", "logistic", spec=train.spec, n_splits=3).fit(train.customers, train.treatment,
                                                                         train.converted)
    assert set(m.cv_["learner"]) == set(LEARNERS)
    assert m.cv_["qini_mean"].is_monotonic_decreasing
    assert m.describe()["learner"] == m.cv_.iloc[0]["learner"]


def test_save_load_round_trip(fitted, sims, tmp_path):
    _, test = sims
    fitted.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["format"] == "lookalike-uplift-model" and set(manifest["files"]) == {"training.parquet", "check.npy"}
    assert "customer_id" not in pd.read_parquet(tmp_path / "m" / "training.parquet").columns
    loaded = UpliftModel.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict(test.customers), fitted.predict(test.customers), atol=1e-9)
    assert loaded.describe() == fitted.describe()
    assert not list((tmp_path / "m").glob("*.pkl"))


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_tampered_or_foreign_files_are_refused(fitted, tmp_path):
    root = fitted.save(tmp_path / "m")
    # a changed training table: its checksum no longer matches
    bad = _copy(root, tmp_path / "data")
    t = pd.read_parquet(bad / "training.parquet")
    t.loc[0, "_y"] = 1 - t.loc[0, "_y"]
    t.to_parquet(bad / "training.parquet", index=False)
    with pytest.raises(ModelFormatError, match="checksum"):
        UpliftModel.load(bad)
    # changed settings in the manifest: refitting no longer reproduces the saved predictions
    bad = _copy(root, tmp_path / "params")
    m = json.loads((bad / "manifest.json").read_text())
    m["params"] = {"C": 0.001}
    (bad / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ModelFormatError, match="does not reproduce"):
        UpliftModel.load(bad)
    # another format version, a missing file, not a model at all
    bad = _copy(root, tmp_path / "version")
    m = json.loads((bad / "manifest.json").read_text())
    m["format_version"] = 99
    (bad / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ModelFormatError, match="format 99"):
        UpliftModel.load(bad)
    bad = _copy(root, tmp_path / "missing")
    (bad / "check.npy").unlink()
    with pytest.raises(ModelFormatError, match="missing"):
        UpliftModel.load(bad)
    with pytest.raises(ModelFormatError, match="not an uplift model"):
        UpliftModel.load(tmp_path / "nowhere")


def test_bad_training_input_is_one_clear_error(sims):
    train, _ = sims
    with pytest.raises(InputError, match="both arms|control arm"):
        UpliftModel("two_model", "logistic", {"C": 1.0}, spec=train.spec).fit(
            train.customers, np.ones(len(train.treatment), dtype=int), train.converted)
    with pytest.raises(ParameterError, match="0/1 outcome"):
        _MetaLearner("two_model", "logistic", {"C": 1.0}).fit(np.zeros((4, 1)), np.array([1, 0, 1, 0]),
                                                             np.array([2.5, 0, 1, 0]))
    with pytest.raises(ParameterError, match="learner must be one of"):
        _MetaLearner("s_learner", "logistic", {})


def test_x_learner_takes_amounts(sims):
    train, test = sims
    m = UpliftModel("x_learner", "logistic", {"C": 1.0}, spec=train.spec, outcome="revenue").fit(
        train.customers, train.treatment, train.revenue)
    u = m.predict(test.customers)
    # revenue uplift of persuadables (+0.23 x 60) is far above that of do-not-disturbs (-0.25 x 60)
    assert u[test.segment == "persuadable"].mean() > 5 > -5 > u[test.segment == "do_not_disturb"].mean()
    auto = UpliftModel("auto", "logistic", {"C": 1.0}, spec=train.spec, n_splits=3).fit(
        train.customers, train.treatment, train.revenue)
    assert set(auto.cv_["learner"]) == {"x_learner"}  # the only learner for amounts


# ------------------------------------------------------------------ metrics
def _brute(y, s, t, top):
    """Qini/AUUC/top-share gain by a direct loop over cut points (ties kept together)."""
    order = np.argsort(-s, kind="stable")
    y, s, t = y[order], s[order], t[order]
    cuts = [0] + [k for k in range(1, len(y) + 1) if k == len(y) or s[k] != s[k - 1]]
    q, g = [], []
    for k in cuts:
        yt, yc, nt, nc = y[:k][t[:k] == 1].sum(), y[:k][t[:k] == 0].sum(), (t[:k] == 1).sum(), (t[:k] == 0).sum()
        q.append(yt - yc * nt / nc if nc else 0.0)
        g.append((yt / nt - yc / nc) * k if nt and nc else 0.0)
    share = np.array(cuts) / len(y)
    area = lambda c: np.trapezoid(np.array(c) - c[-1] * share, share)  # noqa: E731
    return area(q), area(g), np.interp(top, share, g)


def test_metrics_match_a_direct_loop_with_ties():
    rng = np.random.default_rng(5)
    y, t = (rng.random(300) < 0.3).astype(float), (rng.random(300) < 0.5).astype(int)
    s = rng.integers(0, 20, 300).astype(float)  # many ties
    m = uplift_metrics(y, s, t, top=0.3)
    q, a, top = _brute(y, s, t, 0.3)
    assert m["qini"] == pytest.approx(q) and m["auuc"] == pytest.approx(a) and m["incremental_top"] == pytest.approx(top)
    assert qini_coefficient(y, s, t) == pytest.approx(q)


def test_bootstrap_intervals_contain_the_estimate_and_are_paired():
    sim = simulate_uplift_customers(3000, random_state=4)
    x = sim.true_uplift + np.random.default_rng(0).random(3000) * 0.1
    s = {"truth": x, "same_order": 2 * x + 1, "reversed": -x}
    b = bootstrap_uplift_metrics(sim.converted, s, sim.treatment, n_resamples=200)
    for row in b.table.itertuples():
        assert row.ci_low <= row.value <= row.ci_high
    # the same order on the same resamples: the paired difference is exactly zero, unlike the wide intervals
    assert b.difference("truth", "same_order") == {"value": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    assert b.interval("truth")["ci_high"] - b.interval("truth")["ci_low"] > 10
    assert b.difference("truth", "reversed")["ci_low"] > 0
    with pytest.raises(ParameterError, match="at least 100"):
        bootstrap_uplift_metrics(sim.converted, s, sim.treatment, n_resamples=10)


def test_uplift_at_shares_is_the_arm_difference_at_full_share():
    sim = simulate_uplift_customers(3000, random_state=6)
    r = uplift_at_shares(sim.converted, sim.true_uplift, sim.treatment, [0.25, 1.0], n_resamples=200)
    t = sim.treatment == 1
    assert r["uplift"].iloc[1] == pytest.approx(sim.converted[t].mean() - sim.converted[~t].mean())
    assert r["uplift"].iloc[0] > r["uplift"].iloc[1]  # the persuadables come first
    assert (r["ci_low"] <= r["uplift"]).all() and (r["uplift"] <= r["ci_high"]).all()


# ------------------------------------------------------------------ planning
def test_uplift_plan_scales_the_measured_uplift_to_each_audience(fitted, sims):
    _, test = sims
    plan = uplift_plan(fitted, test.customers, [0.1, 0.25, 0.5, 1.0], n_resamples=200)
    assert plan["customers"].tolist() == [800, 2000, 4000, 8000]
    tr = fitted.training_
    t = tr["_treatment"].to_numpy() == 1
    y = tr["_conversions"].to_numpy()
    full = (y[t].mean() - y[~t].mean()) * 8000
    assert plan["incremental_conversions"].iloc[-1] == pytest.approx(full)
    for m in ("conversions", "revenue"):
        assert (plan[f"{m}_low"] <= plan[f"incremental_{m}"]).all()
        assert (plan[f"incremental_{m}"] <= plan[f"{m}_high"]).all()
    # the best quarter holds the persuadables: most of the campaign's gain with a quarter of the sends
    assert plan["incremental_conversions"].iloc[1] > 0.8 * plan["incremental_conversions"].iloc[-1]
    assert plan["predicted_incremental"].iloc[1] > plan["predicted_incremental"].iloc[-1]
