"""Evaluation results in words, tables and a gain chart (generated from the numbers, never hard-coded)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from lookalike.evaluation.backtest import BacktestResult
from lookalike.io import write_table, write_text

LABELS = {
    "seed_share": "lookalike (share of seeds among neighbours)",
    "seed_distance": "lookalike (distance to nearest seeds)",
    "classifier": "lookalike (seed-vs-base classifier)",
    "best_rule": "best rule (chosen on the seeds)",
    "spend": "rank by past spend",
    "supervised": "supervised logistic regression",
    "random": "random",
}


def _fmt(row: dict, metric: str) -> str:
    return f"{row[metric]:.3f} [{row[f'{metric} ci_low']:.3f}, {row[f'{metric} ci_high']:.3f}]"


def conclusion(result: BacktestResult, default: str = "seed_share") -> str:
    """A one-paragraph plain-language reading of a backtest for a CMO."""
    s = result.summary.set_index("method")
    if default not in s.index:
        return "The default lookalike scorer was not part of this run."
    base = float(result.splits["base_rate"].mean())
    t = result.task
    lines = [f"On {t['name']} ({t['customers']:,} customers; base rate {base:.1%}), "
             f"the lookalike audience reached a precision of {s.loc[default, 'precision@N']:.1%} "
             f"(lift {s.loc[default, 'lift@N']:.1f}×) at the size of the target group."]
    comp = result.comparisons
    for versus, name in (("best_rule", "the best rule a marketer could write from the seeds"),
                         ("spend", "ranking by past spend")):
        row = comp[(comp.metric == "precision@N") & (comp.versus == versus)] if len(comp) else comp
        if len(row):
            r = row.iloc[0]
            if r["ci_low"] > 0:
                verdict = f"better than {name} by {r['mean']:+.1%} points (95% CI {r['ci_low']:+.1%} to {r['ci_high']:+.1%})"
            elif r["ci_high"] < 0:
                verdict = f"worse than {name} by {-r['mean']:.1%} points (95% CI {r['ci_low']:+.1%} to {r['ci_high']:+.1%})"
            else:
                verdict = (f"not distinguishable from {name} (difference {r['mean']:+.1%} points, "
                           f"95% CI {r['ci_low']:+.1%} to {r['ci_high']:+.1%})")
            lines.append(f"It was {verdict}.")
    best = s["precision@N"].drop(labels=["random"], errors="ignore").idxmax()
    if best != default:
        lines.append(f"The best method on this task was {LABELS.get(best, best)} "
                     f"({s.loc[best, 'precision@N']:.1%}): where it wins, the future positives resemble "
                     "what that method measures more than they resemble the seeds.")
    return " ".join(lines)


def write_results(result: BacktestResult, out_dir: str | os.PathLike[str], *, plot: bool = True) -> list[Path]:
    """Write summary JSON, a Markdown table with the conclusion, per-split CSV and the gain chart."""
    out = Path(out_dir)
    name = result.task["name"]
    paths = [write_table(result.splits, out / f"{name}.splits.csv")]
    text = conclusion(result)
    paths.append(write_text(out / f"{name}.json", json.dumps({**result.to_dict(), "conclusion": text}, indent=2,
                                                            default=str)))
    s = result.summary
    md = [f"# {name}: lookalike against rules", "", result.task.get("title", "") if isinstance(result.task, dict) else "",
          "", text, "", "| method | precision@N [95% CI] | lift@N | precision@M (rule size) | AUC |", "|---|---|---|---|---|"]
    for r in s.to_dict(orient="records"):  # one row per method
        pm = _fmt(r, "precision@M") if "precision@M" in s and pd.notna(r.get("precision@M")) else "-"
        md.append(f"| {LABELS.get(r['method'], r['method'])} | {_fmt(r, 'precision@N')} | {r['lift@N']:.2f} | {pm} | "
                  f"{r['auc']:.3f} |")
    md += ["", f"N = targets in the population; M = size of the best rule. {result.params['n_splits']} splits; "
           f"features: {', '.join(result.task['features'])}; never features (label): "
           f"{', '.join(result.task['label_columns_excluded']) or 'none'}.",
           f"Rule chosen in the first split: `{result.rules[0]}`." if result.rules else ""]
    paths.append(write_text(out / f"{name}.md", "\n".join(md) + "\n"))
    if plot and len(result.gains):
        from lookalike.report.plots import gain_chart, save_figure

        paths.append(save_figure(gain_chart(result.gains, title=f"Cumulative gain — {name}"), out / f"{name}.gain.png"))
    return paths
