"""The evaluation's figures and HTML page: gain charts, the seed-size figure and one self-contained page
for several backtests. The numbers, tables and conclusions come from :mod:`lookalike.evaluation.report`
(data); this module draws them and renders through the one Jinja environment
(:func:`lookalike.report.templating.environment`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from lookalike.evaluation.backtest import BacktestResult
from lookalike.evaluation.report import LABELS, conclusion, points, write_results
from lookalike.report.plots import METHOD_STYLE, figure_to_svg, gain_chart, save_figure
from lookalike.report.templating import environment

__all__ = ["render_evaluation_html", "seed_size_figure", "write_evaluation", "write_gain_chart"]


def write_gain_chart(result: BacktestResult, out_dir: str | os.PathLike[str]) -> Path | None:
    """The cumulative-gain chart of a backtest as ``<task>.gain.png`` (``None`` without gains)."""
    if not len(result.gains):
        return None
    name = result.task["name"]
    return save_figure(gain_chart(result.gains, title=f"Cumulative gain — {name}"), Path(out_dir) / f"{name}.gain.png")


def write_evaluation(result: BacktestResult, out_dir: str | os.PathLike[str], *, default: str = "auto") -> list[Path]:
    """Every file of one backtest: :func:`~lookalike.evaluation.report.write_results` (JSON, Markdown,
    per-split CSV) and the gain chart."""
    paths = write_results(result, out_dir, default=default)
    chart = write_gain_chart(result, out_dir)
    return [*paths, chart] if chart is not None else paths


def _ci(row, metric: str, pct: bool = False) -> str:
    """``mean [low, high]`` of a summary row, or ``-`` when the metric is absent."""
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
    fig = Figure(figsize=(5.6 * max(1, len(curves)), 4.2), layout="constrained")
    axes = fig.subplots(1, max(1, len(curves)), squeeze=False)[0]
    for ax, (name, curve) in zip(axes, curves.items()):
        for method, g in curve.groupby("method", sort=False):
            color, style, marker = METHOD_STYLE.get(str(method), ("#59636e", "-", "o"))
            label = LABELS.get(str(method), str(method))
            x = g["n_seeds"].to_numpy(dtype=float)
            ax.plot(x, g[metric], style, marker=marker or "o", markersize=4, color=color, label=label,
                    linewidth=2.0 if method == "seed_share" else 1.3)
            if f"{metric} ci_low" in g and method != "supervised":  # supervised ≈ classifier: one band is enough
                ax.fill_between(x, g[f"{metric} ci_low"], g[f"{metric} ci_high"], color=color, alpha=0.10, linewidth=0)
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
                  "diff": f"{points(c['mean'])} points [{points(c['ci_low'])}, {points(c['ci_high'])}]",
                  "splits_only": f"[{points(c['split_ci_low'])}, {points(c['split_ci_high'])}]", "verdict": c["verdict"],
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
    return environment().get_template("evaluation.html.j2").render(
        title=title, sections=sections, seeds=seeds, machine=machine or {})
