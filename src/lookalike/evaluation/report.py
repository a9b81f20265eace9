"""Evaluation results in words and tables, as data (generated from the numbers, never hard-coded); the
gain charts and the HTML page are drawn by :mod:`lookalike.report.evaluation`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from lookalike.evaluation.backtest import BacktestResult
from lookalike.io import write_table, write_text

LABELS = {
    "auto": "lookalike, shipped default (auto: validated combination)",
    "seed_share": "lookalike (share of seeds among neighbours)",
    "seed_distance": "lookalike (distance to nearest seeds)",
    "classifier": "lookalike (seed-vs-base logistic classifier)",
    "gbm": "lookalike (seed-vs-base gradient boosting)",
    "value": "rank by value",
    "rule": "rule learned from the seeds",
    "best_rule": "best rule (chosen on the seeds)",
    "spend": "rank by past spend (value column)",
    "supervised": "supervised logistic regression",
    "random": "random",
}
#: The goal of issue 15: the default within 0.5 point of the better label-free baseline.
GOAL_MARGIN = 0.005


def _fmt(row: dict, metric: str) -> str:
    return f"{row[metric]:.3f} [{row[f'{metric} ci_low']:.3f}, {row[f'{metric} ci_high']:.3f}]"


def points(x: float) -> str:
    """A difference of shares in percentage points, signed (``+1.5``)."""
    return f"{100 * x:+.1f}"


def comparison_sentence(row: dict, name: str) -> str:
    """"better than … by +x points (95% CI …)", or "a tie with …" when the interval covers 0."""
    ci = f"95% CI {points(row['ci_low'])} to {points(row['ci_high'])} points, resampling {row.get('interval', 'splits')}"
    if row["ci_low"] > 0:
        return f"better than {name} by {points(row['mean'])} points ({ci})"
    if row["ci_high"] < 0:
        return f"worse than {name} by {100 * -row['mean']:.1f} points ({ci})"
    return f"a tie with {name} (difference {points(row['mean'])} points, {ci})"


def goal_status(result: BacktestResult, default: str = "auto") -> dict:
    """Does the default reach max(best_rule, spend) − 0.5 point at N, and is it ahead by 0.5 point?"""
    s = result.summary.set_index("method")
    if default not in s.index:
        return {}
    mine = float(s.loc[default, "precision@N"])
    baselines = {b: float(s.loc[b, "precision@N"]) for b in ("best_rule", "spend") if b in s.index}
    if not baselines:
        return {}
    best_name = max(baselines, key=baselines.get)
    best = baselines[best_name]
    return {"default": mine, "best_baseline": best_name, "baseline": best, "margin": mine - best,
            "met": mine >= best - GOAL_MARGIN - 1e-12, "ahead": mine >= best + GOAL_MARGIN - 1e-12}


def _validation_words(result: BacktestResult) -> str:
    v = result.to_dict().get("validation") or {}
    if not v:
        return ""
    kinds = ", ".join(f"{k} in {n} split{'s' * (n != 1)}" for k, n in v["kinds"].items())
    combos = "; ".join(f"{c} ({n})" for c, n in list(v["combined"].items())[:3])
    return f"auto validated {kinds} and combined {combos}."


MISSED = {
    "random": ("The seeds carry no order in time and there were no outcomes of an earlier campaign, so auto could only "
               "hold out seeds at random — which rewards finding more customers like the seeds. The targets here are "
               "not drawn like the seeds; a validation that looks like them was needed: the seeds' order in time "
               "(seed_order, validated forward) or the responders of an earlier campaign from the same seeds."),
    "forward": ("auto validated forward on the seeds' order in time, but the later seeds did not behave like the "
                "targets: the seeds' own history could not show what changed afterwards. The outcomes of an earlier "
                "campaign from the same seeds (closed-loop validation) would have been needed."),
    "campaign": ("auto validated on the outcomes of an earlier campaign, and those responders did not resemble this "
                 "task's targets; a campaign closer in time and in kind to the targets would have been needed."),
}


def conclusion(result: BacktestResult, default: str = "auto") -> str:
    """A plain-language reading of a backtest for a CMO: the default against both label-free baselines."""
    s = result.summary.set_index("method")
    if default not in s.index:
        return "The default lookalike scorer was not part of this run."
    base = float(result.splits["base_rate"].mean())
    t = result.task
    name = "the shipped default (auto)" if default == "auto" else f"the {default} scorer"
    lines = [f"On {t['name']} ({t['customers']:,} customers; base rate {base:.1%}), {name} reached a precision of "
             f"{s.loc[default, 'precision@N']:.1%} (lift {s.loc[default, 'lift@N']:.1f}×) at the size of the target "
             "group."]
    if default == "auto":
        words = _validation_words(result)
        if words:
            lines.append(words[0].upper() + words[1:])
    comp = result.comparisons
    for versus, what in (("best_rule", "the best rule a marketer could write from the seeds"),
                         ("spend", f"ranking by {t.get('value') or 'past spend'}")):
        row = comp[(comp.metric == "precision@N") & (comp.versus == versus)] if len(comp) else comp
        if len(row):
            lines.append(f"It was {comparison_sentence(row.iloc[0].to_dict(), what)}.")
    ranked = s["precision@N"].drop(labels=["random", "supervised"], errors="ignore")
    best = ranked.idxmax()
    if best != default:
        lines.append(f"The best label-free method on this task was {LABELS.get(best, best)} "
                     f"({s.loc[best, 'precision@N']:.1%}).")
    g = goal_status(result, default)
    if g and default == "auto":
        if not g["met"]:
            kinds = (result.to_dict().get("validation") or {}).get("kinds") or {"random": 1}
            kind = max(kinds, key=kinds.get)
            lines.append(f"Goal missed: {100 * g['margin']:+.1f} points against {LABELS[g['best_baseline']]}. "
                         + MISSED[kind])
        else:
            lines.append(f"Goal met: {100 * g['margin']:+.1f} points against the better label-free baseline "
                         f"({LABELS[g['best_baseline']]}; the goal is no worse than −0.5 point).")
    return " ".join(lines)


def write_results(result: BacktestResult, out_dir: str | os.PathLike[str], *, default: str = "auto") -> list[Path]:
    """Write summary JSON, a Markdown table with the conclusion and the per-split CSV (the gain chart is
    drawn by :func:`lookalike.report.evaluation.write_evaluation`)."""
    out = Path(out_dir)
    name = result.task["name"]
    paths = [write_table(result.splits, out / f"{name}.splits.csv")]
    text = conclusion(result, default)
    doc = {**result.to_dict(), "conclusion": text, "goal": goal_status(result, default)}
    paths.append(write_text(out / f"{name}.json", json.dumps(doc, indent=2, default=str)))
    s = result.summary
    md = [f"# {name}: lookalike against rules", "", result.task.get("title", ""), "", text, "",
          "| method | precision@N [95% CI] | spread over splits (sd) | lift@N | precision@M (rule size) | "
          "precision@10% | AP | AUC |", "|---|---|---|---|---|---|---|---|"]
    for r in s.to_dict(orient="records"):  # one row per method
        pm = _fmt(r, "precision@M") if "precision@M" in s and pd.notna(r.get("precision@M")) else "-"
        md.append(f"| {LABELS.get(r['method'], r['method'])} | {_fmt(r, 'precision@N')} | {r['precision@N sd']:.3f} | "
                  f"{r['lift@N']:.2f} | {pm} | {r['precision@10%']:.3f} | {r['ap']:.3f} | {r['auc']:.3f} |")
    comp = result.comparisons
    if len(comp):
        md += ["", f"{default} against each method, precision@N (95% CI resampling {comp['interval'].iloc[0]}; "
               "tie when it covers 0):", ""]
        for r in comp[comp.metric == "precision@N"].to_dict(orient="records"):
            md.append(f"- {LABELS.get(r['versus'], r['versus'])}: {points(r['mean'])} points "
                      f"[{points(r['ci_low'])}, {points(r['ci_high'])}] — {r['verdict']} (over splits only: "
                      f"[{points(r['split_ci_low'])}, {points(r['split_ci_high'])}])")
    v = result.to_dict().get("validation") or {}
    if v.get("first_split"):
        f = v["first_split"]
        md += ["", f"Why this method (first split): {f['note']}", "",
               f"| candidate ({f['measure']}) | score | spread | folds | seconds | role |", "|---|---|---|---|---|---|"]
        for r in f["table"]:
            md.append(f"| {r['candidate']} | {r['score']:.3f} | {r['spread']:.3f} | {r['folds']} | {r['seconds']:.2f} | "
                      f"{r['role']} |")
    md += ["", f"N = targets in the population; M = size of the best rule. {result.params['n_splits']} splits; "
           f"features: {', '.join(result.task['features'])}; never features (label): "
           f"{', '.join(result.task['label_columns_excluded']) or 'none'}.",
           f"Rule chosen in the first split: `{result.rules[0]}`." if result.rules else ""]
    paths.append(write_text(out / f"{name}.md", "\n".join(md) + "\n"))
    return paths
