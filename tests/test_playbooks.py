"""Playbooks (declarative TOML) and audience comparison on generated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lookalike as lk
from lookalike.audience.compare import compare_audiences, feature_drift, overlap_matrix, psi
from lookalike.audience.playbooks import builtin_playbooks, load_playbook, run_playbook
from lookalike.audience.seeds import with_rule_columns
from lookalike.errors import InputError, ParameterError
from lookalike.synth import generate


@pytest.fixture(scope="module")
def finder():
    data = generate(15_000, seed=8)
    return lk.LookalikeFinder().fit(lk.clean_customers(data.raw).customers)


def test_builtin_playbooks_are_the_five_of_the_brief():
    assert builtin_playbooks() == ["acquisition-lookalike", "cross-sell", "retention-high-value", "upsell", "win-back"]


@pytest.mark.slow
def test_upsell_finds_customers_below_their_own_categorys_high_ticket(finder):
    res = run_playbook(finder, "upsell", size=400)
    aud = res.audience
    everyone = with_rule_columns(finder.customers_).set_index("customer_id")
    members, seeds = everyone.loc[aud.customer_id], everyone.loc[res.seed_ids]
    assert len(aud) == 400 and (members.ticket_gap > 0).all() and (seeds.ticket_gap <= 0).all()
    # the high ticket is the category's own: a member's reference is its category's 80th percentile
    high = everyone.groupby("fav_category", observed=True).avg_ticket.quantile(0.8)
    assert np.allclose(members.category_high_ticket, high.loc[members.fav_category.astype(str)].to_numpy())
    assert set(res.params["groups"]) == set(aud.fav_category.astype(str))  # every category took part
    assert aud.reason_features.str.startswith("ticket_gap").all()  # the gap leads every reason
    first = aud.iloc[0]
    assert first.fav_category in first.reason and "below" in first.reason
    c = res.counts  # the funnel adds up: base = every step left out + the candidates
    out = sum(v for k, v in c.items() if k.startswith(("excluded", "filtered")))
    assert c["base"] == out + c["candidates"] and c["audience"] == 400


def test_a_playbook_split_by_an_unknown_column_or_with_an_unsayable_lead_is_refused(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('name = "p"\nper = "colour"\n[seeds]\npreset = "vip"\n[audience]\nsize = 10\n', encoding="utf-8")
    with pytest.raises(InputError, match="per = 'colour'"):
        load_playbook(str(f))
    f.write_text('name = "p"\n[seeds]\npreset = "vip"\n[explain]\nlead = ["shoe_size"]\n[audience]\nsize = 10\n',
                 encoding="utf-8")
    with pytest.raises(InputError, match="shoe_size"):
        load_playbook(str(f))


@pytest.mark.slow
def test_retention_keeps_vips_and_lookalikes_late_for_their_next_purchase(finder):
    res = run_playbook(finder, "retention-high-value")
    aud = res.audience
    enriched = with_rule_columns(finder.customers_).set_index("customer_id").loc[aud.customer_id]
    assert (enriched.recency_ratio >= 1.5).all() and (enriched.days_since_last_purchase <= 270).all()
    everyone = with_rule_columns(finder.customers_)
    vips_at_risk = everyone.loc[(everyone.vip_flag == 1) & (everyone.recency_ratio >= 1.5)
                                & (everyone.days_since_last_purchase <= 270), "customer_id"]
    assert len(vips_at_risk) > 0  # the generator plants VIPs drifting towards churn
    assert set(vips_at_risk) <= set(aud.customer_id)  # VIPs themselves are in, first
    vips = aud.loc[aud.vip_flag == 1]
    assert (vips.reason_features == "seed").all() and vips.reason.str.startswith("One of the VIPs").all()
    assert aud.loc[aud.vip_flag == 1, "rank"].max() == (aud.vip_flag == 1).sum()


@pytest.mark.slow
def test_cross_sell_targets_other_categories_and_takes_a_param(finder):
    res = run_playbook(finder, "cross-sell", params={"category": "Home"})
    assert (res.audience.fav_category.astype(str) != "Home").all()
    seeds = finder.customers_.set_index("customer_id").loc[res.seed_ids]
    assert (seeds.fav_category.astype(str) == "Home").all()
    with pytest.raises(ParameterError, match="no parameter"):
        load_playbook("cross-sell", {"colour": "red"})


@pytest.mark.slow
def test_win_back_and_acquisition(finder):
    wb = run_playbook(finder, "win-back").audience
    enriched = with_rule_columns(finder.customers_).set_index("customer_id").loc[wb.customer_id]
    assert (enriched.recency_ratio >= 3).all() and (wb.vip_flag == 0).all()
    acq = run_playbook(finder, "acquisition-lookalike", size=300).audience
    assert len(acq) == 300 and (acq.vip_flag == 0).all()


@pytest.mark.slow
def test_a_copied_playbook_file_runs_and_bad_ones_are_refused(finder, tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('name = "mine"\n[seeds]\nrule = [{column = "total_spent", op = "top_pct", value = "1%"}]\n'
                 '[audience]\nsize = 120\nfilters = {region = ["Norte"]}\n', encoding="utf-8")
    aud = run_playbook(finder, str(f)).audience
    assert len(aud) == 120 and set(aud.region.astype(str)) == {"Norte"}
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[seeds]\npreset = "vip"\n[audience]\nsizee = 3\n', encoding="utf-8")
    with pytest.raises(InputError, match="unknown \\[audience\\] key"):
        load_playbook(str(bad))
    with pytest.raises(ParameterError, match="unknown playbook"):
        load_playbook("nope")


@pytest.mark.slow
def test_refresh_reports_entered_left_and_drift(finder):
    old = finder.expand("vip", 500)
    new = finder.expand("vip", 600)
    rep = compare_audiences(old, new)
    assert rep.stayed == 500 and len(rep.entered) == 100 and rep.left == []
    assert rep.jaccard == pytest.approx(500 / 600)
    shifted = finder.customers_.copy()
    shifted["total_spent"] = shifted["total_spent"] * 3
    rep = compare_audiences(old, new, old_customers=finder.customers_, new_customers=shifted,
                            columns=["total_spent", "age", "region"])
    drift = rep.drift.set_index("feature")
    assert drift.loc["total_spent", "psi"] > 0.25 and drift.loc["age", "psi"] < 0.01
    assert any("total_spent" in w for w in rep.warnings)


def test_psi_known_values_and_overlap_matrix():
    rng = np.random.default_rng(0)
    a = pd.Series(rng.normal(size=20000))
    assert psi(a, pd.Series(rng.normal(size=20000))) < 0.01
    assert psi(a, pd.Series(rng.normal(1, 1, size=20000))) > 0.5
    cats = pd.Series(["a"] * 50 + ["b"] * 50)
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert psi(cats, pd.Series(["a"] * 80 + ["b"] * 20)) == pytest.approx(expected)
    m = overlap_matrix({"x": pd.DataFrame({"customer_id": ["1", "2", "3"]}),
                        "y": pd.DataFrame({"customer_id": ["2", "3", "4", "5"]})})
    assert m.loc[0, "shared"] == 2 and m.loc[0, "jaccard"] == pytest.approx(2 / 5)
    assert list(feature_drift(pd.DataFrame({"a": a}), pd.DataFrame({"a": a}), ["a"]).reading) == ["stable"]
