"""Evaluation tasks whose data is a transaction log: features as of a cut-off, labels from after it.

Hand computation on tests/data/transactions/small_log.csv with the cut-off 2011-01-05 and the
window up to 2011-01-31 (see tests/data/transactions/README.md for the log):

- as of 2011-01-05, the known customers are 100 (order 1001: 3 + 4 + 2 = 9) and 300 (orders
  3002 and 3001: 1 + 5 + 5 + 0 = 11); 200 and 400 appear only later;
- window spend: 100 → 1002 (6 + 2) − C1003 (4) + 1004 (1 + 3) = 8; 200 → 15 − 2 = 13 (newcomer);
  400 → −8 (returns only, counts as active); 300 → nothing (its 3003 lines are invalid);
- active in the window: 100, 200, 400 → median (top_share 0.5) of (8, 13, −8) = 8, so the top
  half is {100, 200}; among the known customers only 100;
- seeds "total_spent >= total_spent.quantile(0.5)" on (9, 11): 300; target: 100.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lookalike.errors import InputError
from lookalike.evaluation.backtest import backtest
from lookalike.evaluation.tasks import load_task

LOG = Path(__file__).resolve().parents[1] / "data" / "transactions" / "small_log.csv"

TASK = """
name = "tiny_log"
file = "small_log.csv"

[transactions]
as_of = "2011-01-05"
label_end = "2011-01-31"
top_share = 0.5

[features]
numeric = ["total_orders", "total_spent", "days_since_last_purchase"]
label = ["future_spent", "future_top"]

[task]
mode = "given"
seeds = "total_spent >= total_spent.quantile(0.5)"
target = "future_top"
"""


@pytest.fixture()
def task_dir(tmp_path: Path) -> Path:
    shutil.copy(LOG, tmp_path / "small_log.csv")
    (tmp_path / "task.toml").write_text(TASK)
    return tmp_path


def test_labels_come_from_the_window_and_features_from_before(task_dir):
    t = load_task(task_dir / "task.toml")
    c = t.customers.set_index("customer_id")
    assert list(c.index) == ["100", "300"]
    assert c.loc["100", "total_spent"] == pytest.approx(9.0)       # as of the cut-off, not later
    assert c.loc["300", "total_spent"] == pytest.approx(11.0)
    assert c["future_spent"].tolist() == pytest.approx([8.0, 0.0])
    assert c["future_top"].tolist() == [True, False]
    assert t.seeds.tolist() == [False, True] and t.target.tolist() == [True, False]
    assert set(t.label_columns) == {"future_spent", "future_top"}
    assert not set(t.spec.columns) & {"future_spent", "future_top"}
    assert "3 customers active" in t.notes[0]


def test_label_columns_cannot_be_features(task_dir):
    (task_dir / "task.toml").write_text(TASK.replace('"days_since_last_purchase"]',
                                                     '"days_since_last_purchase", "future_spent"]'))
    with pytest.raises(InputError, match=r"\[features\] numeric uses future_spent"):
        load_task(task_dir / "task.toml")


def test_task_needs_a_cut_off(task_dir):
    (task_dir / "task.toml").write_text(TASK.replace('as_of = "2011-01-05"', ""))
    with pytest.raises(InputError, match="as_of"):
        load_task(task_dir / "task.toml")


def _online_retail_by_hand(path: Path) -> dict:
    """The task's numbers straight from the raw lines with plain pandas (independent of lookalike.transactions)."""
    df = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str}, parse_dates=["InvoiceDate"])
    df = df[df["CustomerID"].notna()]
    value = df["Quantity"] * df["UnitPrice"]   # cancellations carry negative quantities: netted
    cut = df["InvoiceDate"] < pd.Timestamp("2011-07-01")
    past = value[cut].groupby(df.loc[cut, "CustomerID"]).sum()
    future = value[~cut].groupby(df.loc[~cut, "CustomerID"]).sum()
    seeds = past.index[past >= past.quantile(0.95)]
    top = future.index[future >= future.quantile(0.95)]
    rest = past.drop(seeds)
    targets = rest.index.intersection(top)
    by_spend = rest.sort_values(ascending=False, kind="stable").index[: len(targets)]
    return {"customers": len(past), "seeds": len(seeds), "targets": len(targets), "population": len(rest),
            "spend_hits": len(by_spend.intersection(targets))}


@pytest.mark.slow
def test_online_retail_task_runs_through_the_harness():
    """The shipped task against a plain-pandas computation of the same split."""
    path = Path(__file__).resolve().parents[2] / "datasets" / "real" / "online_retail"
    expected = _online_retail_by_hand(path / "online_retail.csv.gz")
    t = load_task(path / "task.toml")
    d = t.describe()
    assert {k: d[k] for k in ("customers", "seeds", "targets", "population")} == \
        {k: expected[k] for k in ("customers", "seeds", "targets", "population")}
    res = backtest(t, n_splits=2, scorers=("classifier",), baselines=("spend", "random"))
    s = res.summary.set_index("method")
    # ranking by past spend is label-free and the same in every split
    assert s.loc["spend", "precision@N"] == pytest.approx(expected["spend_hits"] / expected["targets"])
    assert s.loc["classifier", "precision@N"] > 3 * s.loc["random", "precision@N"]
    assert np.isfinite(s.loc["classifier", "auc"])
