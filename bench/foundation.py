"""Foundation benchmark: Lookalike against a naive baseline in the same run, at 100k customers.

Baseline = what a first notebook does (the seed script's pipeline): pandas + openpyxl read,
per-row ``.apply`` cleaning with the same parsers, the same features, scikit-learn
``NearestNeighbors``, and a lookup that scans the table per query. The cleaner is also timed
with its Arrow fast path switched off (the Python path the fast path must match).

Prints a table and writes ``bench/results/foundation.{json,md}`` with the machine noted.
Usage: ``python bench/foundation.py [--n 100000] [--queries 1000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import lookalike as lk
from lookalike.cleaning import _fast
from lookalike.cleaning.cache import clean_file
from lookalike.cleaning.table import _column_parsers
from lookalike.cleaning.text import load_vocabulary
from lookalike.features import make_feature_pipeline
from lookalike.synth import write_synthetic

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def machine() -> dict:
    import threadpoolctl

    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "blas": [i.get("internal_api") for i in threadpoolctl.threadpool_info()],
        "note": "project development machine (2 vCPU, 24 GiB, no GPU); shared and noisy: compare ratios",
    }


def naive_clean_sample(raw: pd.DataFrame, rows: int) -> float:
    """Seconds per row of per-row ``.apply`` cleaning with the same parsers (measured on a sample)."""
    parsers = _column_parsers(load_vocabulary())
    sample = raw.head(rows)
    t0 = time.perf_counter()
    with _fast.disabled():  # one cell at a time, Arrow's per-call set-up would only slow the baseline
        for col, parse in parsers.items():
            if col in sample.columns:
                sample[col].apply(lambda v, p=parse: p(pd.Series([v], dtype=object)).values.iloc[0])
    return (time.perf_counter() - t0) / rows


def naive_find(df: pd.DataFrame, X: np.ndarray, nn, cid: str, k: int) -> pd.DataFrame:
    row = df.index[df["customer_id"] == cid][0]  # scan the table per query
    dist, idx = nn.kneighbors(X[row : row + 1], n_neighbors=k + 1)
    out = df.iloc[idx[0][1:]][["customer_id", "vip_flag", "total_spent", "total_orders", "region", "fav_category"]].copy()
    out["distance"] = dist[0][1:]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--naive-rows", type=int, default=2000, help="rows of the per-row baseline actually timed")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    data_dir = ROOT / ".data"
    data_dir.mkdir(exist_ok=True)
    xlsx = data_dir / f"synthetic_{args.n}.xlsx"
    rows: list[tuple[str, str, str, str]] = []
    res: dict = {"n": args.n, "machine": machine(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}

    if not xlsx.exists():
        _, t = timed(write_synthetic, xlsx, args.n, 1, contact=True)
        res["generate_xlsx_s"] = round(t, 2)

    # read
    raw, t_ours = timed(lk.read_customers, xlsx)
    _, t_base = timed(pd.read_excel, xlsx, engine="openpyxl")
    res["read"] = {"calamine_s": round(t_ours, 2), "openpyxl_s": round(t_base, 2), "speedup": round(t_base / t_ours, 1)}
    rows.append(("read xlsx", f"{t_ours:.2f} s", f"{t_base:.2f} s (openpyxl)", f"{t_base / t_ours:.1f}x"))

    # clean: the Arrow fast path, then the Python path alone (the reference it must match) in the same run
    result, t_clean = timed(lk.clean_customers, raw)
    with _fast.disabled():
        _, t_slow = timed(lk.clean_customers, raw)
    res["clean_python_path_s"] = round(t_slow, 2)
    rows.append(("clean, fast path vs Python path only", f"{t_clean:.2f} s", f"{t_slow:.2f} s (fast path off)",
                 f"{t_slow / t_clean:.1f}x"))
    per_row = naive_clean_sample(raw, args.naive_rows)
    t_naive = per_row * len(raw)
    res["clean"] = {"vectorized_s": round(t_clean, 2), "per_row_apply_s_extrapolated": round(t_naive, 1),
                    "per_row_timed_rows": args.naive_rows, "speedup": round(t_naive / t_clean, 1)}
    rows.append(("clean", f"{t_clean:.2f} s", f"{t_naive:.1f} s (per-row apply, from {args.naive_rows:,} rows)",
                 f"{t_naive / t_clean:.0f}x"))

    # fit
    customers = result.customers
    finder, t_fit = timed(lk.LookalikeFinder().fit, customers)

    def naive_fit():
        from sklearn.neighbors import NearestNeighbors

        X = make_feature_pipeline().fit_transform(customers)
        return X, NearestNeighbors(algorithm="brute").fit(X)

    (Xb, nn), t_fit_b = timed(naive_fit)
    res["fit"] = {"ours_s": round(t_fit, 2), "baseline_s": round(t_fit_b, 2), "index": finder.index_report.to_dict()}
    rows.append(("fit (features + index)", f"{t_fit:.2f} s", f"{t_fit_b:.2f} s (sklearn)", "-"))
    # ingest = read → clean → features → index, against the seed script's pipeline (openpyxl, per-cell apply)
    ours, seed_script = t_ours + t_clean + t_fit, t_base + t_naive + t_fit_b
    res["ingest"] = {"ours_s": round(ours, 2), "seed_script_s": round(seed_script, 1),
                     "speedup": round(seed_script / ours, 1)}
    rows.append(("ingest: read → clean → features → index", f"{ours:.2f} s",
                 f"{seed_script:.1f} s (openpyxl + per-cell apply + sklearn)", f"{seed_script / ours:.1f}x"))

    # queries
    rng = np.random.default_rng(0)
    ids = customers["customer_id"].to_numpy()[rng.integers(0, len(customers), args.queries)]
    for cid in ids[:20]:  # warm-up
        finder.find_lookalikes(cid, k=10)
    lat = np.empty(len(ids))
    for i, cid in enumerate(ids):
        t0 = time.perf_counter()
        finder.find_lookalikes(cid, k=10)
        lat[i] = time.perf_counter() - t0
    nb = min(200, len(ids))
    lat_b = np.empty(nb)
    base_df = customers.reset_index(drop=True)
    for i, cid in enumerate(ids[:nb]):
        t0 = time.perf_counter()
        naive_find(base_df, Xb, nn, cid, 10)
        lat_b[i] = time.perf_counter() - t0
    p50, p95 = np.percentile(lat, [50, 95]) * 1000
    b50, b95 = np.percentile(lat_b, [50, 95]) * 1000
    res["find_lookalikes_ms"] = {"p50": round(p50, 3), "p95": round(p95, 3), "baseline_p50": round(b50, 2),
                                 "baseline_p95": round(b95, 2), "queries": len(ids), "baseline_queries": nb}
    rows.append(("find_lookalikes k=10 p50", f"{p50:.2f} ms", f"{b50:.2f} ms (scan + sklearn)", f"{b50 / p50:.0f}x"))
    rows.append(("find_lookalikes k=10 p95", f"{p95:.2f} ms", f"{b95:.2f} ms", f"{b95 / p95:.0f}x"))

    # expansion: all VIP seeds (~0.6%) to a 5% audience
    res["expand_vip_to_5pct_s"] = {}
    for label, kwargs in (
        ("auto (validates 6 candidates on the seeds, scores the combination)", {}),
        ("seed_share, learned weights", {"scorer": "seed_share"}),
        ("seed_share, unweighted", {"scorer": "seed_share", "learn_weights": False}),
    ):
        ts = [timed(finder.build_audience, "vip", "5%", **kwargs)[1] for _ in range(3)]
        res["expand_vip_to_5pct_s"][label] = round(float(np.median(ts)), 2)
        rows.append((f"expand VIPs to 5%: {label}", f"{np.median(ts):.2f} s", "-", "-"))
    # the auto scorer alone (validation + final scoring), as budgeted: <= 3 s at 100k
    auto_runs = [finder.build_audience("vip", "5%", explain=False).params["seconds"] for _ in range(3)]
    res["auto_scoring_s"] = round(float(np.median(auto_runs)), 2)
    rows.append(("auto scorer alone (validation + scoring the combination)", f"{np.median(auto_runs):.2f} s", "-", "-"))

    # cache
    with tempfile.TemporaryDirectory() as cache:
        _, t_first = timed(clean_file, xlsx, cache_dir=cache)
        (_, hit), t_hit = timed(clean_file, xlsx, cache_dir=cache)
    res["cache"] = {"first_s": round(t_first, 2), "hit_s": round(t_hit, 3), "hit": hit}
    rows.append(("re-read unchanged file (cache)", f"{t_hit:.2f} s", f"{t_first:.2f} s (first read)", f"{t_first / t_hit:.0f}x"))
    res["peak_rss_mib"] = round(peak_rss_mib(), 0)

    # demo end to end (installed CLI, generated export reused, clean cache cold)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "LOOKALIKE_CACHE_DIR": str(Path(tmp) / "cache")}
        cmd = [str(Path(sys.executable).with_name("lookalike")), "demo", "--data", str(xlsx), "--out", str(Path(tmp) / "out")]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, capture_output=True)
        t_demo = time.perf_counter() - t0
    res["demo_end_to_end_s"] = round(t_demo, 1)
    res["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    rows.append(("lookalike demo end to end", f"{t_demo:.1f} s", "-", "-"))
    rows.append(("peak RSS (this process)", f"{res['peak_rss_mib']:.0f} MiB", "-", "-"))

    header = ("step", "Lookalike", "naive baseline", "speedup")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths)), "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    print("\n".join(lines))
    md = [f"# Foundation benchmark ({args.n:,} customers)", "", f"Machine: {json.dumps(res['machine'])}", "",
          "| " + " | ".join(header) + " |", "|" + "---|" * 4]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    (RESULTS / "foundation.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    (RESULTS / "foundation.json").write_text(json.dumps(res, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
