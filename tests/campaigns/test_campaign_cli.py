"""`lookalike campaign …` end to end: create, export without the control group, outcomes, report, plan, list."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lookalike.cli import app
from lookalike.campaigns.simulate import simulate_outcomes
from lookalike.io import write_table
from tests.conftest import make_clean_customers

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    customers = make_clean_customers(3000, seed=4)
    write_table(customers, d / "customers.parquet")
    aud = customers.iloc[:2000][["customer_id", "region", "total_spent", "promo_channel"]].copy()
    aud["rank"] = np.arange(1, 2001)
    aud["similarity"] = np.linspace(0.99, 0.5, 2000)
    aud["reason"] = "close on total_spent"
    aud["promo_channel"] = aud["promo_channel"].astype(str)
    write_table(aud, d / "audience.parquet")
    return d


def run(*args: str):
    return runner.invoke(app, ["campaign", *args])


def test_campaign_cli_end_to_end(files, tmp_path):
    db = ["--db", f"sqlite:///{tmp_path / 'c.db'}"]
    aud, cust = str(files / "audience.parquet"), str(files / "customers.parquet")
    res = run("create", "spring", aud, "--holdout", "0.2", "--stratify", "region", "--data", cust,
              "--salt", "cli-salt", "--label", "lookalike", *db)
    assert res.exit_code == 0, res.output
    assert "1,600 treatment, 400 control" in res.output

    out = tmp_path / "exports"
    res = run("export", "spring", aud, cust, "-o", str(out), *db)
    assert res.exit_code == 0, res.output
    from lookalike.campaigns.holdout import assign_arms

    a = pd.read_parquet(aud)
    arms = assign_arms(a["customer_id"], "cli-salt", 0.2, a["region"])
    control = set(arms.loc[arms["arm"] == "control", "customer_id"])
    written = pd.concat([pd.read_csv(p, dtype=str) for p in out.glob("*.csv")])
    assert len(written) > 500
    assert not control & set(written["customer_id"])  # no control customer in any export file
    assert set(written["customer_id"]) <= set(arms.loc[arms["arm"] == "treatment", "customer_id"])

    # a modified audience file is refused: exports must be of the campaign's own audience
    write_table(a.iloc[:-1], tmp_path / "other.parquet")
    res = run("export", "spring", str(tmp_path / "other.parquet"), cust, "-o", str(out), *db)
    assert res.exit_code == 3 and "not the audience" in res.output

    outcomes = simulate_outcomes(arms, base_rate=0.05, uplift=0.04, random_state=2)
    bad = outcomes.copy()
    bad.loc[10, "revenue"] = -1.0
    bad.to_csv(tmp_path / "bad.csv", index=False)
    res = run("outcomes", "spring", str(tmp_path / "bad.csv"), *db)
    assert res.exit_code == 3 and "nothing imported" in res.output and "negative revenue" in res.output
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    res = run("outcomes", "spring", str(tmp_path / "outcomes.csv"), *db)
    assert res.exit_code == 0, res.output
    assert run("cost", "spring", "80", "--currency", "EUR", *db).exit_code == 0

    res = run("report", "spring", "--format", "json", "-o", str(tmp_path / "report.html"), *db)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout[: res.stdout.rindex("}") + 1])
    camp = doc["campaigns"][0]
    t = outcomes.merge(arms, on="customer_id")
    conv = t.groupby("arm")["conversions"].apply(lambda s: (s > 0).mean())
    assert camp["uplift"]["conversion_rate"]["diff"] == pytest.approx(conv["treatment"] - conv["control"])
    assert camp["cost"] == 80.0 and "CI" in camp["verdict"]
    html = (tmp_path / "report.html").read_text()
    assert "<svg" in html and "spring" in html

    res = run("list", "--format", "json", *db)
    assert res.exit_code == 0 and json.loads(res.stdout)[0]["name"] == "spring"
    res = run("report", "nope", *db)
    assert res.exit_code == 2 and "no campaign 'nope'" in res.output


def test_campaign_plan_cli():
    res = run("plan", "--base-rate", "0.03", "--mde", "0.006", "--holdout", "0.2", "--format", "json")
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    from lookalike.campaigns.plan import sample_size

    assert plan["n_treatment"] == sample_size(0.03, 0.006, holdout_share=0.2).n_treatment
    res = run("plan", "--base-rate", "0.03")
    assert res.exit_code == 2 and "exactly one of --mde" in res.output
