"""Load test: mixed expansion and lookalike requests against a real ``lookalike serve`` for a fixed time.

A ``lookalike serve`` process (uvicorn on a free loopback port, one BLAS/FAISS thread per query)
serves a 100k-customer synthetic workspace (prepared with :func:`api_load.prepare`). ``--clients``
threads, each with its own keep-alive connection, send requests for ``--duration`` seconds: with
probability ``--expand-share`` an expansion (``POST /api/v1/datasets/bench/audiences``: VIP seeds,
1-5% of the base, saved under the client's own audience name), otherwise a lookalike query
(``GET .../customers/{id}/lookalikes?k=10`` for a random customer). Every answer is checked
(status and size); errors must be 0. The server's RSS (psutil) is sampled every second to show
memory is stable: first minute against last minute, and the slope of a line fitted after the first
minute. Throughput per minute shows the rate holding up.

Writes ``bench/results/load.{json,md}``; exits 1 when a request failed. Usage:
``python bench/load.py [--n 100000] [--clients 8] [--duration 180] [--expand-share 0.05]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
sys.path.insert(0, str(ROOT))
from api_load import serve  # noqa: E402
from foundation import machine  # noqa: E402

SIZES = ("1%", "2%", "5%")


def _pct(ms: np.ndarray, q: float) -> float:
    return round(float(np.percentile(ms, q)), 2) if len(ms) else float("nan")


def run(url: str, key: str, ids: list[str], clients: int, duration: float, expand_share: float,
        seed: int) -> list[tuple[float, str, float, bool, str]]:
    """Requests from ``clients`` threads for ``duration`` s: (start offset s, kind, latency ms, ok, error)."""
    records: list[list[tuple[float, str, float, bool, str]]] = [[] for _ in range(clients)]
    t_start = time.perf_counter()
    deadline = t_start + duration

    def client(i: int) -> None:
        rng = np.random.default_rng(seed + i)
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=120) as c:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                err = ""
                if rng.random() < expand_share:
                    kind = "expansion"
                    size = SIZES[int(rng.integers(len(SIZES)))]
                    body = {"name": f"load-client-{i}", "size": size, "random_state": int(rng.integers(1000)),
                            "top": 10}
                    try:
                        r = c.post("/api/v1/datasets/bench/audiences", json=body)
                        ok = r.status_code == 201 and r.json()["size"] == round(len(ids) * float(size[:-1]) / 100)
                        err = "" if ok else f"{r.status_code} {r.text[:200]}"
                    except (httpx.HTTPError, KeyError, ValueError) as exc:
                        ok, err = False, f"{type(exc).__name__}: {exc}"
                else:
                    kind = "lookalike"
                    cid = ids[int(rng.integers(len(ids)))]
                    try:
                        r = c.get(f"/api/v1/datasets/bench/customers/{cid}/lookalikes", params={"k": 10})
                        ok = r.status_code == 200 and len(r.json()["lookalikes"]) == 10
                        err = "" if ok else f"{r.status_code} {r.text[:200]}"
                    except (httpx.HTTPError, KeyError, ValueError) as exc:
                        ok, err = False, f"{type(exc).__name__}: {exc}"
                records[i].append((t0 - t_start, kind, (time.perf_counter() - t0) * 1000, ok, err))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for rs in records for r in rs]


class RssSampler(threading.Thread):
    """Samples a process's resident memory (MiB) every ``every`` seconds until stopped."""

    def __init__(self, pid: int, every: float = 1.0):
        super().__init__(daemon=True)
        self.proc, self.every = psutil.Process(pid), every
        self.samples: list[tuple[float, float]] = []
        self._stop_event = threading.Event()
        self.t0 = time.perf_counter()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.samples.append((time.perf_counter() - self.t0, self.proc.memory_info().rss / 2**20))
            except psutil.Error:
                return
            self._stop_event.wait(self.every)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def summarize(records, duration: float, rss: list[tuple[float, float]]) -> dict:
    """Per request type and per minute: counts, errors, throughput, p50/p99; memory first/last minute."""
    out: dict = {"by_type": {}, "per_minute": []}
    for kind in ("lookalike", "expansion", "all"):
        sel = [r for r in records if kind == "all" or r[1] == kind]
        ms = np.array([r[2] for r in sel])
        out["by_type"][kind] = {"requests": len(sel), "errors": sum(not r[3] for r in sel),
                                "throughput_rps": round(len(sel) / duration, 2),
                                "p50_ms": _pct(ms, 50), "p99_ms": _pct(ms, 99),
                                "max_ms": round(float(ms.max()), 1) if len(ms) else float("nan")}
    window = 60.0 if duration >= 120 else duration / 3
    for w in range(int(np.ceil(duration / window))):
        sel = [r for r in records if w * window <= r[0] < (w + 1) * window]
        ms = np.array([r[2] for r in sel if r[1] == "lookalike"])
        out["per_minute"].append({"from_s": round(w * window), "requests": len(sel),
                                  "throughput_rps": round(len(sel) / window, 2),
                                  "lookalike_p50_ms": _pct(ms, 50), "lookalike_p99_ms": _pct(ms, 99)})
    t = np.array([s[0] for s in rss])
    m = np.array([s[1] for s in rss])
    first, last = m[t < window], m[t >= t.max() - window]
    after = t >= window  # after the first window: growth per minute of a fitted line
    slope = float(np.polyfit(t[after], m[after], 1)[0] * 60) if after.sum() >= 3 else float("nan")
    out["memory"] = {"window_s": window, "samples": len(m), "first_window_mean_mib": round(float(first.mean()), 1),
                     "first_window_max_mib": round(float(first.max()), 1),
                     "last_window_mean_mib": round(float(last.mean()), 1),
                     "last_window_max_mib": round(float(last.max()), 1),
                     "growth_mib_per_min_after_first_window": round(slope, 2),
                     "min_mib": round(float(m.min()), 1), "max_mib": round(float(m.max()), 1)}
    errs = [r[4] for r in records if not r[3]]
    out["first_errors"] = errs[:5]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=180.0)
    ap.add_argument("--expand-share", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="lookalike-load-") as tmp:
        home = Path(tmp)
        with serve(home, args.n, args.seed, role="editor", start_timeout=90) as (url, key, ids, prep_s, server):
            idle_mib = psutil.Process(server.pid).memory_info().rss / 2**20
            print("warming up (model load, first expansion) ...", file=sys.stderr)
            warm = run(url, key, ids, 1, 5.0, 0.3, args.seed + 99)
            warm_mib = psutil.Process(server.pid).memory_info().rss / 2**20
            print(f"{args.clients} clients for {args.duration:.0f} s ...", file=sys.stderr)
            sampler = RssSampler(server.pid)
            sampler.start()
            records = run(url, key, ids, args.clients, args.duration, args.expand_share, args.seed)
            sampler.stop()
            alive = server.poll() is None

    summary = summarize(records, args.duration, sampler.samples)
    load = [round(x, 1) for x in os.getloadavg()]
    result = {"n_customers": args.n, "clients": args.clients, "duration_s": args.duration,
              "expand_share": args.expand_share, "prepare_s": round(prep_s, 1),
              "server_rss_mib": {"started": round(idle_mib, 1), "after_warmup": round(warm_mib, 1)},
              "warmup_requests": len(warm), "warmup_errors": sum(not r[3] for r in warm),
              "server_alive_at_end": alive, **summary, "load_average_1_5_15": load, "machine": machine(),
              "setup": "one uvicorn process (lookalike serve --threads 1) on loopback; editor API key on every "
                       "request; expansions are saved (parquet + manifest + sidecars + reach plot)"}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(result, indent=2) + "\n")
    bt, mem = summary["by_type"], summary["memory"]
    md = [f"# Load: {args.clients} clients for {args.duration:.0f} s against `lookalike serve`, "
          f"{args.n:,} customers", "",
          "| request | requests | errors | throughput (req/s) | p50 ms | p99 ms | max ms |",
          "|---|---|---|---|---|---|---|"]
    for kind, label in (("lookalike", "lookalike (k = 10)"), ("expansion", "expansion (VIP seeds, 1-5%, saved)"),
                        ("all", "all")):
        r = bt[kind]
        md.append(f"| {label} | {r['requests']:,} | {r['errors']} | {r['throughput_rps']} | {r['p50_ms']} | "
                  f"{r['p99_ms']} | {r['max_ms']} |")
    md += ["", f"Per {mem['window_s']:.0f} s window:", "",
           "| from s | requests | throughput (req/s) | lookalike p50 ms | lookalike p99 ms |", "|---|---|---|---|---|"]
    for w in summary["per_minute"]:
        md.append(f"| {w['from_s']} | {w['requests']:,} | {w['throughput_rps']} | {w['lookalike_p50_ms']} | "
                  f"{w['lookalike_p99_ms']} |")
    md += ["", f"Server memory (RSS, sampled every second, {mem['samples']} samples): {idle_mib:.0f} MiB at start, "
           f"{warm_mib:.0f} MiB after warm-up (model loaded); first window mean {mem['first_window_mean_mib']} "
           f"(max {mem['first_window_max_mib']}) MiB, last window mean {mem['last_window_mean_mib']} "
           f"(max {mem['last_window_max_mib']}) MiB; fitted growth after the first window "
           f"{mem['growth_mib_per_min_after_first_window']} MiB/min.", "",
           result["setup"] + ".", f"Machine: {result['machine']['note']}; load average at the end of the run "
           f"(1/5/15 min): {', '.join(map(str, load))} on {os.cpu_count()} cores."]
    (RESULTS / "load.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    if bt["all"]["errors"] or not alive:
        print(f"FAILED: {bt['all']['errors']} error(s); first: {summary['first_errors']}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
