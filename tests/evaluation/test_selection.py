"""Model selection without peeking, seed-size tables and the evaluation HTML page."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import pandas as pd
import pytest

from lookalike.errors import ParameterError
from lookalike.evaluation import selection as sel_mod
from lookalike.evaluation.backtest import backtest
from lookalike.evaluation.report import conclusion
from lookalike.report.evaluation import render_evaluation_html
from lookalike.evaluation.selection import (
    expand_grid,
    holdout_halves,
    seed_size_table,
    select_model,
)
from lookalike.evaluation.tasks import load_task

REAL = Path(__file__).resolve().parents[2] / "datasets" / "real"
SMALL_GRID = {"scorer": ("seed_share", "seed_distance", "classifier"), "k": (20, 50), "learn_weights": (True,)}


@pytest.fixture(scope="module")
def personality():
    return load_task(REAL / "customer_personality" / "task.toml")


@pytest.fixture(scope="module")
def spied_selection(personality):
    """select_model on a small grid, recording every backtest call it makes."""
    calls = []
    real = sel_mod.backtest

    def spy(task, **kw):
        res = real(task, **kw)
        calls.append({"random_state": kw["random_state"], "scorers": tuple(kw["scorers"]),
                      "baselines": tuple(kw["baselines"]), "k": kw["k"], "learn_weights": kw["learn_weights"],
                      "population": task.population.copy(), "target": task.target.copy(),
                      "metric": res.splits.groupby("method")["precision@N"].mean().to_dict()})
        return res

    mp = pytest.MonkeyPatch()
    mp.setattr(sel_mod, "backtest", spy)
    try:
        result = select_model(personality, SMALL_GRID, n_validation=3, n_test=4, random_state=3)
    finally:
        mp.undo()
    return result, calls


@pytest.mark.slow
def test_validation_and_test_splits_never_share_a_seed(spied_selection):
    result, calls = spied_selection
    assert len(result.validation_seeds) == 3 and len(result.test_seeds) == 4
    assert not set(result.validation_seeds) & set(result.test_seeds)
    # backtest split i draws from default_rng([random_state, i]): the calls' states decide the splits
    used_val = {(c["random_state"], i) for c in calls if c["random_state"] == result.params["validation_random_state"]
                for i in range(3)}
    used_test = {(c["random_state"], i) for c in calls if c["random_state"] == result.params["test_random_state"]
                 for i in range(4)}
    assert used_val == set(result.validation_seeds) and used_test == set(result.test_seeds)
    assert {c["random_state"] for c in calls} == {result.params["validation_random_state"],
                                                  result.params["test_random_state"]}


@pytest.mark.slow
def test_choice_is_made_before_and_without_any_test_split(spied_selection):
    result, calls = spied_selection
    rs_val, rs_test = result.params["validation_random_state"], result.params["test_random_state"]
    states = [c["random_state"] for c in calls]
    first_test = states.index(rs_test)
    # every validation run comes first, and no test run happens before the choice
    assert set(states[:first_test]) == {rs_val} and set(states[first_test:]) == {rs_test}
    # validation runs carry no baselines (computed once, on the test splits)
    assert all(not c["baselines"] for c in calls[:first_test])
    assert any(c["baselines"] for c in calls[first_test:])
    # the test runs evaluate only the chosen configuration (and the product default)
    assert {c["scorers"] for c in calls[first_test:]} <= {(result.chosen["scorer"],), ("seed_share",)}
    # given task: validation and test count targets on disjoint halves of the population
    val_pop = calls[0]["population"]
    test_pop = calls[first_test]["population"]
    assert not (val_pop & test_pop).any()
    assert calls[0]["target"].sum() > 0 and not (calls[0]["target"] & calls[first_test]["target"]).any()


@pytest.mark.slow
def test_chosen_config_is_the_argmax_of_the_validation_table(spied_selection):
    result, _ = spied_selection
    t = result.table
    best = t.loc[t["precision@N"].idxmax()]
    assert t["chosen"].sum() == 1 and bool(t.loc[t["precision@N"].idxmax(), "chosen"])
    assert result.chosen == {"scorer": best["scorer"], "k": int(best["k"]), "learn_weights": bool(best["learn_weights"])}
    assert t.loc[t["chosen"], "rank"].item() == 1


@pytest.mark.slow
def test_selection_result_has_the_expected_columns(spied_selection):
    result, _ = spied_selection
    assert len(result.table) == 6  # 3 scorers x 2 k x 1 weight setting
    assert {"config", "scorer", "k", "learn_weights", "effective_k", "precision@N", "ci_low", "ci_high",
            "lift@N", "auc", "ap", "rank", "chosen"} <= set(result.table.columns)
    assert result.params["models_run"] == 4  # seed_distance (k capped at 10) and the classifier ignore k
    assert {"role", "config", "method", "precision@N", "precision@N ci_low", "precision@N ci_high",
            "lift@N", "precision@M"} <= set(result.test.columns)
    assert result.test["role"].iloc[0] == "chosen"
    assert {"best_rule", "spend", "supervised", "random"} <= set(result.test["method"])
    assert (result.test["splits"] == 4).all()
    assert {"metric", "versus", "mean", "ci_low", "ci_high"} <= set(result.comparisons.columns)
    assert "best_rule" in set(result.comparisons["versus"])
    d = result.to_dict()
    assert d["chosen"]["label"] == result.chosen_label and len(d["validation"]) == 6


def test_grid_and_metric_are_checked(personality):
    with pytest.raises(ParameterError, match="unknown scorer"):
        expand_grid({"scorer": ["magic"]})
    with pytest.raises(ParameterError, match="precision@M"):
        select_model(personality, SMALL_GRID, metric="precision@M")
    assert [c["effective_k"] for c in expand_grid({"scorer": ["seed_distance"], "k": [5, 100]})] == [5, 10]


def test_holdout_halves_are_stratified_and_disjoint(personality):
    val, test, _ = holdout_halves(personality, 0)
    assert not (val.population & test.population).any()
    assert (val.population | test.population).sum() == personality.population.sum()
    assert abs(int(val.target.sum()) - int(test.target.sum())) <= 1


@pytest.mark.slow
def test_seed_size_table_skips_unreachable_sizes_instead_of_relabelling(personality):
    curve = seed_size_table(personality, (20, 100_000, None), n_splits=2, scorers=("seed_share", "classifier"))
    assert curve.attrs["skipped"] == [100_000]
    assert list(dict.fromkeys(curve["seed_size"])) == [20, "all"]
    assert (curve.loc[curve.seed_size == 20, "n_seeds"] == 20).all()
    assert set(curve["method"]) == {"seed_share", "classifier", "supervised", "random"}


@pytest.fixture(scope="module")
def page(personality, spied_selection):
    evil = dataclasses.replace(personality, title="<script>alert('x')</script> campaign 6")
    results = [backtest(evil, n_splits=2, scorers=("seed_share", "classifier"), baselines=("best_rule", "random")),
               backtest(dataclasses.replace(personality, name="personality-copy"), n_splits=2,
                        scorers=("seed_share",), baselines=("random",))]
    curve = pd.DataFrame({"seed_size": [50, 50, "all", "all"], "n_seeds": [50.0, 50.0, 300.0, 300.0],
                          "n_target": [10.0] * 4, "method": ["seed_share", "classifier"] * 2,
                          "lift@N": [2.0, 1.5, 2.5, 3.0], "lift@N ci_low": [1.8, 1.2, 2.2, 2.8],
                          "lift@N ci_high": [2.2, 1.8, 2.8, 3.2]})
    text = render_evaluation_html(results, selection=[spied_selection[0]], seed_sizes={"toy hide": curve})
    return results, text


@pytest.mark.slow
def test_html_has_one_section_per_task_with_conclusion_and_svg(page):
    results, text = page
    assert text.count('<section class="task"') == len(results)
    for res in results:
        assert html.escape(conclusion(res)) in text
    assert text.count("<svg") >= len(results) + 1  # gain charts and the seed-size chart
    assert "Model selection" in text and "seed-set size" in text.lower()
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', text)  # no external assets


@pytest.mark.slow
def test_html_escapes_a_task_title_with_a_script_tag(page):
    _, text = page
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(" in text
