"""Uplift from the campaign store and the command line: fit on a stored campaign, plan, expand by uplift."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lookalike.audience.expand import objective_score
from lookalike.campaigns.simulate import simulate_uplift_customers
from lookalike.campaigns.store import CampaignError, create_campaign, import_outcomes
from lookalike.campaigns.uplift_models import UpliftModel, campaign_training_data
from lookalike.cli import app
from lookalike.database import open_database
from lookalike.errors import ParameterError
from lookalike.finder import LookalikeFinder

runner = CliRunner()


def _store_campaign(engine, sim, name: str) -> None:
    arms = np.where(sim.treatment == 1, "treatment", "control")
    create_campaign(engine, name, sim.customers[["customer_id"]], holdout_share=float((arms == "control").mean()),
                    arms=arms, salt=name)
    import_outcomes(engine, name, pd.DataFrame({"customer_id": sim.customers["customer_id"], "sends": sim.treatment,
                                                "conversions": sim.converted, "revenue": sim.revenue}))


@pytest.mark.slow
def test_training_data_joins_the_store_to_the_customers(engine):
    sim = simulate_uplift_customers(2000, random_state=11)
    name = f"upl-{uuid.uuid4().hex[:8]}"
    _store_campaign(engine, sim, name)
    customers = sim.customers.iloc[100:]  # 100 campaign customers are not in the table
    td = campaign_training_data(engine, [name], customers)
    assert td.not_found == 100 and len(td.treatment) == 1900 and td.campaigns == [name]
    got = pd.DataFrame({"customer_id": td.customers["customer_id"], "t": td.treatment,
                        "y": td.outcome("conversions"), "rev": td.outcomes["revenue"]}).set_index("customer_id")
    want = pd.DataFrame({"customer_id": sim.customers["customer_id"], "t": sim.treatment, "y": sim.converted,
                         "rev": sim.revenue}).iloc[100:].set_index("customer_id")
    pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), check_dtype=False)
    model = UpliftModel("two_model", "logistic", {"C": 1.0}, spec=sim.spec, n_splits=3).fit(
        td.customers, td.treatment, td.outcome("conversions"), outcomes=td.outcomes)
    assert set(model.training_.columns) >= {"_conversions", "_revenue", "_clicks"}
    with pytest.raises(CampaignError, match="no campaign"):
        campaign_training_data(engine, ["no-such-campaign"], customers)
    with pytest.raises(ParameterError, match="outcome must be one of"):
        td.outcome("opens")


def test_campaign_without_outcomes_or_control_is_refused(engine):
    sim = simulate_uplift_customers(200, random_state=12)
    name = f"upl-{uuid.uuid4().hex[:8]}"
    create_campaign(engine, name, sim.customers[["customer_id"]], holdout_share=0.5, salt=name)
    with pytest.raises(CampaignError, match="no outcomes yet"):
        campaign_training_data(engine, [name], sim.customers)


def test_objective_score():
    s, u = np.array([0.9, 0.5, 0.1]), np.array([-0.1, 0.2, 0.3])
    assert objective_score(s, u, "similarity", 3) is s
    assert objective_score(s, u, "uplift", 3).tolist() == u.tolist()
    assert np.allclose(objective_score(s, u, "blend", 3), [-0.09, 0.1, 0.03])
    with pytest.raises(ParameterError, match="needs predicted uplift"):
        objective_score(s, None, "uplift", 3)
    with pytest.raises(ParameterError, match="one finite number per customer"):
        objective_score(s, u[:2], "blend", 3)
    with pytest.raises(ParameterError, match="objective must be one of"):
        objective_score(s, u, "profit", 3)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A stored simulated campaign (SQLite) and a model directory of its customers' features."""
    root = tmp_path_factory.mktemp("uplift_cli")
    sim = simulate_uplift_customers(6000, random_state=21)
    url = f"sqlite:///{root / 'campaigns.db'}"
    engine = open_database(url)
    _store_campaign(engine, sim, "spring")
    engine.dispose()
    LookalikeFinder(features=sim.spec).fit(sim.customers).save(root / "model")
    (root / "seeds.txt").write_text("\n".join(sim.customers["customer_id"].iloc[:50]) + "\n")
    return root, url, sim


@pytest.mark.slow
def test_cli_fit_plan_and_expand_by_uplift(workspace):
    root, url, sim = workspace
    r = runner.invoke(app, ["uplift", "fit", "spring", "--data", str(root / "model"), "-o", str(root / "upl"),
                            "--learner", "two_model", "--base", "logistic", "--folds", "3", "--db", url])
    assert r.exit_code == 0, r.output
    manifest = json.loads((root / "upl" / "manifest.json").read_text())
    assert manifest["learner"] == "two_model" and manifest["source"]["campaigns"] == ["spring"]

    r = runner.invoke(app, ["uplift", "plan", str(root / "upl"), str(root / "model"), "--sizes", "25,100",
                            "--resamples", "200", "--format", "json"])
    assert r.exit_code == 0, r.output
    plan = pd.DataFrame(json.loads(r.stdout))
    assert plan["customers"].tolist() == [1500, 6000]
    # the best quarter gains for sure; everyone gains less: the do-not-disturbs cancel the persuadables
    assert plan["conversions_low"].iloc[0] > 0 and plan["revenue_low"].iloc[0] > 0
    assert plan["incremental_conversions"].iloc[0] > plan["conversions_high"].iloc[1]

    r = runner.invoke(app, ["expand", str(root / "model"), "--seeds", str(root / "seeds.txt"), "--size", "25%",
                            "--objective", "uplift", "--uplift-model", str(root / "upl"), "-o", str(root / "a.parquet")])
    assert r.exit_code == 0, r.output
    aud = pd.read_parquet(root / "a.parquet")
    assert "predicted_uplift" in aud and aud["predicted_uplift"].is_monotonic_decreasing
    seg = pd.Series(sim.segment, index=sim.customers["customer_id"])
    assert (seg.loc[aud["customer_id"]] == "persuadable").mean() > 0.6  # a quarter of the base are persuadables

    r = runner.invoke(app, ["expand", str(root / "model"), "--seeds", str(root / "seeds.txt"), "--size", "25%",
                            "--objective", "blend", "--uplift-model", str(root / "upl"), "-o", str(root / "b.parquet")])
    assert r.exit_code == 0, r.output
    b = pd.read_parquet(root / "b.parquet")
    assert np.allclose(b["rank_score"], b["similarity"] * b["predicted_uplift"], atol=1e-5)


def test_cli_errors_are_one_line(workspace, tmp_path):
    root, url, _ = workspace
    r = runner.invoke(app, ["expand", str(root / "model"), "--seeds", str(root / "seeds.txt"), "--objective", "uplift",
                            "-o", str(tmp_path / "a.parquet")])
    assert r.exit_code == 2 and "--uplift-model" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["uplift", "fit", "autumn", "--data", str(root / "model"), "-o", str(tmp_path / "m"),
                            "--db", url])
    assert r.exit_code == 2 and "no campaign 'autumn'" in r.output
    r = runner.invoke(app, ["uplift", "plan", str(tmp_path / "nothing"), str(root / "model")])
    assert r.exit_code == 3 and "not an uplift model" in r.output
    r = runner.invoke(app, ["uplift", "plan", str(root / "upl"), str(root / "model"), "--sizes", "10,abc"])
    assert r.exit_code == 2 and "not a percentage" in r.output
