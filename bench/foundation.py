"""Foundation benchmark: Lookalike against the seed script's pipeline in the same run, at 100k customers.

On the seed-shaped export (the 22-column xlsx with its dirt; ``lookalike generate`` without
contact columns):

* **ingest side by side**: each in a fresh process, on the same file, one after the other:
  Lookalike (``bench/clean_timer.py``: import, calamine read, clean, fit) and the seed script's
  pipeline (``bench/seed_script.py``: openpyxl read, per-cell ``.apply`` cleaning, one-hot,
  ``StandardScaler``, scikit-learn ``NearestNeighbors``). With ``--oldmain DIR`` (a worktree of an
  older commit, e.g. ``git worktree add /tmp/oldmain 8eee592``) that tree's clean is timed the
  same way and its result compared with this tree's (they must be identical). The one-pass ingest
  and the seed script run as ``INGEST_PAIRS`` interleaved pairs; the median ratio is the result.
* in this process: the cleaner with its Arrow fast path switched off (the Python path the fast
  path must match), the fit, ``find_lookalikes`` against a scan + scikit-learn lookup, expansion,
  the clean-table cache; then ``lookalike demo`` end to end on the demo's own export. The clean's
  floor: one pandas factorize of each raw column, which any cleaner of these Python cells pays.

Times are wall-clock seconds unless marked CPU; the load average is recorded at start and end
(a loaded machine inflates wall times; CPU times move much less). Prints a table and writes
``bench/results/foundation.{json,md}``.
Usage: ``python bench/foundation.py [--n 100000] [--queries 1000] [--oldmain DIR]``; ``--tables`` only rewrites README.md's table from the last run.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/'s helpers, also when loaded by path
from readme_table import replace_between  # noqa: E402
import pandas as pd

import lookalike as lk
from lookalike.cleaning import _fast
from lookalike.cleaning.cache import clean_file
from lookalike.features import make_feature_pipeline
from lookalike.synth import write_synthetic

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
INGEST_PAIRS = 3  # interleaved seed-script / Lookalike ingest runs; the median ratio is reported
SRC = ROOT.parent / "src"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


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


def run_json(cmd: list[str], src: Path | None = None) -> dict:
    """Run a benchmark helper in a fresh process; its last stdout line is JSON. Adds the wall time seen here."""
    env = {**os.environ, "PYTHONPATH": str(src)} if src is not None else dict(os.environ)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = round(time.perf_counter() - t0, 2)
    return out


def clean_timer(src: Path, export: Path, out: Path, repeat: int = 3) -> dict:
    """Import, read, clean (first and best of ``repeat``) and fit in a fresh process with ``src`` first on the path."""
    return run_json([sys.executable, str(ROOT / "clean_timer.py"), str(export), "--out", str(out), "--fit",
                     "--repeat", str(repeat)], src)


def same_clean(a: Path, b: Path) -> str:
    """What two pickled clean results share: the clean tables must be identical (exact); an empty
    quarantine is compared by its columns (its dtypes are whatever an empty frame gets); the quality
    reports' differing sections are named (a newer tree may report more, e.g. the sheet it read)."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        (ca, qa, ra), (cb, qb, rb) = pickle.load(fa), pickle.load(fb)
    try:
        pd.testing.assert_frame_equal(ca, cb, check_exact=True)
        pd.testing.assert_frame_equal(qa, qb, check_exact=True, check_dtype=bool(len(qa) or len(qb)))
    except AssertionError as exc:
        return f"differ: {str(exc).splitlines()[0]}"
    sections = sorted(k for k in set(ra) | set(rb) if ra.get(k) != rb.get(k))
    return "identical" if not sections else f"identical tables; report sections differ: {', '.join(sections)}"


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
    ap.add_argument("--oldmain", type=Path, help="worktree of an older commit whose clean is timed alongside")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    data_dir = ROOT / ".data"
    data_dir.mkdir(exist_ok=True)
    xlsx = data_dir / f"seed_{args.n}.xlsx"  # the seed-shaped export: 22 columns, no contact columns
    demo_xlsx = data_dir / f"synthetic_{args.n}_seed1.xlsx"  # what `lookalike demo` generates
    rows: list[tuple[str, str, str, str]] = []
    res: dict = {"n": args.n, "machine": machine(), "load_average_at_start": load(), "export": xlsx.name}
    for path, contact in ((xlsx, False), (demo_xlsx, True)):
        if not path.exists():
            _, t = timed(write_synthetic, path, args.n, 1, contact=contact)
            res[f"generate_{path.stem}_s"] = round(t, 2)

    # ingest side by side: fresh processes on the same file, one after the other
    with tempfile.TemporaryDirectory() as tmp:
        ours = clean_timer(SRC, xlsx, Path(tmp) / "ours.pkl")
        res["ours"] = ours
        if args.oldmain is not None:
            old = clean_timer(args.oldmain / "src", xlsx, Path(tmp) / "old.pkl")
            res["oldmain"] = {**old, "tree": str(args.oldmain), "result": same_clean(Path(tmp) / "ours.pkl",
                                                                                  Path(tmp) / "old.pkl")}
            for label, key in (("clean, best of 3 (CPU)", "clean_best_cpu_s"), ("clean, first call (wall)",
                                                                              "clean_first_wall_s")):
                rows.append((label, f"{ours[key]:.2f} s", f"{old[key]:.2f} s (old main)", f"{old[key] / ours[key]:.1f}x"))
            rows.append(("clean results, this tree vs old main", res["oldmain"]["result"], "-", "-"))
    # the ingest as the seed script does it: one pass (the timer above cleans three times for the
    # best-of-three clean), each in its own fresh process, the two interleaved INGEST_PAIRS times: a
    # single pair moved 4.1x -> 3.7x between two runs of unchanged code on this shared machine
    pairs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(INGEST_PAIRS):
            seed = run_json([sys.executable, str(ROOT / "seed_script.py"), str(xlsx)])
            once = clean_timer(SRC, xlsx, Path(tmp) / "once.pkl", repeat=1)
            pairs.append((seed, once))
    res["ingest_pairs"] = [{"seed_script": s_, "ours_one_pass": o_} for s_, o_ in pairs]
    seed, once = pairs[int(np.argsort([s_["process_wall_s"] for s_, _ in pairs])[len(pairs) // 2])]  # median seed run
    res["seed_script"] = seed
    res["ours_one_pass"] = min((o_ for _, o_ in pairs), key=lambda o_: o_["process_wall_s"])
    med = {k: float(np.median([o_[k] for _, o_ in pairs])) for k in ("process_wall_s", "ingest_cpu_s")}
    seed_med = {k: float(np.median([s_[k] for s_, _ in pairs])) for k in ("process_wall_s", "process_cpu_s")}
    ratios = [s_["process_wall_s"] / o_["process_wall_s"] for s_, o_ in pairs]
    res["ingest"] = {"pairs": len(pairs), "ours_wall_s": round(med["process_wall_s"], 2),
                     "seed_script_wall_s": round(seed_med["process_wall_s"], 2),
                     "ours_cpu_s": round(med["ingest_cpu_s"], 2), "seed_script_cpu_s": round(seed_med["process_cpu_s"], 2),
                     "speedup_wall": round(float(np.median(ratios)), 1),
                     "speedup_wall_pairs": [round(r, 2) for r in ratios],
                     "speedup_cpu": round(seed_med["process_cpu_s"] / med["ingest_cpu_s"], 1)}
    rows.append(("read xlsx", f"{ours['read_wall_s']:.2f} s (calamine)", f"{seed['read_s']:.2f} s (openpyxl)",
                 f"{seed['read_s'] / ours['read_wall_s']:.1f}x"))
    rows.append(("clean", f"{ours['clean_first_wall_s']:.2f} s", f"{seed['clean_s']:.2f} s (per-cell apply)", "-"))
    rows.append(("fit (features + index)", f"{ours['fit_wall_s']:.2f} s", f"{seed['fit_s']:.2f} s (sklearn)", "-"))
    spread = ", ".join(f"{r:.1f}x" for r in ratios)
    rows.append((f"ingest: import → read → clean → features → index, one pass (process wall, median of {len(pairs)} "
                 f"interleaved pairs: {spread})", f"{med['process_wall_s']:.2f} s",
                 f"{seed_med['process_wall_s']:.2f} s (seed script)", f"{res['ingest']['speedup_wall']:.1f}x"))
    rows.append(("ingest, CPU seconds (medians)", f"{med['ingest_cpu_s']:.2f} s", f"{seed_med['process_cpu_s']:.2f} s",
                 f"{res['ingest']['speedup_cpu']:.1f}x"))

    # in this process: the Python path the fast path must match, then the fitted model
    raw = lk.read_customers(xlsx)
    result, t_clean = timed(lk.clean_customers, raw)
    with _fast.disabled():
        _, t_slow = timed(lk.clean_customers, raw)
    res["clean"] = {"fast_path_s": round(t_clean, 2), "python_path_s": round(t_slow, 2)}
    # what no cleaner of these cells goes below: one pass over the raw frame's Python objects, here
    # pandas' factorize of every column once (every parser starts from a column's distinct values)
    floor = min(timed(lambda: [pd.factorize(raw[c].to_numpy()) for c in raw.columns])[1] for _ in range(5))
    res["clean"]["floor_one_factorize_per_column_s"] = round(floor, 3)
    if "oldmain" in res:
        res["clean"]["ten_times_old_main_s"] = round(res["oldmain"]["clean_best_cpu_s"] / 10, 3)
        rows.append(("clean floor: one factorize of each raw column, no parsing (best of 5)", f"{floor:.3f} s",
                     f"{res['oldmain']['clean_best_cpu_s'] / 10:.3f} s (10x faster than old main)", "-"))
    rows.append(("clean, fast path vs Python path only", f"{t_clean:.2f} s", f"{t_slow:.2f} s (fast path off)",
                 f"{t_slow / t_clean:.1f}x"))

    # fit
    customers = result.customers
    finder, t_fit = timed(lk.LookalikeFinder().fit, customers)

    def naive_fit():
        from sklearn.neighbors import NearestNeighbors

        X = make_feature_pipeline().fit_transform(customers)
        return X, NearestNeighbors(algorithm="brute").fit(X)

    (Xb, nn), t_fit_b = timed(naive_fit)
    res["fit"] = {"ours_s": round(t_fit, 2), "baseline_s": round(t_fit_b, 2), "index": finder.index_report.to_dict()}

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

    # demo end to end on its own export (installed CLI): clean cache cold, then warm
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "LOOKALIKE_CACHE_DIR": str(Path(tmp) / "cache")}
        cmd = [str(Path(sys.executable).with_name("lookalike")), "demo", "--data", str(demo_xlsx),
               "--out", str(Path(tmp) / "out")]
        t_demo = []
        for _ in range(2):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, env=env, capture_output=True)
            t_demo.append(time.perf_counter() - t0)
    res["demo_end_to_end_s"] = {"cache_cold": round(t_demo[0], 1), "cache_warm": round(t_demo[1], 1)}
    res["load_average_at_end"] = load()
    rows.append(("lookalike demo end to end (clean cache cold / warm)", f"{t_demo[0]:.1f} s / {t_demo[1]:.1f} s",
                 "-", "-"))
    rows.append(("peak RSS (this process)", f"{res['peak_rss_mib']:.0f} MiB", "-", "-"))

    header = ("step", "Lookalike", "baseline", "speedup")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths)), "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    print("\n".join(lines))
    md = [f"# Foundation benchmark ({args.n:,} customers)", "", f"Machine: {json.dumps(res['machine'])}", "",
          f"Load average at start {res['load_average_at_start']}, at end {res['load_average_at_end']}.", "",
          "| " + " | ".join(header) + " |", "|" + "---|" * 4]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    (RESULTS / "foundation.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    (RESULTS / "foundation.json").write_text(json.dumps(res, indent=2), encoding="utf-8")
    write_readme_table()


README = ROOT.parent / "README.md"
TABLE_START = "<!-- foundation-table: generated by bench/foundation.py from bench/results/foundation.md -->"
TABLE_END = "<!-- /foundation-table -->"


def readme_table(md_text: str) -> str:
    """README's copy of the last run: its load line and its table (``bench/results/foundation.md``)."""
    lines = md_text.splitlines()
    load_line = next(line for line in lines if line.startswith("Load average"))
    return "\n".join([f"Last run: {load_line[0].lower()}{load_line[1:]}", "", *[l for l in lines if l.startswith("|")]])


def write_readme_table() -> None:
    """Rewrite README.md's foundation table from ``bench/results/foundation.md`` (never by hand)."""
    replace_between(README, TABLE_START, TABLE_END, readme_table((RESULTS / "foundation.md").read_text("utf-8")))


if __name__ == "__main__":
    if sys.argv[1:] == ["--tables"]:
        write_readme_table()
        sys.exit(0)
    main()
