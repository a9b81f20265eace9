"""Evaluation benchmark: the shipped default (``auto``) against the rules a marketer would write.

Regenerates ``bench/results/evaluation/``:

- the backtests of the four tasks (``synthetic-vip-like``, ``customer_personality``,
  ``bank_marketing`` — time split — and ``online_retail``): ``<task>.{json,md,splits.csv,gain.png}``
  via :func:`lookalike.report.evaluation.write_evaluation`. Every row comes from the product's one
  scoring path (:func:`lookalike.audience.scoring.score_audience`, what ``expand`` calls, with its
  defaults); the ``auto`` row is the shipped default;
- on ``online_retail`` (a transaction log, time split at 2011-06-30), which of the log's
  features help: ``online_retail.features.{md,json}``;
- lift@N by seed-set size on two "hide" tasks (bank subscribers, synthetic VIPs), optional
  (``--only seed_size``): ``seed_size.{md,json,png}``;
- everything on one self-contained page: ``index.html``; then the README table
  (``bench/readme_table.py``).

Whether ``auto``'s design generalises beyond these four tasks is ``bench/auto_study.py``.
The machine and its load are noted in every output.
Usage: ``python bench/evaluation.py [--quick] [--only backtest,seed_size] [--tasks online_retail]``
(``index.html`` is written only when every task ran, so it never drops a task).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import lookalike as lk
from lookalike.evaluation.backtest import backtest
from lookalike.evaluation.report import LABELS
from lookalike.evaluation.selection import seed_size_table
from lookalike.evaluation.tasks import Task, load_task, synthetic_task
from lookalike.io import write_text
from lookalike.report.evaluation import render_evaluation_html, seed_size_figure, write_evaluation
from lookalike.report.plots import save_figure
from lookalike.synth import generate
from readme_table import update_readme

ROOT = Path(__file__).resolve().parent
REAL = ROOT.parent / "datasets" / "real"
OUT = ROOT / "results" / "evaluation"
STEPS = ("backtest", "seed_size")
DEFAULT_STEPS = ("backtest",)


def machine() -> dict:
    import threadpoolctl

    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "blas": sorted({str(i.get("internal_api")) for i in threadpoolctl.threadpool_info()}),
        "note": "project development machine (2 vCPU, 24 GiB, no GPU), shared with other jobs",
    }


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def show(df: pd.DataFrame, title: str) -> None:
    print(f"\n== {title}")
    print(df.to_string(index=False))


# --------------------------------------------------------------------------- tasks


def backtest_tasks(quick: bool) -> list[Task]:
    gen = generate(4_000 if quick else 20_000, seed=5)  # as `lookalike evaluate --task synthetic`
    synthetic = synthetic_task(lk.clean_customers(gen.raw).customers, gen.customers)
    nrows = 12_000 if quick else None
    return [synthetic, load_task(REAL / "customer_personality" / "task.toml"),
            load_task(REAL / "bank_marketing" / "task.toml", nrows=nrows),
            load_task(REAL / "online_retail" / "task.toml")]


#: Feature sets compared on online_retail: what does each kind of log feature add?
RFM = ("tenure_months", "total_orders", "days_since_last_purchase", "frequency", "avg_items_per_order",
       "pct_reordered", "total_spent", "avg_ticket")


def feature_sets(task: Task) -> dict[str, dict]:
    """The task's own spec and ablations of it (numeric/categorical columns kept, in spec order)."""
    spec = task.spec
    shares = tuple(c for c in spec.numeric if c.startswith("share_"))
    when_where = tuple(c for c in spec.categorical if c in ("region", "preferred_weekday", "hour_band"))
    return {
        "all (task spec)": {"numeric": spec.numeric, "categorical": spec.categorical},
        "RFM only": {"numeric": RFM, "categorical": ()},
        "RFM + category shares": {"numeric": RFM + shares, "categorical": ()},
        "RFM + favourite category": {"numeric": RFM, "categorical": ("fav_category",)},
        "RFM + region, weekday, hour band": {"numeric": RFM, "categorical": when_where},
    }


def feature_ablation(task: Task, n_splits: int) -> pd.DataFrame:
    """precision@N of each scorer and the supervised baseline under each feature set (same splits)."""
    import dataclasses

    from lookalike.features import FeatureSpec

    out = []
    for label, cols in feature_sets(task).items():
        spec = FeatureSpec(numeric=tuple(cols["numeric"]), log=tuple(c for c in task.spec.log if c in cols["numeric"]),
                           categorical=tuple(cols["categorical"]), boolean=task.spec.boolean,
                           excluded=task.spec.excluded, groups={})
        res = backtest(dataclasses.replace(task, spec=spec), n_splits=n_splits, baselines=("supervised", "spend"))
        for r in res.summary.to_dict(orient="records"):
            out.append({"features": label, "n_features": len(spec.columns), **{k: r[k] for k in (
                "method", "precision@N", "precision@N ci_low", "precision@N ci_high", "lift@N", "auc")}})
    return pd.DataFrame(out)


def target_profile(task: Task) -> dict:
    """Who the future top spenders are, in the numbers that explain why ranking by past spend is hard to beat."""
    c = task.customers
    seeds, target, pop = task.seeds, task.target, task.population
    future_top = c["future_top"].to_numpy(dtype=bool)
    pct = c.loc[pop, "total_spent"].rank(ascending=False, pct=True).to_numpy()
    in_pop = target[pop]
    med = {g: {col: float(pd.to_numeric(c.loc[m, col], errors="coerce").median())
               for col in ("total_spent", "total_orders", "tenure_months", "days_since_last_purchase")}
           for g, m in (("seeds", seeds), ("targets", target), ("others", pop & ~target))}
    return {"future_top_known": int(future_top.sum()), "future_top_seeds": int((future_top & seeds).sum()),
            "seeds": int(seeds.sum()), "targets": int(target.sum()),
            "targets_in_past_spend_top": {f"{q:.0%}": int((in_pop & (pct <= q)).sum()) for q in (0.05, 0.1, 0.2, 0.5)},
            "medians": med}


def ablation_markdown(table: pd.DataFrame, task: Task, n_splits: int, env: dict, profile: dict | None = None) -> str:
    methods = list(dict.fromkeys(table["method"]))
    md = ["# online_retail: which features of a transaction log help?", "", task.title, "",
          ("precision@N (N = the 50 future top spenders outside the seeds) of each scorer and the supervised baseline "
           f"with each feature set, mean [95% bootstrap CI] over the same {n_splits} seed splits; rank by past spend "
           "does not use the features and is the same in every row. The headline result uses the task's spec "
           "(decided before this table existed: the default spec minus what a log cannot fill, plus the category "
           "shares, region, weekday and hour band). This table is measured on the same targets as the headline, so it "
           "is evidence about the features, not a hold-out result for a tuned spec."), "",
          "| features | " + " | ".join(LABELS.get(m, m) for m in methods) + " |", "|---|" + "---|" * len(methods)]
    for label, g in table.groupby("features", sort=False):
        cells = {r["method"]: _ci(r["precision@N"], r["precision@N ci_low"], r["precision@N ci_high"])
                 for r in g.to_dict(orient="records")}
        md.append(f"| {label} ({int(g['n_features'].iloc[0])} inputs) | "
                  + " | ".join(cells.get(m, "-") for m in methods) + " |")
    if profile:
        p = profile
        tops = ", ".join(f"{n} in the top {q}" for q, n in p["targets_in_past_spend_top"].items())
        md += ["", "## Who the targets are", "",
               (f"Of the {p['future_top_known']} customers known at the cut-off who reach the top 5% of spend after it, "
                f"{p['future_top_seeds']} are seeds ({p['future_top_seeds'] / p['seeds']:.0%} of the {p['seeds']} seeds "
                f"stay on top): spend persists. The other {p['targets']} (the targets), ranked by past spend among the "
                f"non-seeds: {tops}. They are the next tier of spenders, not customers who look like the top tier "
                "in their mix or habits:"), "",
               "| group | median past spend | median orders | median tenure (months) | median recency (days) |",
               "|---|---|---|---|---|"]
        for g, m in p["medians"].items():
            md.append(f"| {g} | {m['total_spent']:,.0f} | {m['total_orders']:.1f} | {m['tenure_months']:.0f} | "
                      f"{m['days_since_last_purchase']:.0f} |")
    md += ["", _machine_line(env), ""]
    return "\n".join(md)


def hide_tasks(quick: bool) -> list[Task]:
    gen = generate(10_000 if quick else 60_000, seed=5)
    synthetic = synthetic_task(lk.clean_customers(gen.raw).customers)  # hide VIPs
    return [load_task(REAL / "bank_marketing" / "task_hide.toml", nrows=12_000 if quick else None), synthetic]


# --------------------------------------------------------------------------- Markdown


def _ci(mean: float, lo: float, hi: float, pct: bool = False) -> str:
    f = (lambda x: f"{x:.1%}") if pct else (lambda x: f"{x:.3f}")
    if pd.isna(lo) or pd.isna(hi):
        return f(mean)
    return f"{f(mean)} [{f(lo)}, {f(hi)}]"


def _row_ci(r: pd.Series | dict, m: str) -> str:
    v = r.get(m)
    if v is None or pd.isna(v):
        return "-"
    return _ci(v, r.get(f"{m} ci_low"), r.get(f"{m} ci_high"))


def _reading(curve: pd.DataFrame) -> list[str]:
    """Which scorer leads at each size, and whether its CI clears the runner-up's."""
    lines = []
    scorers = curve[curve["method"].isin(["seed_share", "seed_distance", "classifier", "supervised"])]
    for size, g in scorers.groupby("seed_size", sort=False):
        g = g.sort_values("lift@N", ascending=False)
        a, b = g.iloc[0], g.iloc[1]
        sep = "its CI clears" if a["lift@N ci_low"] > b["lift@N ci_high"] else "CIs overlap with"
        kn = g.set_index("method")
        knn_vs_clf = (f"seed_share {kn.loc['seed_share', 'lift@N']:.2f} vs classifier "
                      f"{kn.loc['classifier', 'lift@N']:.2f}") if {"seed_share", "classifier"} <= set(kn.index) else ""
        density = float(a["seed_density"])
        lines.append(f"- {size} seeds ({a['n_seeds']:,.0f} used; seed density {density:.2%}, so ≈{50 * density:.2f} "
                     f"seeds among a customer's 50 neighbours): best {a['method']} (lift {a['lift@N']:.2f}); "
                     f"{sep} {b['method']} ({b['lift@N']:.2f}). {knn_vs_clf}.")
    return lines


def seed_size_markdown(curves: dict[str, pd.DataFrame], env: dict, params: dict) -> str:
    md = ["# Lift@N by seed-set size", "",
          ("Hide tasks: each split hides 30% of the positives (the targets) and keeps the rest as seeds; smaller "
          "seed lists are random subsets of that split's seeds, so every size is scored on the same targets. "
          f"{params['n_splits']} splits per size; k = {params['k']}, learned weights. Mean lift@N (1 = random) with "
          "95% bootstrap CIs over splits. The Pinterest finding to check: kNN-style expansion strong on small "
          "seed lists, a seed-versus-base classifier on large ones."), ""]
    for name, c in curves.items():
        sizes = list(dict.fromkeys(c["seed_size"]))
        md += [f"## {name}", "", "| method | " + " | ".join(str(s) for s in sizes) + " |",
               "|---|" + "---|" * len(sizes)]
        for method, g in c.groupby("method", sort=False):
            cells = {r["seed_size"]: _ci(r["lift@N"], r["lift@N ci_low"], r["lift@N ci_high"]) for _, r in g.iterrows()}
            md.append(f"| {LABELS.get(method, method)} | " + " | ".join(cells.get(s, "-") for s in sizes) + " |")
        used = {r["seed_size"]: f"{r['n_seeds']:,.0f}" for _, r in c.drop_duplicates("seed_size").iterrows()}
        md.append("| *seeds used* | " + " | ".join(used[s] for s in sizes) + " |")
        md += ["", (f"Targets per split: {c['n_target'].iloc[0]:,.0f}; seeds available per split: "
                    f"{c.attrs.get('available_seeds')}.")]
        if c.attrs.get("skipped"):
            md.append(f"Requested sizes not reachable on this task (skipped, not relabelled): "
                      f"{', '.join(map(str, c.attrs['skipped']))}.")
        md += ["", *_reading(c), ""]
    md += ["![lift by seed size](seed_size.png)", "", _machine_line(env), ""]
    return "\n".join(md)


def _machine_line(env: dict) -> str:
    return (f"Machine: {env['cpu']}, {env['cores']} cores, {env['memory_gib']} GiB, Python {env['python']}, "
            f"numpy {env['numpy']}, pandas {env['pandas']}, BLAS {'/'.join(env['blas'])}; load average at start "
            f"{env['load_average_at_start']}. {env['note']}.")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--splits", type=int, default=20, help="backtest splits (synthetic, customer_personality)")
    ap.add_argument("--bank-splits", type=int, default=20, help="backtest splits on bank_marketing (45k rows)")
    ap.add_argument("--seed-splits", type=int, default=10, help="splits per seed size (bank hide task)")
    ap.add_argument("--synthetic-seed-splits", type=int, default=20, help="splits per seed size (synthetic, 60k)")
    ap.add_argument("--only", default=",".join(DEFAULT_STEPS), help=f"comma-separated steps of {', '.join(STEPS)}")
    ap.add_argument("--tasks", default="", help="comma-separated task names to run (default: all); "
                    "index.html is then not rewritten")
    ap.add_argument("--ablation-splits", type=int, default=20, help="splits per feature set (online_retail)")
    ap.add_argument("--quick", action="store_true", help="tiny data and 2 splits: a smoke test of the script")
    args = ap.parse_args(argv)
    steps = {s.strip() for s in args.only.split(",") if s.strip()}
    if steps - set(STEPS):
        ap.error(f"unknown step(s) {', '.join(sorted(steps - set(STEPS)))}")
    if args.quick:
        args.splits = args.bank_splits = args.seed_splits = args.synthetic_seed_splits = args.ablation_splits = 2
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    env = machine()
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    log(f"machine: {json.dumps(env)}")

    tasks = backtest_tasks(args.quick)
    wanted = {t.strip() for t in args.tasks.split(",") if t.strip()}
    if wanted - {t.name for t in tasks}:
        ap.error(f"unknown task(s) {', '.join(sorted(wanted - {t.name for t in tasks}))}")
    if wanted:
        tasks = [t for t in tasks if t.name in wanted]
    results = []
    if "backtest" in steps:
        for t in tasks:
            t0 = time.perf_counter()
            n = args.bank_splits if t.name == "bank_marketing" else args.splits
            log(f"backtest {t.name}: {n} splits")
            res = backtest(t, n_splits=n, progress=lambda i, total, sec, name=t.name: log(
                f"  {name}: split {i + 1}/{total} in {sec:.1f} s (load {os.getloadavg()[0]:.1f})"))
            res.params["machine"] = env
            write_evaluation(res, out)
            timings[f"backtest {t.name}"] = time.perf_counter() - t0
            table = res.summary[["method", "precision@N", "precision@N ci_low", "precision@N ci_high", "lift@N", "auc"]]
            show(table.round(3), f"{t.name}: backtest ({n} splits, {timings[f'backtest {t.name}']:.0f} s)")
            results.append(res)

    retail = [t for t in tasks if t.name == "online_retail"]
    if "backtest" in steps and retail:
        t0 = time.perf_counter()
        log(f"feature ablation online_retail: {args.ablation_splits} splits per feature set")
        table = feature_ablation(retail[0], args.ablation_splits)
        timings["ablation online_retail"] = time.perf_counter() - t0
        show(table.round(3), "online_retail: precision@N by feature set")
        profile = target_profile(retail[0])
        write_text(out / "online_retail.features.md",
                   ablation_markdown(table, retail[0], args.ablation_splits, env, profile))
        write_text(out / "online_retail.features.json", json.dumps(
            {"machine": env, "n_splits": args.ablation_splits, "rows": table.round(4).to_dict(orient="records"),
             "target_profile": profile},
            indent=2, default=str))

    curves: dict[str, pd.DataFrame] = {}
    if "seed_size" in steps and not wanted:
        for t in hide_tasks(args.quick):
            t0 = time.perf_counter()
            n = args.synthetic_seed_splits if t.name.startswith("synthetic") else args.seed_splits
            log(f"seed sizes {t.name}: {n} splits per size ({t.describe().get('positives')} positives)")
            c = seed_size_table(t, (50, 200, 1000, None), n_splits=n, random_state=0)
            timings[f"seed_size {t.name}"] = time.perf_counter() - t0
            curves[t.name] = c
            show(c[["seed_size", "n_seeds", "method", "lift@N", "lift@N ci_low", "lift@N ci_high", "ap"]].round(3),
                 f"{t.name}: lift@N by seed size ({n} splits, skipped: {c.attrs['skipped']})")
        params = {"n_splits": {k: c.attrs["params"]["n_splits"] for k, c in curves.items()}, "k": 50}
        md_params = {"n_splits": " / ".join(f"{k}: {v}" for k, v in params["n_splits"].items()), "k": 50}
        write_text(out / "seed_size.md", seed_size_markdown(curves, env, md_params))
        write_text(out / "seed_size.json", json.dumps(
            {"machine": env, "params": params, "tasks": {k: {"skipped": c.attrs["skipped"],
                                                             "available_seeds": c.attrs["available_seeds"],
                                                             "rows": c.round(4).to_dict(orient="records")}
                                                         for k, c in curves.items()}}, indent=2, default=str))
        save_figure(seed_size_figure(curves), out / "seed_size.png")

    if wanted or "backtest" not in steps:
        log("index.html not rewritten: only part of the tasks ran")
    elif results:
        page = render_evaluation_html(results, seed_sizes=curves or None,
                                      machine={k: v for k, v in env.items() if k != "blas"})
        write_text(out / "index.html", page)
        update_readme()
    total = time.perf_counter() - t_start
    print("\n== timings (s)")
    for k, v in timings.items():
        print(f"{k:45s} {v:7.1f}")
    print(f"{'total':45s} {total:7.1f}")
    log(f"wrote results to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
