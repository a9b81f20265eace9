"""The campaign store on SQLite and PostgreSQL: creation, atomic outcome import, identical reports."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from lookalike import database as db
from lookalike.campaigns import (CampaignError, assign_arms, campaign_frame, campaign_results, create_campaign,
                                 get_campaign, import_outcomes, list_campaigns)
from lookalike.campaigns.simulate import simulate_outcomes
from lookalike.campaigns.store import add_cost, assignments_frame, audience_version, control_ids
from lookalike.errors import InputError
from lookalike.export import audience_digest
from tests.campaigns.conftest import fresh_url, drop_schema, unique


def make_audience(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"customer_id": [f"C{i:06d}" for i in range(n)], "rank": np.arange(1, n + 1),
                         "similarity": np.sort(rng.random(n))[::-1], "region": rng.choice(["Norte", "Sur", "Este"], n),
                         "total_spent": rng.gamma(2, 200, n)})


def outcome_count(engine, campaign_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(db.outcomes)
                            .where(db.outcomes.c.campaign_id == campaign_id)).scalar_one()


def test_create_campaign_stores_version_and_hash_assignment(engine):
    aud = make_audience()
    name = unique()
    created = create_campaign(engine, name, aud, holdout_share=0.2, salt="fixed-salt", stratify="region",
                              manifest={"kind": "test"}, label="lookalike", cost=120.0)
    camp = created.campaign
    assert (camp.n_treatment, camp.n_control) == (2400, 600)  # stratified: exact share per region
    stored = assignments_frame(engine, name).set_index("customer_id")
    expected = assign_arms(aud["customer_id"], "fixed-salt", 0.2, aud["region"]).set_index("customer_id")
    assert (stored.loc[expected.index, "arm"] == expected["arm"]).all()
    assert (stored.loc[expected.index, "bucket"] == expected["bucket"]).all()
    version = audience_version(engine, name)
    assert version["audience_hash"] == audience_digest(aud) and version["manifest"] == {"kind": "test"}
    assert set(control_ids(engine, name)) == set(expected.index[expected["arm"] == "control"])
    assert not created.srm.mismatch and len(created.balance) > 0
    row = list_campaigns(engine).set_index("name").loc[name]
    assert (row["n_treatment"], row["n_control"], row["cost"]) == (2400, 600, 120.0)
    with pytest.raises(CampaignError, match="already exists"):
        create_campaign(engine, name, aud)
    with pytest.raises(CampaignError, match="no campaign"):
        get_campaign(engine, "does-not-exist")


def test_outcome_import_is_atomic(engine):
    aud = make_audience(500)
    name = unique()
    camp = create_campaign(engine, name, aud, holdout_share=0.1, salt="s").campaign
    good = pd.DataFrame({"customer_id": aud["customer_id"], "sends": 1, "opens": 0, "clicks": 0,
                         "conversions": (np.arange(500) % 10 == 0).astype(int), "revenue": 10.0})
    for mutate, message in [
        (lambda d: d.assign(revenue=np.r_[-5.0, np.zeros(499)]), "negative revenue"),
        (lambda d: d.assign(customer_id=np.r_[["ZZZ-unknown"], d["customer_id"].iloc[1:]]), "not in the campaign"),
        (lambda d: pd.concat([d, d.iloc[[3]]]), "sharing a customer_id"),
        (lambda d: d.assign(clicks=np.r_[["many"], np.zeros(499, int)].astype(object)), "non-numeric clicks"),
    ]:
        with pytest.raises(InputError, match=message):
            import_outcomes(engine, name, mutate(good.copy()))
        assert outcome_count(engine, camp.id) == 0  # nothing half-written
    # ids are matched after the cleaner's normalisation (spaces, case)
    res = import_outcomes(engine, name, good.assign(customer_id=" " + good["customer_id"].str.lower()))
    assert res.rows == 500 and outcome_count(engine, camp.id) == 500
    with pytest.raises(CampaignError, match="--replace"):
        import_outcomes(engine, name, good)
    # a failure in the middle of a replace rolls the delete back too
    with pytest.raises(InputError):
        import_outcomes(engine, name, good.assign(revenue=-1.0), replace=True)
    assert outcome_count(engine, camp.id) == 500
    res = import_outcomes(engine, name, good.iloc[:100], replace=True)
    assert res.replaced == 500 and outcome_count(engine, camp.id) == 100
    frame = campaign_frame(engine, name)
    assert len(frame) == 500 and int(frame["has_outcome"].sum()) == 100
    assert frame.loc[~frame["has_outcome"], ["sends", "conversions", "revenue"]].eq(0).all().all()


def _run_flow(engine) -> dict:
    aud = make_audience(4000, seed=7)
    name = "same-report"
    created = create_campaign(engine, name, aud, holdout_share=0.15, salt="shared-salt")
    outcomes = simulate_outcomes(assignments_frame(engine, name), base_rate=0.05, uplift=0.02, random_state=11)
    import_outcomes(engine, name, outcomes)
    add_cost(engine, name, 150.0, currency="EUR")
    doc = campaign_results(engine, created.campaign.id).to_dict()
    return doc


@pytest.mark.postgres
def test_sqlite_and_postgresql_give_the_same_report(tmp_path_factory):
    docs = []
    for backend in ("sqlite", "postgresql"):
        url = fresh_url(backend, tmp_path_factory)
        engine = db.open_database(url)
        try:
            docs.append(_run_flow(engine))
        finally:
            engine.dispose()
            drop_schema(url)
    a, b = (json.dumps(d, sort_keys=True) for d in docs)
    assert a == b
    assert docs[0]["arms"][0]["customers"] + docs[0]["arms"][1]["customers"] == 4000


def test_outcomes_can_come_from_a_database_table(engine, tmp_path):
    from lookalike.campaigns.store import read_outcomes

    aud = make_audience(200)
    name = unique()
    create_campaign(engine, name, aud, salt="db-src")
    src = sa.create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    rows = pd.DataFrame({"customer_id": aud["customer_id"], "sends": 1, "opens": 0, "clicks": 0,
                         "conversions": np.arange(200) % 2, "revenue": 5.0})
    with src.begin() as conn:
        rows.to_sql("campaign_results", conn, index=False)
    src.dispose()
    df = read_outcomes(f"sqlite:///{tmp_path / 'crm.db'}", "campaign_results")
    res = import_outcomes(engine, name, df)
    assert res.rows == 200 and res.totals["conversions"] == 100 and res.totals["revenue"] == 1000.0
