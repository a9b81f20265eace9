"""Secrets are never logged: database passwords and API keys stay out of outputs, errors and logs.

The CLI runs with a PostgreSQL URL that carries a password (the test server trusts local
connections, so any password is accepted) and with URLs that fail in every way a URL can fail;
a real ``lookalike serve`` process runs with that URL and answers requests made with a key.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from campaigns.conftest import drop_schema, fresh_url

from lookalike.cli import app

PASSWORD = "Pw-4f9c2e7d1b"


@pytest.fixture(scope="module")
def pg_with_password(tmp_path_factory):
    url = fresh_url("postgresql", tmp_path_factory)
    yield sa.make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)
    drop_schema(url)


def _no_secret(text: str, *secrets: str) -> None:
    for s in secrets:
        assert s not in text, f"secret {s[:4]}… leaked in: {text[text.index(s) - 200:text.index(s) + 50]!r}"


@pytest.mark.parametrize("bad_url", [
    f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1:1/db",               # server down
    f"postgresql+psycopg://u:{PASSWORD}@host:notaport/db",             # unparsable port
    f"nosuchdb://u:{PASSWORD}@h/db",                                   # unknown dialect
    f"u:{PASSWORD}@h/db",                                              # not a URL
    f"postgresql+psycopg://u:{PASSWORD}@/db?host=/nonexistent-dir",    # socket missing
    f"postgresql+psycopg://u:p@ss:{PASSWORD}@127.0.0.1:1/db",         # '@' inside the password
])
def test_database_errors_hide_the_password(runner, bad_url, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    for args in (["campaign", "list", "--db", bad_url], ["users", "list", "--db", bad_url],
                 ["forget", "C1", "--home", str(tmp_path), "--db", bad_url]):
        res = runner.invoke(app, args)
        assert res.exit_code != 0 and "error:" in res.output, res.output
        _no_secret(res.output, PASSWORD)
    _no_secret(caplog.text, PASSWORD)


@pytest.mark.postgres
def test_cli_with_a_password_url_never_shows_it_and_shows_a_key_once(runner, pg_with_password, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    res = runner.invoke(app, ["users", "add", "dana", "--role", "editor", "--db", pg_with_password])
    assert res.exit_code == 0, res.output
    key = res.stdout.strip().splitlines()[-1]
    assert len(key) >= 20 and res.output.count(key) == 1  # shown once, to the person who asked
    outputs = []
    for args in (["users", "list"], ["campaign", "list"], ["forget", "C1", "--home", str(tmp_path)],
                 ["users", "add", "dana", "--role", "editor"]):  # the last one fails: name taken
        r = runner.invoke(app, [*args, "--db", pg_with_password])
        outputs.append(r.output)
    _no_secret("\n".join(outputs) + caplog.text, PASSWORD, key)
    _no_secret(caplog.text, key)
    with sa.create_engine(pg_with_password).connect() as conn:  # only a hash of the key is stored
        stored = " ".join(str(v) for row in conn.execute(sa.text("SELECT * FROM api_users")).all() for v in row)
    _no_secret(stored, key)


def test_settings_repr_hides_the_database_password_and_session_secret(tmp_path):
    from lookalike.api import Settings

    s = Settings(home=tmp_path, db_url=f"postgresql+psycopg://u:{PASSWORD}@h/db", session_secret="sess-9f8e7d")
    _no_secret(repr(s) + str(s), PASSWORD, "sess-9f8e7d")
    assert s.database_url().endswith("@h/db")  # still usable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.postgres
def test_a_running_server_logs_neither_password_nor_keys(pg_with_password, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "LOOKALIKE_DB_URL": pg_with_password, "LOOKALIKE_HOME": str(home),
           "LOOKALIKE_SESSION_SECRET": "session-secret-77aa", "LOOKALIKE_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("LOOKALIKE_DEBUG", None)
    exe = Path(sys.executable).with_name("lookalike")
    add = subprocess.run([str(exe), "users", "add", "erin", "--role", "editor"], check=False, env=env,
                         capture_output=True, text=True, timeout=120)
    assert add.returncode == 0, add.stderr
    key = add.stdout.strip().splitlines()[-1]
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--home", str(home)], env=env,
                                stdout=fh, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.3)
        bodies = []
        with httpx.Client(base_url=base, timeout=30) as client:
            for path, status in (("/api/v1/me", 200), ("/api/v1/datasets", 200), ("/api/v1/campaigns", 200),
                                 ("/api/v1/datasets/nope", 404)):
                r = client.get(path, headers={"X-API-Key": key})
                bodies.append(r.text)
                assert r.status_code == status, (path, r.status_code, r.text)
            bad = key[:-4] + "zzzz"
            r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {bad}"})
            assert r.status_code == 401
            bodies.append(r.text)
            _no_secret(r.text, bad)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    assert "GET /api/v1/me" in text  # the access log was captured, so its silence means something
    _no_secret(text + "\n".join(bodies) + add.stderr, PASSWORD, key, "session-secret-77aa")
