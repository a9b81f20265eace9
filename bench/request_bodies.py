"""Large request bodies against a real ``lookalike serve`` process: what the server reads, keeps and writes.

Two requests of issue 16 (item 2), each on a fresh server:

* a 48 MB JSON body to ``POST /api/v1/datasets/{name}/audiences`` with an editor's key;
* a 60 MB multipart upload to ``POST /api/v1/datasets/upload`` with no key at all.

The client sends the body in 1 MiB blocks over a raw socket and stops as soon as the server has
answered. Reported per request: the answer's status, how much of the body the client got to send,
the server's resident memory before and at its peak (sampled every 10 ms), and the bytes the server
process wrote to disk meanwhile (a spooled upload). Run it with ``PYTHONPATH`` pointing at the
sources to measure (``lookalike`` from that tree is started).

Writes ``bench/results/request_bodies.{json,md}`` (``--label`` names the run). Usage:
``python bench/request_bodies.py --label after``.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
MIB = 1 << 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path) -> tuple[subprocess.Popen, int, str]:
    """A served workspace with a small fitted dataset ``bench`` and an editor; returns (process, port, key)."""
    env = {**os.environ, "LOOKALIKE_HOME": str(home), "LOOKALIKE_SESSION_SECRET": "bench"}
    env.pop("LOOKALIKE_DB_URL", None)
    prep = ("from lookalike.api.workspace import Workspace; from lookalike.synth import generate; "
            f"Workspace({str(home)!r}).prepare('bench', lambda: generate(2000, seed=1).raw, {{'kind': 'demo'}}, "
            "lambda *a: None)")
    subprocess.run([sys.executable, "-c", prep], env=env, check=True)
    lookalike = str(Path(sys.executable).with_name("lookalike"))
    key = subprocess.run([lookalike, "users", "add", "bench", "--role", "editor"], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    port = free_port()
    proc = subprocess.Popen([lookalike, "serve", "--port", str(port), "--home", str(home)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port, key
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def send(port: int, head: bytes, blocks: int, block: bytes, tail: bytes) -> tuple[int, int]:
    """Send a request whose body is ``blocks`` × ``block`` + ``tail``; stop when the server answers.

    Returns (HTTP status, body bytes sent)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        s.sendall(head)
        for i in range(blocks + 1):
            if select.select([s], [], [], 0)[0]:
                break  # the answer is there: a client would stop sending
            try:
                data = block if i < blocks else tail
                s.sendall(data)
                sent += len(data)
            except OSError:  # the server closed the connection after answering
                break
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer else 0, sent


def measure(pid: int, work) -> dict:
    """Run ``work()`` while sampling the server's memory; returns the numbers."""
    proc = psutil.Process(pid)
    time.sleep(1.0)
    before = proc.memory_info().rss
    written0 = proc.io_counters().write_bytes
    peak, done = [before], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.01)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    t0 = time.perf_counter()
    status, sent = work()
    seconds = time.perf_counter() - t0
    time.sleep(1.0)  # whatever the server still does with the body
    done.set()
    t.join()
    return {"status": status, "body_mb": None, "sent_mb": round(sent / MIB, 1), "seconds": round(seconds, 2),
            "rss_before_mb": round(before / MIB, 1), "rss_peak_mb": round(peak[0] / MIB, 1),
            "rss_added_mb": round((peak[0] - before) / MIB, 1),
            "disk_written_mb": round((proc.io_counters().write_bytes - written0) / MIB, 1)}


def json_body(port: int, key: str) -> tuple[int, int]:
    block = b'"C0000001",' * (MIB // 11)
    block = block[:MIB - MIB % 11]
    blocks = 48
    start, tail = b'{"name": "big", "seeds": {"kind": "ids", "ids": [', b'"C1"]}}'
    length = len(start) + blocks * len(block) + len(tail)
    head = (f"POST /api/v1/datasets/bench/audiences HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"X-API-Key: {key}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode()
    return send(port, head + start, blocks, block, tail)


def anonymous_upload(port: int, key: str) -> tuple[int, int]:
    boundary = "benchboundary"
    start = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nbig\r\n--{boundary}\r\n"
             "Content-Disposition: form-data; name=\"file\"; filename=\"crm.csv\"\r\nContent-Type: text/csv\r\n\r\n"
             ).encode()
    block = (b"C0000001,1234.5\n" * (MIB // 16))[:MIB]
    tail = f"\r\n--{boundary}--\r\n".encode()
    blocks = 60
    length = len(start) + blocks * len(block) + len(tail)
    head = (f"POST /api/v1/datasets/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {length}\r\n\r\n").encode()
    return send(port, head + start, blocks, block, tail)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="run")
    args = parser.parse_args()
    rows = []
    for name, size, work in (("48 MB JSON, editor key", 48, json_body),
                             ("60 MB multipart upload, no key", 60, anonymous_upload)):
        with tempfile.TemporaryDirectory() as tmp:
            proc, port, key = start_server(Path(tmp) / "home")
            try:
                row = measure(proc.pid, lambda: work(port, key))
            finally:
                proc.terminate()
                proc.wait(30)
        row.update(request=name, body_mb=size, label=args.label)
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    load = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "request_bodies.json"
    runs = json.loads(out.read_text()) if out.exists() else {}
    runs[args.label] = {"rows": rows, "load_average": [round(x, 2) for x in load], "cpus": os.cpu_count()}
    out.write_text(json.dumps(runs, indent=2) + "\n")
    lines = ["# Large request bodies (issue 16, item 2)", "",
             "`python bench/request_bodies.py --label LABEL`: one `lookalike serve` per request; memory of the "
             "server process (peak sampled every 10 ms), bytes it wrote to disk, how much of the body the "
             "client got to send before the answer.", "",
             "| run | request | status | sent of body | server RSS before | added at peak | written to disk | load avg |",
             "|---|---|---|---|---|---|---|---|"]
    for label, run in runs.items():
        for r in run["rows"]:
            lines.append(f"| {label} | {r['request']} | {r['status']} | {r['sent_mb']} of {r['body_mb']} MB | "
                         f"{r['rss_before_mb']} MB | {r['rss_added_mb']} MB | {r['disk_written_mb']} MB | "
                         f"{run['load_average'][0]} ({run['cpus']} CPUs) |")
    (RESULTS / "request_bodies.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
