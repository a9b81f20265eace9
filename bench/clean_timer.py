"""Time one Lookalike tree's ingest of an export in a fresh process (a helper of ``bench/foundation.py``).

``python bench/clean_timer.py EXPORT --out RESULT.pkl [--repeat 3] [--fit]`` imports ``lookalike``
from whatever ``PYTHONPATH`` points at (this tree, or an old commit's worktree), reads the export,
cleans it ``--repeat`` times, optionally fits, and prints one JSON line of timings (CPU seconds of
this process and wall seconds; the first clean apart from the best one). The clean result is
pickled to ``--out`` so the caller can check that two trees clean alike. Only the long-standing
public API is used (``read_customers``, ``clean_customers``, ``LookalikeFinder``), so old trees run it.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time

_T0 = (time.process_time(), time.perf_counter())


def _since(t: tuple[float, float]) -> tuple[float, float, tuple[float, float]]:
    now = (time.process_time(), time.perf_counter())
    return now[0] - t[0], now[1] - t[1], now


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("export")
    ap.add_argument("--out", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fit", action="store_true")
    args = ap.parse_args()

    import lookalike as lk

    res: dict = {}
    res["import_cpu_s"], res["import_wall_s"], t = _since(_T0)
    raw = lk.read_customers(args.export)
    res["read_cpu_s"], res["read_wall_s"], t = _since(t)
    cpu, wall = [], []
    for _ in range(args.repeat):
        result = lk.clean_customers(raw)
        c, w, t = _since(t)
        cpu.append(c)
        wall.append(w)
    res.update(clean_first_cpu_s=cpu[0], clean_first_wall_s=wall[0], clean_best_cpu_s=min(cpu),
               clean_best_wall_s=min(wall))
    if args.fit:
        # the fit as a command runs it: once, on the clean table, imports included
        finder = lk.LookalikeFinder().fit(result.customers)
        res["fit_cpu_s"], res["fit_wall_s"], t = _since(t)
        res["index"] = finder.index_report.kind
        res["ingest_cpu_s"] = res["import_cpu_s"] + res["read_cpu_s"] + res["clean_first_cpu_s"] + res["fit_cpu_s"]
        res["ingest_wall_s"] = (res["import_wall_s"] + res["read_wall_s"] + res["clean_first_wall_s"]
                                + res["fit_wall_s"])
    with open(args.out, "wb") as fh:
        pickle.dump((result.customers, result.quarantine, result.report.to_dict()), fh)
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in res.items()}))


if __name__ == "__main__":
    main()
