"""Scale benchmark: 100k, 1M and 10M generated customers on one machine.

Per size, in its own subprocess (so peak RSS is per size):

* ingest + clean: the parquet export read in batches and cleaned in chunks (``clean_parquet``);
* fit: features (float32; statistics from a 1M sample above 1M rows) + the ``auto`` index,
  whose recall@10 against exact search is measured at build time;
* peak RSS after ingest → clean → featurize → index (the goal: < 6 GiB at 10M) and overall;
* single-query ``find_lookalikes`` p50/p95, the index search alone for the same queries, and, as the baseline in the same run, the exact
  FAISS search of the same queries (no index: ``faiss.knn`` over all rows);
* batch throughput of the index (10,000 queries at once);
* recall@10 against exact on 200 other queries, measured here independently;
* expansion of the VIPs (~0.6%) to a 5% audience: the ``auto`` scorer and ``seed_distance``
  (every customer searches a seed index: the search turned around, batched).

The parquet files are generated once into ``bench/.data/`` (git-ignored). Writes
``bench/results/scale.{json,md}`` (sizes not run keep their previous results).
Usage: ``python bench/scale.py [--sizes 100000 1000000 10000000] [--workers 2]``;
``python bench/scale.py --index-options 1000000`` compares index variants (docs/scale.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/'s helpers, also when loaded by path
from readme_table import replace_between  # noqa: E402

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
DATA = ROOT / ".data"
GOALS = {"ingest_to_index_s": 120, "peak_rss_gib": 6.0, "query_p50_ms": 0.5, "recall": 0.95, "expand_s": 30}


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def machine() -> dict:
    with open("/proc/cpuinfo") as fh:
        model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    return {
        "cpu": model or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "note": "project development machine (2 vCPU, 24 GiB); shared with other work: times are noisy",
    }


def data_file(n: int) -> Path:
    from lookalike.synth import write_synthetic

    path = DATA / f"synthetic_{n}_seed1.parquet"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        write_synthetic(path, n, seed=1, chunk_size=250_000)
    return path


def _partial(n: int) -> Path:
    return RESULTS / f".scale_partial_{n}.json"


class _Stages(dict):
    """The results of one size, written to disk after every stage (a timed-out run keeps what it measured)."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def save(self) -> None:
        self["peak_rss_gib"] = round(peak_rss_gib(), 2)
        _partial(self.n).write_text(json.dumps(self))


def run_size(n: int, workers: int) -> dict:
    """One size, in this (fresh) process."""
    import faiss

    import lookalike as lk
    from lookalike.cleaning.chunked import clean_parquet
    from lookalike.index import exact_knn

    path = data_file(n)
    out = _Stages(n)
    out.update({"n": n, "file_mib": round(path.stat().st_size / 2**20, 1), "workers": workers,
                "load_average_at_start": [round(x, 2) for x in os.getloadavg()]})
    t0 = time.perf_counter()
    result = clean_parquet(path, batch_size=500_000, workers=workers)
    out["ingest_clean_s"] = round(time.perf_counter() - t0, 2)
    customers = result.customers
    out["rows_in"], out["customers"] = result.report.rows_in, len(customers)
    out["balanced"] = result.report.balanced
    out["clean_table_mib"] = round(customers.memory_usage(deep=True).sum() / 2**20, 1)
    del result
    t1 = time.perf_counter()
    finder = lk.LookalikeFinder().fit(customers)
    out["fit_s"] = round(time.perf_counter() - t1, 2)
    out["ingest_to_index_s"] = round(time.perf_counter() - t0, 2)
    out["peak_rss_gib_to_index"] = round(peak_rss_gib(), 2)
    out["features"] = finder.X_.shape[1]
    out["index"] = finder.index_report.to_dict()
    out.save()

    rng = np.random.default_rng(0)
    ids = finder.ids_[rng.choice(len(customers), 300, replace=False)]
    for cid in ids[:20]:  # warm-up
        finder.find_lookalikes(cid, k=10)
    lat = []
    for cid in ids[20:]:
        q0 = time.perf_counter()
        finder.find_lookalikes(cid, k=10)
        lat.append(time.perf_counter() - q0)
    out["query_p50_ms"] = round(float(np.percentile(lat, 50)) * 1e3, 3)
    out["query_p95_ms"] = round(float(np.percentile(lat, 95)) * 1e3, 3)
    X = finder.X_
    # the index alone, same queries: what find_lookalikes adds on top is the pandas result frame
    search_lat = []
    for p in finder.positions(list(ids[20:])):
        q0 = time.perf_counter()
        finder.index_.search(X[p : p + 1], 11)
        search_lat.append(time.perf_counter() - q0)
    out["search_p50_ms"] = round(float(np.percentile(search_lat, 50)) * 1e3, 3)
    batch = X[rng.choice(len(X), 10_000, replace=False)]
    b0 = time.perf_counter()
    finder.index_.search(batch, 10)
    out["batch_qps"] = round(10_000 / (time.perf_counter() - b0))
    out.save()

    # independent recall@10 on other queries (tie-aware: within the exact 10th distance)
    q = X[rng.choice(len(X), RECALL_QUERIES, replace=False)]
    truth, _ = exact_knn(q, X, 10)
    got_d, got_i = finder.index_.search(q, 10)
    out["recall_at_10"] = round(float(((got_i >= 0) & (got_d <= truth[:, -1:] + 1e-5)).mean()), 4)

    # baseline in the same run: exact single-query search over all rows (FAISS flat scan, one thread)
    pos = finder.positions(list(ids[:10]))
    faiss.omp_set_num_threads(1)
    exact_lat = []
    for p in pos:
        q0 = time.perf_counter()
        exact_knn(X[p : p + 1], X, 11)
        exact_lat.append(time.perf_counter() - q0)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    out["exact_query_p50_ms"] = round(float(np.percentile(exact_lat, 50)) * 1e3, 3)
    out.save()

    n_vips = int((customers["vip_flag"] == 1).sum())
    out["seeds"] = n_vips
    for scorer in ("auto", "seed_distance"):
        e0 = time.perf_counter()
        res = finder.build_audience("vip", "5%", scorer=scorer)
        out[f"expand_{scorer}_s"] = round(time.perf_counter() - e0, 2)
        out[f"expand_{scorer}_rows"] = len(res.audience)
        out[f"expand_{scorer}_scorer"] = res.params["scorer"]
        if scorer == "auto":  # the auto scorer alone (validation + scoring the combination)
            out["auto_scoring_s"] = res.params.get("seconds")
            out["auto_combined"] = " + ".join(res.params.get("combined", []))
        out.save()
    out["peak_rss_gib"] = round(peak_rss_gib(), 2)
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return dict(out)


#: queries of the independent recall check (100 gave a standard error of 0.007 at recall 0.95)
RECALL_QUERIES = 500


INDEX_OPTIONS = ("ivf:4000:40", "ivf:4000:256", "ivf:16384:40:hnsw", "ivf:4000:40:sq", "hnsw:32:40")


def index_options(n: int, options: tuple[str, ...] = INDEX_OPTIONS) -> list[dict]:
    """Index variants over ``n`` generated customers' features: the smallest power-of-two effort
    with recall@10 ≥ 0.95 (500 sampled rows, tie-aware), recall on 300 other rows and the p50 of
    one raw search (one thread). Options: ``ivf:NLIST:TRAIN_MULT[:hnsw][:sq]``, ``hnsw:M:EFC``.
    The features are cached in ``bench/.data/features_{n}_seed1.npy`` (docs/scale.md has a run)."""
    import faiss

    from lookalike.index import exact_knn, recall_sample

    cache = DATA / f"features_{n}_seed1.npy"
    if not cache.exists():
        import lookalike as lk
        from lookalike.cleaning.chunked import clean_parquet

        customers = clean_parquet(data_file(n), batch_size=500_000, workers=2).customers
        np.save(cache, np.ascontiguousarray(lk.LookalikeFinder(index="exact").fit(customers).X_, dtype=np.float32))
    X = np.load(cache)
    d = X.shape[1]
    rows, truth = recall_sample(X, k=10, n_queries=500, random_state=0)
    other = np.random.default_rng(5).choice(len(X), 300, replace=False)
    other_truth, _ = exact_knn(X[other], X, 10)

    def recall(index, r, t):
        dd, ii = index.search(X[r], 10)
        dd = np.sqrt(np.maximum(dd, 0))
        return float(((ii >= 0) & (dd <= t[:, -1:] + 1e-5 * np.maximum(t[:, -1:], 1.0))).mean())

    out = []
    for option in options:
        parts = option.split(":")
        t0 = time.perf_counter()
        if parts[0] == "ivf":
            nlist, mult = int(parts[1]), int(parts[2])
            quantizer = faiss.IndexHNSWFlat(d, 32) if "hnsw" in parts else faiss.IndexFlatL2(d)
            index = (faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit)
                     if "sq" in parts else faiss.IndexIVFFlat(quantizer, d, nlist))
            index.train(X[np.sort(np.random.default_rng(0).choice(len(X), min(len(X), mult * nlist), replace=False))])
            index.add(X)
            efforts, setter = [1, 2, 4, 8, 16, 32, 64, 128, 256], lambda e: setattr(index, "nprobe", e)
        else:
            index = faiss.IndexHNSWFlat(d, int(parts[1]))
            index.hnsw.efConstruction = int(parts[2])
            index.add(X)
            efforts, setter = [16, 32, 64, 128, 256], lambda e: setattr(index.hnsw, "efSearch", e)
        row = {"option": option, "build_s": round(time.perf_counter() - t0, 1), "curve": {}}
        for e in efforts:
            setter(e)
            row["curve"][e] = round(recall(index, rows, truth), 4)
            if row["curve"][e] >= 0.95:
                break
        row["effort"], row["recall_other"] = e, round(recall(index, other, other_truth), 4)
        faiss.omp_set_num_threads(1)
        lat = []
        for p in other[:220]:
            q0 = time.perf_counter()
            index.search(X[p : p + 1], 10)
            lat.append(time.perf_counter() - q0)
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        row["p50_ms"] = round(float(np.percentile(lat[20:], 50)) * 1e3, 3)
        row["load_average"] = [round(x, 2) for x in os.getloadavg()]
        out.append(row)
        sys.stderr.write(json.dumps(row) + "\n")
        del index
    return out


def table(results: dict) -> str:
    sizes = sorted(results["sizes"], key=int)
    rows = [
        ("ingest + clean (parquet, chunked)", "ingest_clean_s", "s"),
        ("fit: features + index", "fit_s", "s"),
        ("read → clean → featurize → index", "ingest_to_index_s", "s"),
        ("peak RSS up to the index", "peak_rss_gib_to_index", "GiB"),
        ("index (auto)", None, ""),
        ("single query p50 (find_lookalikes)", "query_p50_ms", "ms"),
        ("single query p95", "query_p95_ms", "ms"),
        ("single query p50, index search only", "search_p50_ms", "ms"),
        ("baseline: exact scan, one query p50", "exact_query_p50_ms", "ms"),
        ("batch throughput (10k queries)", "batch_qps", "queries/s"),
        ("recall@10 vs exact (500 other queries)", "recall_at_10", ""),
        ("expand VIPs to 5%, auto scorer", "expand_auto_s", "s"),
        ("auto scorer alone (validation + combination)", "auto_scoring_s", "s"),
        ("expand VIPs to 5%, seed_distance (seed index)", "expand_seed_distance_s", "s"),
        ("peak RSS overall", "peak_rss_gib", "GiB"),
    ]
    head = "| step | " + " | ".join(f"{int(n):,}" for n in sizes) + " |"
    lines = [head, "|---|" + "---|" * len(sizes)]
    for label, key, unit in rows:
        cells = []
        for n in sizes:
            r = results["sizes"][n]
            if key is None:
                ix = r["index"]
                cell = ix["kind"] + (" " + ", ".join(f"{k}={v}" for k, v in ix["params"].items()) if ix["params"] else "")
                if ix.get("recall") is not None:
                    cell += f" (build recall {ix['recall']:.3f})"
                if ix.get("cost", {}).get("exact_query_ms_predicted") is not None:  # why auto chose it
                    cell += f"; exact predicted {ix['cost']['exact_query_ms_predicted']:g} ms a query"
            else:
                v = r.get(key)
                cell = "–" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:g}") + (f" {unit}" if unit else "")
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=None, help="seconds per size; a timed-out size keeps its partial results")
    ap.add_argument("--index-options", type=int, metavar="N",
                    help="instead: compare index variants over N customers' features (writes scale_index_options.json)")
    ap.add_argument("--tables", action="store_true",
                    help="instead: rewrite bench/results/scale.md and the tables of README.md and docs/scale.md "
                         "from bench/results/scale.json")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size here
    args = ap.parse_args()
    if args.tables:
        write_tables(json.loads((RESULTS / "scale.json").read_text()))
        return
    if args.index_options:
        rows = index_options(args.index_options)
        (RESULTS / "scale_index_options.json").write_text(json.dumps({"n": args.index_options, "options": rows}, indent=2))
        return
    if args.one:
        json.dump(run_size(args.one, args.workers), sys.stdout)
        return
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "scale.json"
    results = json.loads(path.read_text()) if path.exists() else {"sizes": {}}
    results["machine"] = machine()
    results["goals_at_10M"] = GOALS
    for n in args.sizes:
        data_file(n)  # generated outside the timed subprocess
        t0 = time.perf_counter()
        _partial(n).unlink(missing_ok=True)
        try:
            proc = subprocess.run([sys.executable, __file__, "--one", str(n), "--workers", str(args.workers)],
                                  capture_output=True, text=True, check=False, timeout=args.timeout)
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr[-3000:])
            measured = json.loads(proc.stdout) if proc.returncode == 0 else \
                {**json.loads(_partial(n).read_text()), "incomplete": f"failed (exit {proc.returncode})"}
        except subprocess.TimeoutExpired:
            measured = {**json.loads(_partial(n).read_text()), "incomplete": f"stopped after {args.timeout:.0f} s"}
        _partial(n).unlink(missing_ok=True)
        if path.exists():  # another run may have written other sizes meanwhile
            results["sizes"] = {**json.loads(path.read_text())["sizes"], **results["sizes"]}
        results["sizes"][str(n)] = {**measured, "wall_s": round(time.perf_counter() - t0, 1),
                                    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        path.write_text(json.dumps(results, indent=2))
        sys.stderr.write(f"{n:,}: done in {time.perf_counter() - t0:.0f} s\n")
    write_tables(results)
    sys.stdout.write(table(results) + "\n")


GOAL_TEXT = ("Goals at 10M: read → clean → featurize → index < 120 s and < 6 GiB peak; single query p50 < 0.5 ms "
             "with recall@10 ≥ 0.95; VIPs (0.6%) expanded to 5% with `auto` < 30 s.")


def runs(results: dict) -> list[str]:
    """One line per size: when it ran and the load average (a loaded machine inflates every time)."""
    out = []
    for n, r in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
        out.append(f"- {int(n):,}: run {r['date']}, load average at start {r.get('load_average_at_start')}, "
                   f"at end {r.get('load_average_at_end')}"
                   + (f"; **incomplete: {r['incomplete']}** (– = not measured)" if r.get("incomplete") else ""))
    return out


def write_markdown(results: dict) -> None:
    """``bench/results/scale.md`` from the results dict."""
    md = ["# Scale benchmark", "", f"Machine: {json.dumps(results['machine'])}", "", GOAL_TEXT, "", table(results), "",
          *runs(results)]
    (RESULTS / "scale.md").write_text("\n".join(md) + "\n")


# The README's and docs/scale.md's tables are written from bench/results/scale.json between these
# markers (``python bench/scale.py --tables``; a full run does it too); tests/test_scale.py checks
# that they match the JSON.
TABLE_START = "<!-- scale-table: generated by bench/scale.py --tables from bench/results/scale.json -->"
TABLE_END = "<!-- /scale-table -->"
README = ROOT.parent / "README.md"
SCALE_DOC = ROOT.parent / "docs" / "scale.md"
_README_ROWS = (  # label, key, unit, goal key, goal text, lower is better
    ("read → clean → featurize → index", "ingest_to_index_s", "s", "ingest_to_index_s", "< 120 s", True),
    ("peak RSS up to the index", "peak_rss_gib_to_index", "GiB", "peak_rss_gib", "< 6 GiB", True),
    ("index chosen by `auto`", None, "", None, "", True),
    ("recall@10 vs exact (500 other queries)", "recall_at_10", "", "recall", "≥ 0.95", False),
    ("`find_lookalikes` p50", "query_p50_ms", "ms", "query_p50_ms", "< 0.5 ms", True),
    ("expand VIPs (0.6%) to 5%, `auto`", "expand_auto_s", "s", "expand_s", "< 30 s", True),
)


def _cell(v: object, unit: str) -> str:
    if v is None:
        return "–"
    text = f"{v:,}" if isinstance(v, int) else f"{v:,.3g}" if isinstance(v, float) and v < 10 else f"{v:,.0f}" \
        if isinstance(v, float) else str(v)
    return text + (f" {unit}" if unit else "")


def readme_table(results: dict) -> str:
    """The README's short table: the headline numbers per size, and whether the 10M run meets each goal."""
    sizes = sorted(results["sizes"], key=int)
    goals = GOALS  # the goals of issue 17 (a JSON written before them holds older ones)
    top = results["sizes"].get("10000000")
    lines = ["| | " + " | ".join(f"{int(n):,}" for n in sizes) + " | goal at 10M |", "|---|" + "---|" * (len(sizes) + 1)]
    for label, key, unit, goal_key, goal_text, lower in _README_ROWS:
        cells = []
        for n in sizes:
            r = results["sizes"][n]
            if key is None:
                ix = r.get("index") or {}
                cells.append(ix.get("kind", "–") + "".join(f", {k} {v}" for k, v in ix.get("params", {}).items()))
            else:
                cells.append(_cell(r.get(key), unit))
        verdict = ""
        if goal_key is not None:
            v = None if top is None else top.get(key)
            met = None if v is None else (v < goals[goal_key] if lower else v >= goals[goal_key])
            verdict = goal_text + ("" if met is None else ": met" if met else ": **missed**")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {verdict} |")
    loads = [str(results["sizes"][n].get("load_average_at_start", "–")) for n in sizes]
    lines.append("| load average at start (2 cores) | " + " | ".join(loads) + " | |")
    lines.append("| run (UTC) | " + " | ".join(str(results["sizes"][n].get("date", "–")) for n in sizes) + " | |")
    return "\n".join(lines)


def doc_table(results: dict) -> str:
    """docs/scale.md's table: every measured step, then when each size ran and the load."""
    return "\n".join([GOAL_TEXT, "", table(results), "", *runs(results)])


def write_tables(results: dict) -> None:
    """``bench/results/scale.md``, README.md's and docs/scale.md's tables from the results dict."""
    write_markdown(results)
    replace_between(README, TABLE_START, TABLE_END, readme_table(results))
    replace_between(SCALE_DOC, TABLE_START, TABLE_END, doc_table(results))


if __name__ == "__main__":
    main()
