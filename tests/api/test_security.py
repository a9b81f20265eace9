"""Issue 16, the service's security items: each test is an attack or a careless use that worked before.

Items: 1 read-only registration, 2 authentication and size caps before the body, 4 CSRF, 5 sessions,
6 formula injection in CSV answers, 11 exact-name deletes, 13 concurrent writes to one name,
14 reserved names, 22 datasets without VIPs in the UI, 24 ``users add`` in a fresh directory.
docs/security.md lists them with these tests.
"""

from __future__ import annotations

import asyncio
import io
import re
import stat
import threading
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lookalike.api.users import add_user, remove_user
from lookalike.server import Settings, create_app

from .service import browser, csrf_of, make_service, ui_login


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def asgi(app, method: str, path: str, *, headers: dict[str, str] | None = None, chunks=(),
         content_length: int | None = None) -> tuple[int, bytes, int]:
    """One request straight into the ASGI app, its body in ``chunks``; returns (status, body, chunks read).

    The count shows how much of the body the server read before it answered (TestClient reads the
    whole body before the app runs, so it cannot show this).
    """
    chunks = list(chunks)
    read = 0
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if content_length is not None:
        raw.append((b"content-length", str(content_length).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), *raw], "client": ("127.0.0.1", 5000),
             "server": ("testserver", 80), "state": {}}
    out: dict = {"status": None, "body": b""}

    async def receive():
        nonlocal read
        if read < len(chunks):
            read += 1
            return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return out["status"], out["body"], read


MIB = 1 << 20


def _multipart(name: str, filename: str, size_mib: int) -> tuple[str, list[bytes]]:
    boundary = "lkboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n{name}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    block = b"customer_id,total_spent\n" + b"C1,1\n" * (MIB // 5)
    return f"multipart/form-data; boundary={boundary}", [head, *([block[:MIB]] * size_mib),
                                                         f"\r\n--{boundary}--\r\n".encode()]


# ------------------------------------------------------------------ item 1: registration is read-only
@pytest.fixture
def crm_db(service):
    """A customer database in the service's data folder (a SQLite file is a server path too)."""
    from lookalike.synth import generate

    path = service.data_dir / "crm_sec.db"
    if not path.exists():
        engine = sa.create_engine(f"sqlite:///{path}")
        generate(300, seed=5).raw.astype(str).to_sql("crm", engine, index=False)
        engine.dispose()
    return path


def _tables(path: Path) -> set[str]:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("query", [
    "CREATE TABLE pwned (a INT)",
    "SELECT 1; DROP TABLE crm",
    "select * from crm; create table pwned(a)",
    "WITH x AS (SELECT 1) DELETE FROM crm",
    "SELECT * INTO pwned FROM crm",
    "VACUUM INTO '{out}'",
    "ATTACH DATABASE '{out}' AS x",
    "SELECT $$'$$; DROP TABLE crm; --'",
])
def test_registration_runs_only_one_select(client, editor, crm_db, tmp_path, query):
    out = tmp_path / "copy.db"
    r = client.post("/api/v1/datasets/register", headers=editor,
                    json={"name": "sqlreg", "url": f"sqlite:///{crm_db}", "query": query.format(out=out)})
    assert r.status_code == 400, r.text
    assert "SELECT" in r.json()["detail"]
    assert not out.exists() and _tables(crm_db) == {"crm"}


def test_registration_reads_through_a_read_only_connection(crm_db, tmp_path):
    """The SELECT check is the second fence: the connection itself refuses writes (and never creates a file)."""
    from lookalike.api.register import read_only_url

    url = read_only_url(f"sqlite:///{crm_db}", [crm_db.parent], own_url=f"sqlite:///{tmp_path}/own.db")
    assert "mode=ro" in url
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM crm").scalar() == 300
        with pytest.raises(sa.exc.OperationalError, match="readonly"):
            conn.exec_driver_sql("CREATE TABLE pwned (a INT)")
    engine.dispose()
    assert _tables(crm_db) == {"crm"}


def test_registering_the_services_own_database_or_files_outside_the_data_folders_is_refused(
        client, editor, service, tmp_path):
    outside = tmp_path / "new.db"
    own = service.app.state.settings.database_url()
    for url in (own, f"sqlite:///{outside}", "sqlite://", f"sqlite:///{service.data_dir}/../x.db"):
        r = client.post("/api/v1/datasets/register", headers=editor,
                        json={"name": "sqlreg", "url": url, "query": "SELECT * FROM api_users"})
        assert r.status_code in (400, 403), (url, r.text)
    assert not outside.exists()  # a sqlite: URL no longer creates files anywhere
    secret = tmp_path / "secret.csv"
    secret.write_text("customer_id,total_spent\nC1,1\n")
    link = service.data_dir / "link.csv"
    link.unlink(missing_ok=True)
    link.symlink_to(secret)  # a link inside the data folder still leads outside it
    for path in (str(secret), "/etc/passwd", "../secret.csv", "link.csv", str(service.home / "lookalike.db")):
        r = client.post("/api/v1/datasets/register", headers=editor, json={"name": "pathreg", "path": path})
        assert r.status_code == 403, (path, r.text)
        detail = r.json()["detail"]
        assert str(tmp_path) not in detail and "/etc" not in detail and str(service.home) not in detail


def test_the_own_database_is_refused_even_inside_a_data_folder(tmp_path):
    from lookalike.api.register import read_only_url
    from lookalike.errors import AccessDenied

    own = tmp_path / "own.db"
    sa.create_engine(f"sqlite:///{own}").connect().close()
    with pytest.raises(AccessDenied, match="own database"):
        read_only_url(f"sqlite:///{tmp_path}/./own.db", [tmp_path], own_url=f"sqlite:///{own}")


def test_path_registration_is_off_without_data_folders(tmp_path):
    app = create_app(Settings(home=tmp_path / "h", session_secret="s", data_dirs=()))
    _, key = add_user(app.state.engine, "ed", "editor")
    (tmp_path / "c.csv").write_text("customer_id,total_spent\nC1,1\n")
    with TestClient(app) as c:
        r = c.post("/api/v1/datasets/register", headers={"X-API-Key": key},
                   json={"name": "x", "path": str(tmp_path / "c.csv")})
    assert r.status_code == 403 and "LOOKALIKE_DATA_DIRS" in r.json()["detail"]
    assert str(tmp_path) not in r.json()["detail"]
    app.state.engine.dispose()


def test_a_failed_job_names_no_server_path(client, editor, viewer, service):
    r = client.post("/api/v1/datasets/upload", data={"name": "brokenpath"}, headers=editor,
                    files={"file": ("crm.xlsx", b"customer_id,total_spent\nC1,1\n", "text/csv")})
    job = client.app.state.jobs.wait(r.json()["id"], timeout=60)
    assert job.status == "failed"
    shown = client.get("/api/v1/datasets/brokenpath", headers=viewer).json()["error"]
    for text in (job.error, shown):
        assert "not an Excel workbook" in text  # the reader's message, with the file named relative
        assert str(service.home.resolve()) not in text and str(service.home) not in text


def test_no_error_answer_names_a_server_path(client, editor, viewer, service):
    """Same class as item 1: a library error about a workspace file named its absolute path."""
    assert client.post("/api/v1/datasets/demo/audiences", headers=editor,
                       json={"name": "tampered", "size": "30"}).status_code == 201
    path = service.app.state.workspace.audience_path("tampered")
    pd.read_parquet(path).head(5).to_parquet(path)  # changed behind the service's back
    r = client.get("/api/v1/audiences/tampered/download?format=csv", headers=viewer)
    assert r.status_code == 400 and "checksum" in r.json()["detail"]
    assert str(service.home) not in r.text and str(service.home.resolve()) not in r.text
    assert "audiences/tampered.parquet" in r.json()["detail"]


@pytest.mark.postgres
def test_postgres_registration_is_a_read_only_transaction():
    import os

    from lookalike.api.register import read_only_url
    from lookalike.errors import AccessDenied

    pg = os.environ.get("LOOKALIKE_TEST_PG_URL", "").strip()
    if not pg:
        pytest.fail("LOOKALIKE_TEST_PG_URL is not set: run `make test` (it starts a PostgreSQL server)", pytrace=False)
    url = read_only_url(pg, [], own_url="sqlite:///elsewhere.db")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
            conn.exec_driver_sql("CREATE TABLE lk_pwned (a int)")
    engine.dispose()
    # a URL that tries to switch it off loses: ours comes last
    url = read_only_url(sa.make_url(pg).update_query_dict({"options": "-c default_transaction_read_only=off"}),
                        [], own_url="sqlite:///elsewhere.db")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
    engine.dispose()
    with pytest.raises(AccessDenied, match="own database"):
        read_only_url(pg, [], own_url=pg)


# ------------------------------------------------------------------ item 2: keys and caps before bodies
def test_an_anonymous_upload_is_refused_before_its_body_is_read(service):
    ctype, chunks = _multipart("anon", "crm.csv", 60)
    status, body, read = asgi(service.app, "POST", "/api/v1/datasets/upload", headers={"content-type": ctype},
                              chunks=chunks, content_length=sum(map(len, chunks)))
    assert status == 401 and b"API key" in body
    assert read == 0  # not one block of the 60 MB was received
    assert not (service.home / "datasets" / "anon").exists()


def test_a_viewer_upload_is_refused_before_its_body_is_read(service):
    ctype, chunks = _multipart("vw", "crm.csv", 5)
    status, body, read = asgi(service.app, "POST", "/api/v1/datasets/upload", chunks=chunks,
                              headers={"content-type": ctype, "x-api-key": service.viewer_key})
    assert status == 403 and read == 0


def test_a_large_json_body_is_refused_from_its_length(service):
    status, body, read = asgi(service.app, "POST", "/api/v1/datasets/demo/audiences",
                              headers={"content-type": "application/json", "x-api-key": service.editor_key},
                              chunks=[b"[" + b"1," * (MIB // 2)] * 48, content_length=48 * MIB)
    assert status == 413 and read == 0
    assert b"larger than 1 MB" in body


def test_a_streamed_body_without_length_is_cut_at_the_cap(service):
    chunks = [b'{"name": "x", "size": "' + b"9" * (64 << 10)] + [b"9" * (64 << 10)] * 63
    status, body, read = asgi(service.app, "POST", "/api/v1/datasets/demo/audiences",
                              headers={"content-type": "application/json", "x-api-key": service.editor_key},
                              chunks=chunks)
    assert status == 413 and b"larger than 1 MB" in body
    assert read <= 17  # 1 MiB in 64 KiB blocks, plus the one that crossed it


def test_the_upload_limit_holds_while_streaming_and_leaves_nothing(tmp_path):
    home = tmp_path / "h"
    app = create_app(Settings(home=home, session_secret="s", max_upload_mb=2))
    _, key = add_user(app.state.engine, "ed", "editor")
    ctype, chunks = _multipart("big", "crm.csv", 6)
    status, body, read = asgi(app, "POST", "/api/v1/datasets/upload", chunks=chunks,
                              headers={"content-type": ctype, "x-api-key": key})  # no Content-Length
    assert status == 413 and b"larger than 2 MB" in body
    assert read <= 4  # the head, two 1 MiB blocks, the one that crossed the limit
    assert not (home / "datasets" / "big").exists()
    assert [p for p in (home / "datasets").rglob("*")] == []
    status, _, read = asgi(app, "POST", "/api/v1/datasets/upload", chunks=chunks,
                           content_length=sum(map(len, chunks)), headers={"content-type": ctype, "x-api-key": key})
    assert status == 413 and read == 0
    app.state.engine.dispose()


def test_a_too_large_reupload_keeps_the_existing_dataset(service, client, editor, viewer):
    """The old code removed the whole dataset folder when a re-upload was over the limit."""
    from lookalike.api.workspace import store_upload
    from lookalike.errors import UploadTooLarge

    class Upload:
        filename = "crm.csv"

        def __init__(self):
            self.blocks = [b"x" * MIB] * 3

        async def read(self, n=-1):
            return self.blocks.pop() if self.blocks else b""

    from lookalike.synth import generate

    ws = service.app.state.workspace
    ws.prepare("keepme", lambda: generate(300, seed=2).raw, {"kind": "demo"}, lambda s, m: None)
    before = sorted(p.name for p in ws.dataset_dir("keepme").iterdir())
    with pytest.raises(UploadTooLarge):
        asyncio.run(store_upload(ws, "keepme", Upload(), 2 * MIB))
    assert sorted(p.name for p in ws.dataset_dir("keepme").iterdir()) == before
    assert client.get("/api/v1/datasets/keepme", headers=viewer).json()["ready"]


# ------------------------------------------------------------------ item 4: CSRF
def test_the_login_cookie_does_not_open_the_api(service):
    with browser(service.app) as c:
        assert ui_login(c, service.editor_key, follow_redirects=False).status_code == 303
        assert c.get("/", follow_redirects=False).status_code == 200  # logged in
        assert c.get("/api/v1/me").status_code == 401
        # the erasure had no body: any same-site page could have posted it with the cookie
        assert c.post("/api/v1/customers/C000001/forget").status_code == 401


def test_forms_from_another_site_are_refused(service):
    jobs = len(service.app.state.jobs.list())
    with browser(service.app) as c:
        ui_login(c, service.editor_key)
        token = csrf_of(c)
        for headers in ({"origin": "https://evil.example"}, {"referer": "https://evil.example/page"},
                        {"origin": "null"}, {"sec-fetch-site": "cross-site"}):
            r = c.post("/datasets/demo", data={"name": "csrf", "n": "300", "csrf_token": token}, headers=headers,
                       follow_redirects=False)
            assert r.status_code == 403, headers
        r = c.post("/datasets/demo", data={"name": "csrf", "n": "300"}, follow_redirects=False)  # no token
        assert r.status_code == 403 and "expired" in r.text
        r = c.post("/datasets/demo", data={"name": "csrf", "n": "300", "csrf_token": "x" * 43}, follow_redirects=False)
        assert r.status_code == 403
        assert len(service.app.state.jobs.list()) == jobs  # nothing ran
        r = c.post("/datasets/demo", data={"name": "csrf", "n": "300", "csrf_token": token},
                   headers={"origin": "http://testserver"}, follow_redirects=False)
        assert r.status_code == 303  # the same form from the page itself works
    service.app.state.jobs.wait(service.app.state.jobs.list()[0].id, timeout=60)


def test_login_needs_the_forms_token(service):
    with browser(service.app) as c:
        r = c.post("/login", data={"api_key": service.editor_key, "next": "/"}, follow_redirects=False)
        assert r.status_code == 403
        assert c.get("/", follow_redirects=False).status_code == 303


def test_every_post_form_carries_the_csrf_token():
    from importlib import resources

    templates = resources.files("lookalike.web").joinpath("templates")
    forms = 0
    for t in templates.iterdir():
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", t.read_text("utf-8"), re.S | re.I):
            forms += 1
            assert 'name="csrf_token" value="{{ csrf_token }}"' in form, t.name
    assert forms >= 7


# ------------------------------------------------------------------ item 5: sessions
def test_a_readded_name_does_not_revive_an_old_session(service):
    engine = service.app.state.engine
    _, key = add_user(engine, "ana16", "editor")
    with browser(service.app) as c:
        ui_login(c, key)
        assert c.get("/", follow_redirects=False).status_code == 200
        remove_user(engine, "ana16")
        add_user(engine, "ana16", "editor")  # the name again, a new key
        assert c.get("/", follow_redirects=False).status_code == 303


def test_logout_revokes_a_copied_cookie(service):
    with browser(service.app) as c:
        ui_login(c, service.viewer_key)
        copied = dict(c.cookies)
        assert c.get("/", follow_redirects=False).status_code == 200
        c.post("/logout", data={"csrf_token": csrf_of(c)})
    with browser(service.app, cookies=copied) as thief:
        assert thief.get("/", follow_redirects=False).status_code == 303


def test_failed_logins_are_throttled_per_address_and_per_key(tmp_path):
    svc = make_service(tmp_path / "h", dataset=None)
    with TestClient(svc.app) as c:
        for _ in range(5):
            assert ui_login(c, "lk_AAAAAAAA_" + "x" * 43).status_code == 401
        r = ui_login(c, svc.editor_key)  # even the right key waits: the address is throttled
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    throttle = svc.app.state.login_throttle
    assert throttle.retry_after("key:AAAAAAAA") > 0 and throttle.retry_after("ip:elsewhere") == 0
    svc.app.state.engine.dispose()


def test_https_only_makes_the_cookie_secure(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOKALIKE_HTTPS_ONLY", "1")
    settings = Settings(home=tmp_path / "h", session_secret="s")
    assert settings.https_only
    app = create_app(settings)
    with TestClient(app, base_url="https://testserver") as c:
        cookie = c.get("/login").headers["set-cookie"]
    assert "secure" in cookie.lower() and "httponly" in cookie.lower()
    app.state.engine.dispose()


def test_the_workspace_database_and_secret_are_private(tmp_path):
    home = tmp_path / "fresh" / "lk"
    app = create_app(Settings(home=home, session_secret=None))
    assert _mode(home) == 0o700
    assert _mode(home / "lookalike.db") == 0o600
    assert _mode(home / ".session_secret") == 0o600
    app.state.engine.dispose()


# ------------------------------------------------------------------ item 24: users add in a fresh directory
def test_users_add_works_in_a_fresh_directory(tmp_path, monkeypatch):
    from lookalike.cli import app as cli_app
    from lookalike.config.settings import ENV_VARS

    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli_app, ["users", "add", "ana", "--role", "editor"])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip().startswith("lk_")
    assert _mode(tmp_path / ".lookalike") == 0o700 and _mode(tmp_path / ".lookalike" / "lookalike.db") == 0o600


# ------------------------------------------------------------------ item 6: formulas in CSV answers
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+2", "-3+4", "@SUM(A1)", "\t=1"]


def test_the_audience_csv_download_escapes_formulas(client, viewer, service, monkeypatch):
    table = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4", "C5"], "rank": [1, 2, 3, 4, 5],
                          "similarity": [0.9, 0.8, -0.1, 0.5, 0.4], "region": FORMULAS})
    monkeypatch.setattr(service.app.state.workspace, "audience_table", lambda name: table)
    r = client.get("/api/v1/audiences/any/download?format=csv", headers=viewer)
    assert r.status_code == 200
    got = pd.read_csv(io.StringIO(r.text), keep_default_na=False)
    assert got["region"].tolist() == ["'" + f for f in FORMULAS]
    assert got["similarity"].tolist() == [0.9, 0.8, -0.1, 0.5, 0.4]  # numbers stay numbers


@pytest.fixture(scope="module")
def formula_table(tmp_path_factory):
    from lookalike.cleaning.table import clean_customers
    from lookalike.synth import generate

    customers = clean_customers(generate(400, seed=3).raw).customers
    customers["fav_category"] = customers["fav_category"].astype(str).radd("=cmd|' /C calc'!")
    path = tmp_path_factory.mktemp("formula") / "customers.parquet"
    customers.to_parquet(path)
    return path, customers["customer_id"].iloc[0]


@pytest.mark.parametrize("command", ["find", "expand"])
def test_cli_csv_on_stdout_escapes_formulas(formula_table, tmp_path, command, monkeypatch):
    from lookalike.cli import app as cli_app

    monkeypatch.setenv("LOOKALIKE_CACHE_DIR", str(tmp_path / "cache"))
    path, first = formula_table
    args = (["find", str(path), first, "-k", "5"] if command == "find" else
            ["expand", str(path), "--size", "20", "-o", str(tmp_path / "a.parquet"), "--top", "5"])
    r = CliRunner().invoke(cli_app, [*args, "--format", "csv"])
    assert r.exit_code == 0, r.output
    rows = pd.read_csv(io.StringIO(r.stdout), keep_default_na=False)
    assert "fav_category" in rows and len(rows) == 5
    assert rows["fav_category"].str.startswith("'=cmd").all()


# ------------------------------------------------------------------ item 11: exact-name deletes
def test_deleting_an_audience_deletes_that_name_only(client, editor, viewer):
    for name in ("spring", "spring.v2", "spring.final"):
        r = client.post("/api/v1/datasets/demo/audiences", headers=editor, json={"name": name, "size": "30"})
        assert r.status_code == 201, r.text
    assert client.delete("/api/v1/audiences/spring", headers=editor).status_code == 204
    assert client.get("/api/v1/audiences/spring", headers=viewer).status_code == 404
    for name in ("spring.v2", "spring.final"):
        r = client.get(f"/api/v1/audiences/{name}/download", headers=viewer)
        assert r.status_code == 200 and len(pd.read_csv(io.StringIO(r.text))) == 30


# ------------------------------------------------------------------ item 14: reserved names
@pytest.mark.parametrize("name", ["export_log.jsonl", "Export_Log.jsonl", "x.manifest", "spring.reach",
                                  "a.diagnostics", "log.jsonl"])
def test_reserved_names_are_refused(client, editor, name):
    r = client.post("/api/v1/datasets/demo/audiences", headers=editor, json={"name": name, "size": "30"})
    assert r.status_code in (400, 422), r.text


def test_exports_still_log_after_a_name_was_refused(client, editor, viewer, service):
    client.post("/api/v1/datasets/demo/audiences", headers=editor, json={"name": "export_log.jsonl", "size": "30"})
    assert (service.home / "exports" / "export_log.jsonl").is_dir() is False
    client.post("/api/v1/datasets/demo/audiences", headers=editor, json={"name": "logged", "size": "30"})
    r = client.post("/api/v1/audiences/logged/exports", headers=editor, json={"profile": "email"})
    assert r.status_code == 201, r.text
    assert client.get("/api/v1/exports", headers=viewer).json()[0]["audience"] == "logged"


def test_a_failed_log_write_fails_the_export_and_leaves_no_file(tmp_path):
    from lookalike.export import export_audience

    aud = pd.DataFrame({"customer_id": ["C1", "C2"], "rank": [1, 2], "similarity": [0.9, 0.8],
                        "reason": ["a", "b"], "promo_channel": ["email", "email"]})
    log = tmp_path / "log"
    log.mkdir()  # something that is not a file where the log should be
    with pytest.raises(OSError):
        export_audience(aud, None, "email", tmp_path / "out", name="spring", user="t", log_path=log)
    assert not list((tmp_path / "out").glob("*.csv"))
    # the log checked after the files: a write that fails late removes them too
    import lookalike.export.writer as writer

    def broken(path, record):
        raise OSError(28, "No space left on device", str(path))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(writer, "append_log", broken)
        with pytest.raises(OSError, match="No space"):
            export_audience(aud, None, "email", tmp_path / "out2", name="spring", user="t",
                            log_path=tmp_path / "out2" / "log.jsonl")
    assert not list((tmp_path / "out2").glob("*.csv"))


# ------------------------------------------------------------------ item 13: concurrent writes to one name
@pytest.mark.slow
def test_concurrent_builds_of_one_name_leave_a_consistent_audience(service, monkeypatch):
    """The 500-row build pauses inside its save (after its first table is written); a 100-row build
    of the same name is sent meanwhile. Before: the manifest said 500 rows, the file held 100, and
    it verified, because the checksum was read back from the file after the other build's rename."""
    import lookalike.audience.store as store

    real = store.write_table
    paused, gate = threading.Event(), threading.Event()

    def slow(df, path, **kw):
        out = real(df, path, **kw)
        if not paused.is_set():
            paused.set()
            gate.wait(timeout=3)  # with the per-name lock the other build waits instead of interleaving
        return out

    monkeypatch.setattr(store, "write_table", slow)
    answers: dict[int, dict] = {}

    def build(size: int) -> None:
        c = TestClient(service.app)
        answers[size] = c.post("/api/v1/datasets/demo/audiences", headers={"X-API-Key": service.editor_key},
                               json={"name": "torn", "size": str(size), "top": 0}).json()

    a = threading.Thread(target=build, args=(500,))
    a.start()
    assert paused.wait(timeout=60)
    b = threading.Thread(target=build, args=(100,))
    b.start()
    b.join(timeout=60)
    gate.set()
    a.join(timeout=60)
    assert answers[500]["size"] == 500 and answers[100]["size"] == 100  # each caller gets its own result
    ws = service.app.state.workspace
    info, table = ws.audience_info("torn"), ws.audience_table("torn")  # verifies the file's checksum
    assert info["size"] == len(table)


def test_concurrent_uploads_to_one_name_each_report_their_own_file(client, service, monkeypatch):
    import lookalike.io as lio
    from lookalike.synth import generate

    real = lio.read_customers
    both_stored = threading.Event()

    def gated(source, *a, **kw):
        both_stored.wait(timeout=10)  # the first job reads only once the second upload is stored
        return real(source, *a, **kw)

    monkeypatch.setattr(lio, "read_customers", gated)
    editor = {"X-API-Key": service.editor_key}
    sizes, jobs = (300, 500), []
    for n in sizes:
        csv = generate(n, seed=n).raw.to_csv(index=False).encode()
        r = client.post("/api/v1/datasets/upload", data={"name": "twice"}, headers=editor,
                        files={"file": ("crm.csv", csv, "text/csv")})
        assert r.status_code == 202
        jobs.append(r.json()["id"])
    both_stored.set()
    done = [client.app.state.jobs.wait(j, timeout=120) for j in jobs]
    assert [j.status for j in done] == ["done", "done"], [j.error for j in done]
    assert [j.result["rows"]["in"] for j in done] == [len(generate(n, seed=n).raw) for n in sizes]
    d = service.app.state.workspace.dataset_dir("twice")
    assert [p.name for p in d.glob("raw.*")] == ["raw.csv"] and not list(d.glob(".upload-*"))


def test_save_audience_digests_the_bytes_it_wrote(tmp_path, monkeypatch):
    """Another writer replacing the file right after this call's write: the manifest does not vouch for it."""
    import lookalike.audience.store as store
    from lookalike.errors import InputError

    table = pd.DataFrame({"customer_id": [f"C{i}" for i in range(50)], "rank": range(1, 51), "similarity": 0.5})
    path = tmp_path / "a.parquet"
    real, calls = store.write_table, []

    def then_replaced(df, target, **kw):
        out = real(df, target, **kw)
        if not calls:
            table.head(10).to_parquet(path)  # another process writes the same name meanwhile
        calls.append(target)
        return out

    class Result:
        audience, seed_ids, params, counts, warnings = table, ["C1"], {}, {"audience": 50}, []
        reach = pd.DataFrame({"size": [1]})
        profile = sensitive = pd.DataFrame({"feature": ["x"]})

        class diagnostics:
            @staticmethod
            def to_dict():
                return {}

    monkeypatch.setattr(store, "write_table", then_replaced)
    store.save_audience(Result(), path, model_version="t", data_fingerprint="f")
    with pytest.raises(InputError, match="checksum"):
        store.load_audience(path)  # before: the 10-row file verified against a 50-row manifest


# ------------------------------------------------------------------ item 22: datasets without VIPs in the UI
@pytest.mark.parametrize("vip, reason", [(0, "no VIP customers"), (1, "Every customer in this dataset is a VIP")])
def test_the_build_page_works_without_usable_vips(service, vip, reason):
    from lookalike.synth import generate

    name = f"vip{vip}"
    raw = generate(400, seed=11).raw
    raw["vip_flag"] = vip
    service.app.state.workspace.prepare(name, lambda: raw, {"kind": "demo"}, lambda s, m: None)
    with browser(service.app) as c:
        ui_login(c, service.editor_key)
        page = c.get(f"/datasets/{name}/build")
        assert page.status_code == 200, page.text
        assert reason in page.text
        assert re.search(r'id="seed_vip"[^>]*disabled', page.text)
        assert re.search(r'id="seed_rule_r"[^>]*checked', page.text)
        r = c.post(f"/datasets/{name}/build", follow_redirects=False,
                   data={"seed_kind": "rule", "seed_rule": "total_spent top 10%", "size_pct": "5",
                         "audience_name": f"{name}-rule", "csrf_token": csrf_of(c)})
        assert r.status_code == 303, r.text
        ids = service.app.state.workspace.finder(name).customers_.customer_id.iloc[:5].tolist()
        r = c.post(f"/datasets/{name}/build", follow_redirects=False,
                   data={"seed_kind": "ids", "seed_ids": " ".join(ids), "size_pct": "5",
                         "audience_name": f"{name}-ids", "csrf_token": csrf_of(c)})
        assert r.status_code == 303, r.text
