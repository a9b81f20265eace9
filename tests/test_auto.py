"""``auto``: label-free validation shaped like the task, and what it changes.

A planted table where the seeds drift: the older seeds are a cluster on ``f1``, the newest are
simply the biggest spenders, and the customers to find next are big spenders too. Holding out
seeds at random sees mostly the cluster; validating forward (older seeds → newest) or on the
responders of an earlier campaign sees the drift — and must change the choice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import lookalike as lk
from lookalike.audience.auto import forward_folds, order_values, random_folds
from lookalike.audience.expand import seed_set_names
from lookalike.features import FeatureSpec

SPEC = FeatureSpec(numeric=("f1", "f2", "f3", "total_spent"), log=("total_spent",), categorical=("plan",),
                   boolean=(), groups={})


@pytest.fixture(scope="module")
def drift():
    rng = np.random.default_rng(11)
    n = 8000
    df = pd.DataFrame({"customer_id": [f"K{i:05d}" for i in range(n)],
                       "f1": rng.standard_normal(n), "f2": rng.standard_normal(n), "f3": rng.standard_normal(n),
                       "total_spent": np.exp(rng.normal(6, 1, n)).round(2),
                       "plan": rng.choice(["a", "b", "c"], n)})
    top = df["total_spent"] >= df["total_spent"].quantile(0.95)
    cluster = np.flatnonzero((df["f1"] > 1.2).to_numpy() & ~top.to_numpy())
    rich = np.flatnonzero(top.to_numpy())
    old = rng.choice(cluster, 240, replace=False)
    new = rng.choice(rich, 80, replace=False)
    seeds = np.concatenate([old, new])
    order = np.full(n, np.nan)
    order[old] = np.arange(240)
    order[new] = 240 + np.arange(80)
    df["joined"] = order
    targets = top.to_numpy().copy()
    targets[seeds] = False   # the next big spenders: what a time split would ask for
    finder = lk.LookalikeFinder(features=SPEC).fit(df)
    return finder, df, df["customer_id"].to_numpy()[seeds], targets


def _hits(result, df, targets) -> float:
    pos = df.reset_index().set_index("customer_id").loc[result.audience.customer_id, "index"].to_numpy()
    return float(targets[pos].mean())


@pytest.mark.slow
def test_forward_validation_on_dated_seeds_changes_the_choice(drift):
    finder, df, seeds, targets = drift
    plain = finder.build_audience(list(seeds), 300, explain=False)
    dated = finder.build_audience(list(seeds), 300, explain=False, seed_order="joined")
    v0, v1 = plain.params["validation"], dated.params["validation"]
    assert v0["kind"] == "random" and v1["kind"] == "forward"
    # held out at random, the seeds look like the cluster: a lookalike of f1 leads
    assert v0["chosen"][0] != "value"
    # forward, the newest seeds are the big spenders: value leads the choice
    assert v1["chosen"][0] == "value"
    assert "newest" in v1["measure"] and dated.params["seed_order"] == "joined"
    # and the choice pays off on the customers to find next
    assert _hits(dated, df, targets) > _hits(plain, df, targets) + 0.1


@pytest.mark.slow
def test_closed_loop_validation_on_an_earlier_campaigns_outcomes(drift, tmp_path):
    """An earlier campaign from the same seeds, whose responders were the big spenders."""
    from lookalike.campaigns.store import create_campaign, earlier_outcomes, import_outcomes
    from lookalike.database import open_database

    finder, df, seeds, _ = drift
    old = list(seeds[:240])   # the cluster seeds only: no order, no drift visible in them
    first = finder.build_audience(old, 800, explain=False)
    engine = open_database(f"sqlite:///{tmp_path / 'store.db'}")
    create_campaign(engine, "spring", first.audience[["customer_id", "rank"]], holdout_share=0.1,
                    manifest={"seeds": {"sets": seed_set_names(old)}})
    spent = df.set_index("customer_id").loc[first.audience.customer_id, "total_spent"]
    responded = (spent >= spent.quantile(0.8)).astype(int).to_numpy()
    import_outcomes(engine, "spring", pd.DataFrame({"customer_id": first.audience.customer_id,
                                                    "conversions": responded}))
    name, outcomes = earlier_outcomes(engine, seed_set_names(old))
    assert name == "spring" and outcomes["converted"].sum() > 50
    # another seed set has no campaign to learn from
    assert earlier_outcomes(engine, seed_set_names(old[:100]))[0] is None
    learned = finder.build_audience(old, 300, explain=False, campaign_outcomes=outcomes)
    v = learned.params["validation"]
    assert first.params["validation"]["kind"] == "random" and first.params["validation"]["chosen"][0] != "value"
    assert v["kind"] == "campaign" and v["chosen"][0] == "value"
    assert "responders" in v["measure"]
    engine.dispose()


@pytest.mark.slow  # over a second: make test runs it, make check stays under a minute
def test_cli_expand_takes_seed_order_and_learns_from_the_store(drift, tmp_path, monkeypatch):
    from lookalike.cli import app

    finder, df, seeds, _ = drift
    df.to_parquet(tmp_path / "customers.parquet")
    finder.save(tmp_path / "model")
    (tmp_path / "seeds.txt").write_text("\n".join(seeds))
    monkeypatch.setenv("LOOKALIKE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LOOKALIKE_DB_URL", raising=False)
    r = CliRunner().invoke(app, ["expand", str(tmp_path / "model"), "--seeds", str(tmp_path / "seeds.txt"),
                                 "--size", "200", "--seed-order", "joined", "-o", str(tmp_path / "a.parquet")])
    assert r.exit_code == 0, r.output
    assert "why this method" in r.output and "forward" in r.output
    manifest = (tmp_path / "a.manifest.json").read_text()
    assert '"kind": "forward"' in manifest and '"chosen"' in manifest
    assert not (tmp_path / "home" / "lookalike.db").exists()   # no store: nothing created
    bad = CliRunner().invoke(app, ["expand", str(tmp_path / "model"), "--seeds", str(tmp_path / "seeds.txt"),
                                   "--size", "200", "--seed-order", "nope", "-o", str(tmp_path / "b.parquet")])
    assert bad.exit_code == 2 and "seed order column 'nope'" in bad.output


def test_folds_never_show_a_fit_the_seeds_it_is_measured_on():
    rng = np.random.default_rng(0)
    seeds = np.sort(rng.choice(5000, 300, replace=False))
    order = np.full(5000, np.nan)
    order[seeds] = rng.integers(1, 6, len(seeds))   # five successive groups
    for f in random_folds(5000, seeds, rng) + forward_folds(5000, seeds, order, rng):
        assert not set(f.train) & set(f.positives)
        assert not set(f.fit_base) & set(f.negatives) and not set(f.fit_base) & set(seeds)
    fwd = forward_folds(5000, seeds, order, rng)
    newest = order[fwd[0].positives]
    # every forward fold finds the same newest seeds, fitted on strictly older ones
    assert all(set(f.positives) == set(fwd[0].positives) for f in fwd) and len(fwd) >= 2
    assert all(order[f.train].max() < newest.min() for f in fwd)


def test_order_values_reads_dates_and_numbers():
    assert order_values(pd.Series([3, None, 1])).tolist()[::2] == [3.0, 1.0]
    d = order_values(pd.Series(["2011-01-02", "bad", "2010-05-01"]))
    assert np.isnan(d[1]) and d[2] < d[0]


def test_too_few_seeds_to_validate_fall_back_and_say_so(drift):
    finder, _, seeds, _ = drift
    res = finder.build_audience(list(seeds[:4]), 50, explain=False)
    v = res.params["validation"]
    assert v["kind"] == "none" and v["chosen"] == ["seed_distance"] and "Not validated" in v["note"]
    assert any(w.code == "not_validated" and "Not validated" in w for w in res.warnings) and len(res.audience) == 50
