"""A live server (uvicorn in a thread, on a free loopback port) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from api.service import make_service

CHROMIUM = "/usr/bin/chromium"  # Debian's package (make chromium installs it); no browser download
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
# `make screenshots` points this at docs/screenshots; a plain test run must not rewrite tracked files
SCREENSHOTS = Path(os.environ.get("LOOKALIKE_SCREENSHOTS") or Path(tempfile.gettempdir()) / "lookalike-screenshots")
SCREENSHOTS.mkdir(parents=True, exist_ok=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """The app with an editor and a viewer and no data yet, served on 127.0.0.1."""
    svc = make_service(tmp_path_factory.mktemp("web-home"), dataset=None)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(svc.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    svc.url = f"http://127.0.0.1:{port}"
    yield svc
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    # per module: sync Playwright keeps an event loop running in this thread until it stops, and a
    # later test calling asyncio.run() (the security tests do) would fail in the same process
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def axe_violations(page) -> list[dict]:
    """Serious and critical accessibility violations of the current page (vendored axe-core)."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"][:3]]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def overflows(page) -> int:
    """How many pixels the page is wider than the viewport (0 = no horizontal scrolling)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
