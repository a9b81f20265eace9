"""API load benchmark: the lookalike query through the REST API under bounded concurrent load.

A ``lookalike serve`` process (uvicorn, one process, one BLAS/FAISS thread per query) on a free
loopback port serves a 100k-customer synthetic dataset; ``--clients`` threads, each with its own
keep-alive HTTP connection, send ``--requests`` ``GET /api/v1/datasets/{name}/customers/{id}/lookalikes?k=10``
in total for random customer ids. Reported: p50/p95/p99 latency, throughput, errors. Baselines in
the same run: the same query through the API by one client (no concurrency) and the library call
``finder.find_lookalikes`` in-process (what the API adds on top of the search).

Writes ``bench/results/api_load.{json,md}``. Usage: ``python bench/api_load.py [--n 100000]
[--clients 8] [--requests 2000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
sys.path.insert(0, str(ROOT))
from foundation import machine  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(home: Path, n: int, seed: int) -> tuple[list[str], float]:
    """Clean and fit ``n`` synthetic customers into the workspace; returns their ids and the seconds taken."""
    from lookalike.api.workspace import Workspace
    from lookalike.synth import generate

    t0 = time.perf_counter()
    ws = Workspace(home)
    ws.prepare("bench", lambda: generate(n, seed=seed).raw, {"kind": "demo", "n": n, "seed": seed}, lambda *_: None)
    return ws.finder("bench").customers_.customer_id.tolist(), time.perf_counter() - t0


@contextlib.contextmanager
def serve(home: Path, n: int, seed: int, *, role: str, start_timeout: float = 60.0):
    """A workspace of ``n`` generated customers served by a real ``lookalike serve`` process on loopback.

    Yields (url, api key of a ``role`` user, customer ids, seconds to prepare, server process);
    the server is stopped on exit.
    """
    env = {**os.environ, "LOOKALIKE_HOME": str(home), "LOOKALIKE_SESSION_SECRET": "bench"}
    env.pop("LOOKALIKE_DB_URL", None)
    print(f"preparing {n:,} customers ...", file=sys.stderr)
    ids, prep_s = prepare(home, n, seed)
    lookalike = str(Path(sys.executable).with_name("lookalike"))
    key = subprocess.run([lookalike, "users", "add", "bench", "--role", role], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    port = free_port()
    server = subprocess.Popen([lookalike, "serve", "--port", str(port), "--home", str(home), "--threads", "1"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield url, key, ids, prep_s, server
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_clients(url: str, key: str, ids: list[str], n_requests: int, clients: int, seed: int) -> dict:
    """``n_requests`` queries split over ``clients`` threads; latency of each, errors counted."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(ids), size=n_requests)
    chunks = np.array_split(picks, clients)
    lat: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients

    def client(i: int) -> None:
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as c:
            for p in chunks[i]:
                t0 = time.perf_counter()
                try:
                    r = c.get(f"/api/v1/datasets/bench/customers/{ids[p]}/lookalikes", params={"k": 10})
                    ok = r.status_code == 200 and len(r.json()["lookalikes"]) == 10
                except httpx.HTTPError:
                    ok = False
                lat[i].append(time.perf_counter() - t0)
                errors[i] += 0 if ok else 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ms = np.array([x for xs in lat for x in xs]) * 1000
    return {"clients": clients, "requests": int(len(ms)), "errors": int(sum(errors)), "wall_s": round(wall, 2),
            "throughput_rps": round(len(ms) / wall, 1), "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2), "p99_ms": round(float(np.percentile(ms, 99)), 2),
            "max_ms": round(float(ms.max()), 2)}


def library_baseline(home: Path, ids: list[str], n_queries: int, seed: int) -> dict:
    """The same query as a library call in this process (the search without HTTP, JSON or auth)."""
    from lookalike.finder import LookalikeFinder

    finder = LookalikeFinder.load(home / "datasets" / "bench" / "model")
    rng = np.random.default_rng(seed)
    ms = []
    for p in rng.choice(len(ids), size=n_queries):
        t0 = time.perf_counter()
        finder.find_lookalikes(ids[p], k=10)
        ms.append((time.perf_counter() - t0) * 1000)
    ms = np.array(ms)
    return {"requests": n_queries, "p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p95_ms": round(float(np.percentile(ms, 95)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="lookalike-api-load-") as tmp:
        home = Path(tmp)
        with serve(home, args.n, args.seed, role="viewer") as (url, key, ids, prep_s, _server):
            warm = run_clients(url, key, ids, 50, 1, args.seed + 99)  # loads the model into the server
            single = run_clients(url, key, ids, min(500, args.requests), 1, args.seed + 1)
            loaded = run_clients(url, key, ids, args.requests, args.clients, args.seed)
        lib = library_baseline(home, ids, 1000, args.seed + 2)

    load = [round(x, 1) for x in os.getloadavg()]  # the machine is shared: say how busy it was
    result = {"n_customers": args.n, "prepare_s": round(prep_s, 1), "load_average_1_5_15": load, "warmup": warm,
              "concurrent": loaded, "single_client": single, "library_in_process": lib, "machine": machine(),
              "setup": "one uvicorn process (lookalike serve --threads 1), HTTP/1.1 keep-alive clients on loopback, "
                       "viewer API key checked on every request (SQLite lookup)"}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "api_load.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = [("API, %d concurrent clients" % loaded["clients"], loaded),
            ("API, 1 client", single)]
    md = [f"# API load: lookalike query (k = 10) at {args.n:,} customers", "",
          "| setup | requests | errors | throughput (req/s) | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|---|---|"]
    for label, r in rows:
        md.append(f"| {label} | {r['requests']:,} | {r['errors']} | {r['throughput_rps']} | {r['p50_ms']} | "
                  f"{r['p95_ms']} | {r['p99_ms']} |")
    md.append(f"| library call in-process (baseline, no HTTP) | {lib['requests']:,} | 0 | – | {lib['p50_ms']} | "
              f"{lib['p95_ms']} | {lib['p99_ms']} |")
    md += ["", result["setup"] + ".", f"Machine: {result['machine']['note']}; load average at the end of the run "
           f"(1/5/15 min): {', '.join(map(str, load))} on {os.cpu_count()} cores."]
    (RESULTS / "api_load.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
