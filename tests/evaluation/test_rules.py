"""Rule baselines: the grid, the seed-side chooser, rule/spend/supervised scores."""

from __future__ import annotations

import dataclasses
import doctest
import inspect

import numpy as np
import pandas as pd
import pytest

from lookalike.errors import MissingColumnsError, ParameterError
from lookalike.evaluation import rules
from lookalike.evaluation.metrics import auc, precision_at, top_n_mask
from lookalike.evaluation.rules import (
    RuleSpec,
    best_rule,
    candidate_rules,
    rule_score,
    spend_rank_score,
    supervised_score,
)

REGIONS = ["Norte", "Sur", "Este", "Oeste", "Centro"]


def planted(n: int = 4000, n_pos: int = 300, seed: int = 0):
    """Positives are age 35-54, mostly in Norte, with high ticket and spend; 30% of them hidden."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    region = rng.choice(REGIONS, n)
    ticket = rng.lognormal(3.5, 0.5, n)
    spent = ticket * rng.integers(2, 15, n)
    pos = np.zeros(n, bool)
    pos[rng.choice(n, n_pos, replace=False)] = True
    k = int(pos.sum())
    age[pos] = rng.integers(35, 55, k)
    region[pos] = np.where(rng.random(k) < 0.9, "Norte", rng.choice(REGIONS[1:], k))
    ticket[pos] = rng.lognormal(4.8, 0.2, k)
    spent[pos] = ticket[pos] * rng.integers(15, 30, k)
    df = pd.DataFrame({"customer_id": [f"C{i:05d}" for i in range(n)], "age": pd.array(age, dtype="Int64"),
                       "region": pd.Categorical(region), "avg_ticket": ticket.round(2),
                       "total_spent": spent.round(2)})
    hidden = pos & (rng.random(n) < 0.3)
    return df, pos & ~hidden, hidden


@pytest.fixture(scope="module")
def table():
    return planted()


def test_rulespec_describe_and_mask():
    r = RuleSpec(({"column": "age", "op": ">=", "value": 35}, {"column": "age", "op": "<=", "value": 54},
                  {"column": "region", "op": "in", "value": ["Norte", "Sur"]},
                  {"column": "avg_ticket", "op": ">=", "value": 85},
                  {"column": "total_spent", "op": ">=", "value": 1200}))
    assert r.describe() == "age 35-54 and region in {Norte, Sur} and avg_ticket >= 85 and total_spent >= 1,200"
    df = pd.DataFrame({"age": [40, 40, 60, 40], "region": ["Norte", "Este", "Sur", "Sur"],
                       "avg_ticket": [90, 90, 90, 80], "total_spent": [1500, 1500, 1500, 1500]})
    assert r.mask(df).tolist() == [True, False, False, False]
    assert RuleSpec().describe() == "everyone" and RuleSpec().mask(df).all()
    assert RuleSpec((), "my rule").describe() == "my rule"
    with pytest.raises(ParameterError, match="operator"):
        RuleSpec(({"column": "age", "op": "~", "value": 1},))
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.description = "changed"


def test_candidate_grid_size(table):
    df, seeds, _ = table
    grid = candidate_rules(df, seeds)
    assert len(grid) == 4 * 4 * 4 * 4  # age (any + 3 bands) × region (any, top 1/2/3) × ticket × spend
    assert grid[0].conditions == () and grid[0].describe() == "everyone"
    assert len({r.describe() for r in grid}) == len(grid)
    # the top-1 region is where the seeds are over-represented
    assert any(r.conditions == ({"column": "region", "op": "in", "value": ["Norte"]},) for r in grid)
    assert len(candidate_rules(df.drop(columns="avg_ticket"), seeds)) == 4 * 4 * 4
    assert len(candidate_rules(df[["customer_id", "total_spent"]], seeds)) == 4
    assert len(candidate_rules(df[["customer_id"]], seeds)) == 1
    assert len(candidate_rules(df, seeds, age_bands=[(35, 54)], region_top=[0, 1], ticket_quantiles=[0],
                               spend_quantiles=[0, 0.9])) == 2 * 2 * 1 * 2


def test_thresholds_are_round_base_quantiles(table):
    df, seeds, _ = table
    spends = [c["value"] for r in candidate_rules(df, seeds, age_bands=(), region_top=[0], ticket_quantiles=[0])
              for c in r.conditions]
    base = df.loc[~seeds, "total_spent"]
    for q, t in zip((0.5, 0.75, 0.9), spends):
        assert t == pytest.approx(base.quantile(q), rel=0.05)
        assert float(t) == float(f"{t:.2g}")


def test_best_rule_finds_the_planted_rule(table):
    df, seeds, hidden = table
    rule, cands = best_rule(df, seeds, min_size=50)
    conds = rule.conditions
    assert {"column": "age", "op": ">=", "value": 35} in conds
    assert {"column": "age", "op": "<=", "value": 54} in conds
    assert {"column": "region", "op": "in", "value": ["Norte"]} in conds
    assert {c["column"] for c in conds} == {"age", "region", "avg_ticket", "total_spent"}
    assert cands.loc[0, "rule"] == rule.describe()
    assert list(cands.columns) == ["rule", "size", "seeds_matched", "seed_coverage", "seed_precision", "f1",
                                   "eligible", "spec"]
    assert len(cands) == 256 and cands["f1"][cands["eligible"]].is_monotonic_decreasing
    # the rule, chosen without them, finds most hidden positives
    m = rule.mask(df)
    assert (m & hidden).sum() / hidden.sum() > 0.7
    assert cands.loc[0, "size"] == (m & ~seeds).sum()
    assert cands.loc[0, "seeds_matched"] == (m & seeds).sum()


def test_best_rule_never_sees_hidden_positives(table):
    params = set(inspect.signature(best_rule).parameters)
    assert params == {"customers", "seed_mask", "min_size", "max_size", "objective", "base_mask", "age_bands",
                      "ticket_quantiles", "spend_quantiles", "region_top"}
    assert not params & {"y", "y_true", "target", "targets", "hidden", "positives", "labels"}
    # and the result does not depend on anything but the seeds and the rule columns
    df, seeds, hidden = table
    rule_a, table_a = best_rule(df, seeds, min_size=50)
    rule_b, table_b = best_rule(df.assign(is_target=hidden), seeds, min_size=50)
    assert rule_a == rule_b
    pd.testing.assert_frame_equal(table_a.drop(columns="spec"), table_b.drop(columns="spec"))


def test_best_rule_respects_size_bounds(table):
    df, seeds, _ = table
    small, _ = best_rule(df, seeds, min_size=50)
    size_small = (small.mask(df) & ~seeds).sum()
    big, cands = best_rule(df, seeds, min_size=1000)
    size_big = (big.mask(df) & ~seeds).sum()
    assert size_big >= 1000 > size_small
    assert (cands.loc[cands["eligible"], "size"] >= 1000).all()
    capped, cands = best_rule(df, seeds, min_size=10, max_size=60)
    assert 10 <= (capped.mask(df) & ~seeds).sum() <= 60
    prec, cands = best_rule(df, seeds, min_size=50, objective="precision")
    assert cands.loc[0, "seed_precision"] == cands.loc[cands["eligible"], "seed_precision"].max()
    with pytest.raises(ParameterError, match=r"no candidate rule selects between 2 and 3 base customers"):
        best_rule(df, seeds, min_size=2, max_size=3)
    n_base = int((~seeds).sum())
    with pytest.raises(ParameterError, match=f"min_size = {n_base + 1}, base size = {n_base}"):
        best_rule(df, seeds, min_size=n_base + 1)
    with pytest.raises(ParameterError, match="objective"):
        best_rule(df, seeds, min_size=50, objective="recall")
    with pytest.raises(ParameterError, match="3 values for 4000 customers"):
        best_rule(df, [True, False, True], min_size=50)
    with pytest.raises(ParameterError, match="no customer"):
        best_rule(df, np.zeros(len(df), bool), min_size=50)


def test_best_rule_base_mask(table):
    df, seeds, _ = table
    base = np.arange(len(df)) < 2000  # e.g. a time split's future population
    rule, cands = best_rule(df, seeds, min_size=20, base_mask=base)
    assert cands.loc[0, "size"] == (rule.mask(df) & base & ~seeds).sum()
    assert cands["size"].max() == (base & ~seeds).sum()


def test_rule_score_ranks_members_first_and_exact_at_rule_size(table):
    df, seeds, hidden = table
    rule, _ = best_rule(df, seeds, min_size=50)
    base = ~seeds
    score = rule_score(df, rule)[base]
    member = rule.mask(df)[base]
    size = int(member.sum())
    assert score[member].min() > score[~member].max()
    assert (top_n_mask(score, size) == member).all()
    # at the rule's size, precision equals the rule's own hit rate
    assert precision_at(hidden[base], score, size) == pytest.approx(hidden[base][member].mean())
    # the tie-break orders members by spend; None leaves plain 0/1
    spent = df["total_spent"].to_numpy()[base]
    top5 = np.flatnonzero(top_n_mask(score, 5))
    assert set(spent[top5]) == set(np.sort(spent[member])[-5:])
    assert set(np.unique(rule_score(df, rule, tie_break=None))) <= {0.0, 1.0}
    assert rule_score(df, list(rule.conditions)).tolist() == rule_score(df, rule).tolist()
    with pytest.raises(MissingColumnsError):
        rule_score(df, rule, tie_break="nope")
    assert set(np.unique(rule_score(df.drop(columns="total_spent"), RuleSpec()))) == {1.0}


def test_spend_rank_score():
    df = pd.DataFrame({"total_spent": [10.0, np.nan, 30.0, 20.0], "x": ["a", "b", "c", "d"]})
    s = spend_rank_score(df)
    assert np.argsort(-s, kind="stable").tolist() == [2, 3, 0, 1]  # missing spend ranks last
    assert np.isfinite(s).all()
    with pytest.raises(MissingColumnsError, match="total_spent"):
        spend_rank_score(df.drop(columns="total_spent"))


def test_supervised_score_ranks_seed_like_rows_first():
    rng = np.random.default_rng(6)
    n, d = 3000, 6
    X = rng.normal(0, 1, (n, d))
    positive = rng.random(n) < 0.1
    X[positive, :2] += 1.5  # the positives differ on two features
    X[:, 3] *= 100  # scales differ: the pipeline standardises
    hidden = positive & (rng.random(n) < 0.3)
    seeds = positive & ~hidden
    s = supervised_score(X, seeds, random_state=0)
    assert s.shape == (n,) and np.isfinite(s).all()
    assert auc(hidden[~seeds], s[~seeds]) > 0.8
    assert (supervised_score(X, seeds, random_state=0) == s).all()
    with pytest.raises(ParameterError, match="0 seeds of 3000"):
        supervised_score(X, np.zeros(n, bool))
    with pytest.raises(ParameterError, match="2-D"):
        supervised_score(X[:, 0], seeds)
    with pytest.raises(ParameterError, match="2 values for 3000"):
        supervised_score(X, [True, False])


def test_doctests():
    assert doctest.testmod(rules).failed == 0
