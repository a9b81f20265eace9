"""Rule baselines: the rule learned from the seeds, rule/spend/supervised scores."""

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
    rule_score,
    spend_rank_score,
    supervised_score,
)

RULE_COLUMNS = {"numeric": ("age", "avg_ticket", "total_spent"), "categorical": ("region",)}

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


def test_best_rule_finds_the_planted_rule_in_the_tables_own_words(table):
    df, seeds, hidden = table
    rule = best_rule(df, seeds, **RULE_COLUMNS)
    text = rule.describe()
    # at most two conditions, on the planted columns, printed with the dataset's own names
    assert 1 <= len(rule.conditions) <= 2
    assert {c["column"] for c in rule.conditions} <= {"age", "region", "avg_ticket", "total_spent"}
    for c in rule.conditions:
        assert c["column"] in text
    # chosen without them, the rule finds most hidden positives, and the leaves rank the rest
    m = rule.mask(df)
    assert (m & hidden).sum() / hidden.sum() > 0.6
    assert (m & ~seeds & ~hidden).sum() < 3 * (m & hidden).sum()
    shares = [leaf.seed_share for leaf in rule.leaves]
    assert shares == sorted(shares, reverse=True) and len(rule.leaves) <= 4


def test_best_rule_uses_any_numeric_and_categorical_column():
    """No role columns needed: a churn-like table with its own names (tenure × contract)."""
    rng = np.random.default_rng(3)
    n = 6000
    df = pd.DataFrame({"tenure": rng.integers(1, 73, n), "MonthlyCharges": rng.uniform(20, 120, n).round(2),
                       "Contract": rng.choice(["Month-to-month", "One year", "Two year"], n)})
    churn = (df.tenure < 12) & (df.Contract == "Month-to-month") & (rng.random(n) < 0.8)
    seeds = churn.to_numpy() & (rng.random(n) < 0.5)
    rule = best_rule(df, seeds, numeric=("tenure", "MonthlyCharges"), categorical=("Contract",))
    assert rule.describe() in ("Contract = Month-to-month and tenure <= 11", "tenure <= 11 and Contract = Month-to-month")
    assert {c["column"] for c in rule.conditions} == {"tenure", "Contract"}


def test_best_rule_never_sees_hidden_positives(table):
    params = set(inspect.signature(best_rule).parameters)
    assert params == {"customers", "seed_mask", "numeric", "categorical", "base_mask", "max_base", "random_state"}
    assert not params & {"y", "y_true", "target", "targets", "hidden", "positives", "labels"}
    # and the result does not depend on anything but the seeds and the rule columns
    df, seeds, hidden = table
    a = best_rule(df, seeds, **RULE_COLUMNS)
    b = best_rule(df.assign(is_target=hidden), seeds, **RULE_COLUMNS)
    assert a.describe() == b.describe() and a.to_dict() == b.to_dict()


def test_best_rule_base_mask_and_errors(table):
    df, seeds, _ = table
    base = np.arange(len(df)) < 2000  # e.g. a time split's future population
    rule = best_rule(df, seeds, base_mask=base, **RULE_COLUMNS)
    assert sum(leaf.base for leaf in rule.leaves) == (base & ~seeds).sum()
    with pytest.raises(MissingColumnsError, match="nope"):
        best_rule(df, seeds, numeric=("nope",), categorical=())
    with pytest.raises(ParameterError, match="selects no customer"):
        best_rule(df, np.zeros(len(df), bool), **RULE_COLUMNS)


def test_rule_score_ranks_members_first_and_exact_at_rule_size(table):
    df, seeds, hidden = table
    rule = RuleSpec(tuple(best_rule(df, seeds, **RULE_COLUMNS).conditions))
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
