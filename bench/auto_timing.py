"""How long ``auto`` takes: validating the candidates on the seeds and scoring the combination.

The budget (issue 15): ``auto`` ≤ 3 s at 100,000 customers and ≤ 30 s at 1,000,000 on the 2-core
development machine. Per size: synthetic customers (the generator's clean values; cleaning is
timed elsewhere), the default feature pipeline, the VIPs (~0.6%) as seeds, then
:func:`lookalike.audience.scoring.score_audience` with ``scorer="auto"`` — the call ``expand``
makes — ``--repeats`` times; the median and the split into validation and final scoring are
reported, with the load average before and after (the machine is shared: a number measured
under load is not evidence). Also the whole ``build_audience`` (diagnostics, exclusions,
explanations) once at 100k.

Writes ``bench/results/auto_timing.{json,md}``.
Usage: ``python bench/auto_timing.py [--sizes 100000 1000000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from lookalike.audience.scoring import score_audience, scoring_data
from lookalike.features import FeatureSpec, make_feature_pipeline
from lookalike.io import write_text
from lookalike.synth import generate

RESULTS = Path(__file__).resolve().parent / "results"
BUDGET_S = {100_000: 3.0, 1_000_000: 30.0}


def machine() -> dict:
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version(),
            "note": "project development machine (2 vCPU, 24 GiB), shared with other work"}


def measure(n: int, repeats: int) -> dict:
    gen = generate(n, seed=1)
    customers = gen.customers
    spec = FeatureSpec.default()
    pipe = make_feature_pipeline(spec)
    X = np.ascontiguousarray(pipe.fit_transform(customers), dtype=np.float32)
    names = [str(c) for c in pipe.get_feature_names_out()]
    seeds = np.flatnonzero(customers["vip_flag"].to_numpy() == 1)
    data = scoring_data(X, names, spec, customers)
    runs = []
    for _ in range(repeats):
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        s = score_audience(data, seeds, scorer="auto")
        total = time.perf_counter() - t0
        runs.append({"seconds": round(total, 2), "validation_s": round(s.validation.seconds, 2),
                     "final_s": round(total - s.validation.seconds, 2), "combined": list(s.validation.chosen),
                     "kind": s.validation.kind, "load_before": round(load, 2),
                     "load_after": round(os.getloadavg()[0], 2)})
    med = float(np.median([r["seconds"] for r in runs]))
    out = {"customers": n, "seeds": int(len(seeds)), "features": int(X.shape[1]), "median_s": round(med, 2),
           "budget_s": BUDGET_S.get(n), "met": med <= BUDGET_S.get(n, np.inf), "runs": runs,
           "candidates_s": {r["candidate"]: r["seconds"] for r in s.validation.table.to_dict(orient="records")}}
    if n <= 100_000:
        import lookalike as lk

        finder = lk.LookalikeFinder(index="exact").fit(customers)
        t0 = time.perf_counter()
        finder.build_audience("vip", "5%")
        out["build_audience_s"] = round(time.perf_counter() - t0, 2)
    return out


def markdown(results: list[dict], env: dict) -> str:
    md = ["# `auto` timing: validation on the seeds + scoring the combination", "",
          "Budget: ≤ 3 s at 100k customers, ≤ 30 s at 1M (2-core development machine). VIPs (~0.6%) as seeds, "
          "`score_audience(..., scorer=\"auto\")` as `expand` calls it; median of the runs. Load average (1 min) "
          "before and after each run: the machine is shared, so a run under load overstates the time.", "",
          "| customers | seeds | median | budget | validation / final (each run) | load before → after | combined |",
          "|---|---|---|---|---|---|---|"]
    for r in results:
        runs = "; ".join(f"{x['validation_s']:.2f} / {x['final_s']:.2f} s" for x in r["runs"])
        loads = "; ".join(f"{x['load_before']:.1f} → {x['load_after']:.1f}" for x in r["runs"])
        md.append(f"| {r['customers']:,} | {r['seeds']:,} | {r['median_s']:.2f} s | {r['budget_s']} s "
                  f"({'met' if r['met'] else '**missed**'}) | {runs} | {loads} | {' + '.join(r['runs'][0]['combined'])} |")
    md += ["", "Validation seconds per candidate (last run, all folds): " + "; ".join(
        f"{r['customers']:,}: " + ", ".join(f"{k} {v:.2f}" for k, v in r["candidates_s"].items()) for r in results)]
    b = [r for r in results if "build_audience_s" in r]
    if b:
        md += ["", f"Whole `build_audience` (diagnostics, exclusions, explanations) at {b[0]['customers']:,}: "
               f"{b[0]['build_audience_s']:.2f} s."]
    md += ["", f"Machine: {env['cpu']}, {env['cores']} cores, Python {env['python']}. {env['note']}.", ""]
    return "\n".join(md)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    env = machine()
    results = []
    for n in args.sizes:
        r = measure(n, args.repeats)
        print(json.dumps(r), flush=True)
        results.append(r)
    write_text(RESULTS / "auto_timing.json", json.dumps({"machine": env, "results": results}, indent=2))
    write_text(RESULTS / "auto_timing.md", markdown(results, env))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
