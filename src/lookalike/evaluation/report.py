"""Evaluation results in words, tables and a gain chart (generated from the numbers, never hard-coded)."""

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


def _pts(x: float) -> str:
    return f"{100 * x:+.1f}"


def comparison_sentence(row: dict, name: str) -> str:
    """"better than … by +x points (95% CI …)", or "a tie with …" when the interval covers 0."""
    ci = f"95% CI {_pts(row['ci_low'])} to {_pts(row['ci_high'])} points, resampling {row.get('interval', 'splits')}"
    if row["ci_low"] > 0:
        return f"better than {name} by {_pts(row['mean'])} points ({ci})"
    if row["ci_high"] < 0:
        return f"worse than {name} by {100 * -row['mean']:.1f} points ({ci})"
    return f"a tie with {name} (difference {_pts(row['mean'])} points, {ci})"


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


def write_results(result: BacktestResult, out_dir: str | os.PathLike[str], *, plot: bool = True,
                  default: str = "auto") -> list[Path]:
    """Write summary JSON, a Markdown table with the conclusion, per-split CSV and the gain chart."""
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
            md.append(f"- {LABELS.get(r['versus'], r['versus'])}: {_pts(r['mean'])} points "
                      f"[{_pts(r['ci_low'])}, {_pts(r['ci_high'])}] — {r['verdict']} (over splits only: "
                      f"[{_pts(r['split_ci_low'])}, {_pts(r['split_ci_high'])}])")
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
    if plot and len(result.gains):
        from lookalike.report.plots import gain_chart, save_figure

        paths.append(save_figure(gain_chart(result.gains, title=f"Cumulative gain — {name}"), out / f"{name}.gain.png"))
    return paths


# --------------------------------------------------------------------------- HTML page (all tasks)


def _ci(row, metric: str, pct: bool = False) -> str:
    """``mean [low, high]`` of a summary row, or ``-`` when the metric is absent."""
    import math

    value = row.get(metric) if hasattr(row, "get") else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    lo, hi = row.get(f"{metric} ci_low"), row.get(f"{metric} ci_high")
    f = (lambda x: f"{x:.1%}") if pct else (lambda x: f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}")
    if lo is None or hi is None or any(isinstance(x, float) and math.isnan(x) for x in (lo, hi)):
        return f(value)
    return f"{f(value)} [{f(lo)}, {f(hi)}]"


def seed_size_figure(curves: dict[str, pd.DataFrame], *, metric: str = "lift@N"):
    """Line plot of ``metric`` by seed-set size (log axis), one panel per task, CI as a band.

    ``curves`` maps a task name to a :func:`lookalike.evaluation.selection.seed_size_table`
    frame; the "all" point is drawn at its mean number of seeds. Returns a matplotlib Figure
    (no pyplot), to be written with :func:`lookalike.report.plots.save_figure` or
    :func:`lookalike.report.plots.figure_to_svg`.
    """
    from matplotlib.figure import Figure

    from lookalike.report.plots import METHOD_STYLE

    fig = Figure(figsize=(5.6 * max(1, len(curves)), 4.2), layout="constrained")
    axes = fig.subplots(1, max(1, len(curves)), squeeze=False)[0]
    for ax, (name, curve) in zip(axes, curves.items()):
        for method, g in curve.groupby("method", sort=False):
            label, color, style = METHOD_STYLE.get(str(method), (str(method), "#59636e", "-"))
            x = g["n_seeds"].to_numpy(dtype=float)
            ax.plot(x, g[metric], style, marker="o", markersize=4, color=color, label=label,
                    linewidth=2.0 if method == "seed_share" else 1.3)
            if f"{metric} ci_low" in g and method != "supervised":  # supervised ≈ classifier: one band is enough
                ax.fill_between(x, g[f"{metric} ci_low"], g[f"{metric} ci_high"], color=color, alpha=0.10, linewidth=0)
        from matplotlib.ticker import NullLocator

        ax.set_xscale("log")
        ticks = sorted(set(curve["n_seeds"].round().astype(int)))
        ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("seeds used (log scale; last point = all seeds)")
        ax.set_ylabel(metric + " (1 = random)")
        ax.set_ylim(bottom=0)
        ax.set_title(f"{metric} by seed-set size — {name}", fontsize=10, loc="left")
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(alpha=0.25)
        ax.legend(frameon=False, fontsize=8)
    return fig


def _selection_view(sel) -> dict:
    table = sel.table.drop_duplicates(subset=["config"]).sort_values("rank", kind="stable")
    metric = sel.metric
    validation = [{"config": r["config"], "value": _ci({metric: r[metric], f"{metric} ci_low": r["ci_low"],
                                                         f"{metric} ci_high": r["ci_high"]}, metric),
                   "lift": f"{r['lift@N']:.2f}" if "lift@N" in r and metric != "lift@N" else "",
                   "auc": f"{r['auc']:.3f}" if metric != "auc" else "", "rank": int(r["rank"]),
                   "chosen": bool(r["chosen"])} for r in table.to_dict(orient="records")]
    test = [{"role": r["role"], "method": LABELS.get(r["method"], r["method"]) if r["role"] == "baseline" else r["config"],
             "precision_n": _ci(r, "precision@N"), "lift_n": _ci(r, "lift@N"), "precision_m": _ci(r, "precision@M"),
             "auc": _ci(r, "auc")} for r in sel.test.to_dict(orient="records")]
    comps = []
    c = sel.comparisons
    if len(c):
        for r in c[c["metric"].isin(["precision@N", "precision@M"])].to_dict(orient="records"):
            comps.append({"metric": r["metric"], "versus": LABELS.get(r["versus"], r["versus"]),
                          "diff": f"{r['mean']:+.1%} points [{r['ci_low']:+.1%}, {r['ci_high']:+.1%}]",
                          "sign": "good" if r["ci_low"] > 0 else "bad" if r["ci_high"] < 0 else "tie"})
    p = sel.params
    note = (f"Chosen on {p['n_validation']} validation splits (random_state {p['validation_random_state']}), "
            f"reported on {p['n_test']} test splits (random_state {p['test_random_state']}); "
            f"holdout: {p.get('holdout', 'none')}. {p['grid_size']} grid configurations, {p['models_run']} distinct models.")
    return {"metric": metric, "chosen": sel.chosen_label, "validation": validation, "test": test,
            "comparisons": comps, "note": note}


def _seed_view(name: str, curve: pd.DataFrame) -> dict:
    sizes = list(dict.fromkeys(curve["seed_size"].tolist()))
    methods = list(dict.fromkeys(curve["method"].tolist()))
    cells = {(r["seed_size"], r["method"]): r for r in curve.to_dict(orient="records")}
    rows = []
    for m in methods:
        rows.append({"method": LABELS.get(m, m),
                     "values": [_ci(cells[(s, m)], "lift@N") if (s, m) in cells else "-" for s in sizes]})
    used = [f"{curve.loc[curve.seed_size == s, 'n_seeds'].iloc[0]:,.0f}" for s in sizes]
    skipped = curve.attrs.get("skipped") or []
    return {"name": name, "sizes": [str(s) for s in sizes], "used": used, "rows": rows,
            "skipped": ", ".join(map(str, skipped)), "available": curve.attrs.get("available_seeds")}


def render_evaluation_html(results: list[BacktestResult], selection=None, seed_sizes=None, *,
                           title: str = "Lookalike evaluation: do lookalikes beat rules?",
                           machine: dict | None = None) -> str:
    """One self-contained HTML page (inline CSS and SVG, no scripts) for several backtests.

    Per task: the generated :func:`conclusion`, the precision/lift table with bootstrap CIs,
    the gain chart of the first split as inline SVG and — when ``selection`` (a list or a
    mapping by task name of :class:`~lookalike.evaluation.selection.SelectionResult`) has an
    entry for the task — the model-selection tables. ``seed_sizes`` (a mapping task name →
    :func:`~lookalike.evaluation.selection.seed_size_table` frame) adds a seed-size section.
    Every text from the data is HTML-escaped (Jinja2 autoescaping).
    """
    import jinja2

    from lookalike.report.plots import figure_to_svg, gain_chart

    if selection is None:
        sel_by_name = {}
    elif isinstance(selection, dict):
        sel_by_name = dict(selection)
    else:
        sel_by_name = {s.task["name"]: s for s in selection}
    sections = []
    for res in results:
        name = res.task["name"]
        rows = []
        for r in res.summary.to_dict(orient="records"):
            rows.append({"method": LABELS.get(r["method"], r["method"]), "key": r["method"],
                         "precision_n": _ci(r, "precision@N"), "lift_n": _ci(r, "lift@N"),
                         "precision_m": _ci(r, "precision@M"), "precision_10": _ci(r, "precision@10%"),
                         "ap": _ci(r, "ap"), "auc": _ci(r, "auc")})
        comps = [{"versus": LABELS.get(c["versus"], c["versus"]),
                  "diff": f"{_pts(c['mean'])} points [{_pts(c['ci_low'])}, {_pts(c['ci_high'])}]",
                  "splits_only": f"[{_pts(c['split_ci_low'])}, {_pts(c['split_ci_high'])}]", "verdict": c["verdict"],
                  "sign": {"better": "good", "worse": "bad"}.get(c["verdict"], "tie")}
                 for c in res.comparisons.to_dict(orient="records") if c["metric"] == "precision@N"] \
            if len(res.comparisons) else []
        validation = (res.to_dict().get("validation") or {}).get("first_split")
        svg = figure_to_svg(gain_chart(res.gains, title="Cumulative gain (first split)")) if len(res.gains) else ""
        n_target = int(res.splits["n_target"].iloc[0]) if len(res.splits) else 0
        facts = [("mode", res.task.get("mode", "")), ("customers", f"{res.task.get('customers', 0):,}"),
                 ("targets in the population (N)", f"{n_target:,}"),
                 ("base rate", f"{res.splits['base_rate'].mean():.1%}" if len(res.splits) else "-"),
                 ("splits", str(res.params.get("n_splits", ""))),
                 ("features", ", ".join(res.task.get("features", []))),
                 ("never features (label)", ", ".join(res.task.get("label_columns_excluded", [])) or "none")]
        if res.rules:
            facts.append(("rule chosen in the first split", res.rules[0]))
        sections.append({"name": name, "title": res.task.get("title", ""), "conclusion": conclusion(res),
                         "rows": rows, "svg": svg, "facts": facts, "comparisons": comps, "validation": validation,
                         "selection": _selection_view(sel_by_name[name]) if name in sel_by_name else None})
    seeds = []
    if seed_sizes is not None:
        items = seed_sizes.items() if isinstance(seed_sizes, dict) else ((c.attrs.get("task", f"task {i + 1}"), c)
                                                                         for i, c in enumerate(seed_sizes))
        for name, curve in items:
            view = _seed_view(name, curve)
            view["svg"] = figure_to_svg(seed_size_figure({name: curve}))
            seeds.append(view)
    env = jinja2.Environment(loader=jinja2.PackageLoader("lookalike.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("evaluation.html.j2").render(
        title=title, sections=sections, seeds=seeds, machine=machine or {})
