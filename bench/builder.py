"""Audience builder benchmark: what the web UI's builder asks the API for, against a real ``lookalike serve``.

A 100k-customer synthetic dataset is served (``bench/api_load.py``'s ``serve``: one process on a
free loopback port); an editor then does what the builder page does, through HTTP:

* the page's first reach (VIP seeds, 5%);
* a rule typed as seeds: its first reach (the seeds are scored and the candidates ranked once),
  then the size slider moved step by step (``POST /reach`` at 0.5% to 20%: each step is cut from
  the kept ranking);
* the build of the audience at the chosen size (``POST /audiences``, explained and saved).

Goals (issue 17): a rule-seed build under 3 s and a slider step under 300 ms at 100k. Writes
``bench/results/builder.{json,md}`` with the load average. Usage: ``python bench/builder.py [--n 100000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
sys.path.insert(0, str(ROOT))
from api_load import serve  # noqa: E402
from foundation import machine  # noqa: E402

RULE = "total_spent top 5%"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    res: dict = {"n": args.n, "machine": machine(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory() as home, serve(Path(home), args.n, args.seed, role="editor") as (url, key, _, t_prep, _):
        res["prepare_s"] = round(t_prep, 1)
        http = httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=600)

        def timed(method: str, path: str, body: dict) -> tuple[dict, float]:
            t0 = time.perf_counter()
            r = http.request(method, path, json=body)
            r.raise_for_status()
            return r.json(), time.perf_counter() - t0

        _, res["page_first_reach_vip_s"] = timed("POST", "/api/v1/datasets/bench/reach", {"size": "5%", "exclude_vips": True})
        rule = {"seeds": {"kind": "rule", "rule": RULE}, "exclude_vips": True}
        first, res["rule_first_reach_s"] = timed("POST", "/api/v1/datasets/bench/reach", {**rule, "size": "5%"})
        steps = []
        for pct in np.arange(0.5, 20.01, 0.5):
            _, t = timed("POST", "/api/v1/datasets/bench/reach", {**rule, "size": f"{pct:g}%"})
            steps.append(t)
        res["slider_step_ms"] = {"p50": round(float(np.median(steps)) * 1e3, 1),
                                 "p95": round(float(np.percentile(steps, 95)) * 1e3, 1),
                                 "max": round(float(np.max(steps)) * 1e3, 1), "steps": len(steps)}
        built, res["rule_build_after_slider_s"] = timed("POST", "/api/v1/datasets/bench/audiences",
                                                        {**rule, "size": "7.5%", "name": "bench-rule"})
        res["rule_build_scorer"] = built["parameters"].get("scorer")
        # the same build from a cold ranking (another rule: nothing kept for it)
        cold = {"seeds": {"kind": "rule", "rule": "total_orders top 5%"}, "exclude_vips": True}
        _, res["rule_build_cold_s"] = timed("POST", "/api/v1/datasets/bench/audiences",
                                            {**cold, "size": "5%", "name": "bench-rule-cold"})
    res = {k: round(v, 3) if isinstance(v, float) else v for k, v in res.items()}
    res["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(res, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "builder.json").write_text(json.dumps(res, indent=2))
    md = [f"# Audience builder through the API ({args.n:,} customers)", "",
          f"Load average at start {res['load_average_at_start']}, at end {res['load_average_at_end']}.", "",
          "| step | time |", "|---|---|",
          f"| builder page: first reach (VIPs, 5%) | {res['page_first_reach_vip_s']:.2f} s |",
          f"| rule seeds ({RULE}): first reach (scores and ranks) | {res['rule_first_reach_s']:.2f} s |",
          f"| slider step (0.5% to 20%), p50 / p95 / max | {res['slider_step_ms']['p50']:.0f} / "
          f"{res['slider_step_ms']['p95']:.0f} / {res['slider_step_ms']['max']:.0f} ms |",
          f"| build at the chosen size after the slider (explained, saved) | {res['rule_build_after_slider_s']:.2f} s |",
          f"| build of another rule, nothing kept | {res['rule_build_cold_s']:.2f} s |"]
    (RESULTS / "builder.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
