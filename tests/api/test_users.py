"""API keys: stored hashed, shown once, revocable; the UI's login session; the users CLI."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from typer.testing import CliRunner

from lookalike.api.users import add_user, authenticate, list_users, remove_user
from lookalike.cli import app as cli_app
from lookalike.database import api_users, open_database

from .service import browser, csrf_of, ui_login


def test_keys_are_stored_hashed(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path}/u.db")
    user, key = add_user(engine, "ana", "editor")
    with engine.connect() as conn:
        row = conn.execute(sa.select(api_users).where(api_users.c.name == "ana")).one()
    assert key not in (row.key_hash, row.key_prefix) and row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(f"lk_{row.key_prefix}_") and len(key) > 40
    assert authenticate(engine, key).role == "editor"
    assert authenticate(engine, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert authenticate(engine, "") is None and authenticate(engine, "not a key") is None
    assert remove_user(engine, "ana") and authenticate(engine, key) is None
    assert not remove_user(engine, "ana")
    assert list_users(engine) == []
    _, key2 = add_user(engine, "ana", "viewer")  # a removed name can be issued a new key
    assert authenticate(engine, key2).role == "viewer"
    engine.dispose()


def test_bad_names_and_roles(tmp_path):
    import pytest

    from lookalike.errors import ParameterError

    engine = open_database(f"sqlite:///{tmp_path}/u.db")
    with pytest.raises(ParameterError, match="role"):
        add_user(engine, "bob", "admin")
    with pytest.raises(ParameterError, match="user name"):
        add_user(engine, "../bob")
    add_user(engine, "bob")
    with pytest.raises(ParameterError, match="already exists"):
        add_user(engine, "bob")
    engine.dispose()


def test_users_cli(tmp_path):
    url = f"sqlite:///{tmp_path}/cli.db"
    runner = CliRunner()
    r = runner.invoke(cli_app, ["users", "add", "carla", "--role", "editor", "--db", url])
    assert r.exit_code == 0, r.output
    key = r.stdout.strip().splitlines()[0]
    engine = open_database(url)
    assert authenticate(engine, key).name == "carla"
    r = runner.invoke(cli_app, ["users", "list", "--db", url])
    assert r.exit_code == 0 and "carla" in r.output and key not in r.output
    assert runner.invoke(cli_app, ["users", "add", "x", "--role", "root", "--db", url]).exit_code == 2
    assert runner.invoke(cli_app, ["users", "remove", "carla", "--db", url]).exit_code == 0
    assert authenticate(engine, key) is None
    assert runner.invoke(cli_app, ["users", "remove", "carla", "--db", url]).exit_code == 2
    engine.dispose()


def test_login_session_and_revocation(service):
    with browser(service.app) as c:
        assert c.get("/", follow_redirects=False).headers["location"].startswith("/login")
        bad = ui_login(c, "lk_wrongwro_" + "x" * 43)
        assert bad.status_code == 401
        r = ui_login(c, service.viewer_key, "https://evil.example/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"  # no open redirect
        assert c.get("/api/v1/me").status_code == 401  # the session does not open the API (issue 16, item 4)
        assert c.get("/").status_code == 200
        r = c.post("/datasets/demo/build", data={"audience_name": "x", "csrf_token": csrf_of(c)})
        assert r.status_code == 403
        c.post("/logout", data={"csrf_token": csrf_of(c)})
        assert c.get("/", follow_redirects=False).status_code == 303
    # removing a user ends their session
    engine = service.app.state.engine
    _, key = add_user(engine, "temp", "viewer")
    with browser(service.app) as c:
        ui_login(c, key)
        assert c.get("/", follow_redirects=False).status_code == 200
        remove_user(engine, "temp")
        assert c.get("/", follow_redirects=False).status_code == 303


def test_ui_build_from_an_uploaded_id_file(service):
    customers = service.app.state.workspace.finder(service.dataset).customers_
    seeds = customers.customer_id.iloc[:30].tolist()
    body = "customer_id\n" + "\n".join(seeds) + "\n"
    with browser(service.app) as c:
        ui_login(c, service.editor_key)
        r = c.post("/datasets/demo/build", data={"seed_kind": "ids", "size_pct": "2", "audience_name": "ui-file",
                                                 "csrf_token": csrf_of(c)},
                   files={"seed_file": ("seeds.csv", body.encode(), "text/csv")}, follow_redirects=False)
        assert r.status_code == 303, r.text
        info = c.get("/api/v1/audiences/ui-file", headers={"X-API-Key": service.viewer_key}).json()
        assert info["seeds"] == 30
        page = c.get("/audiences/ui-file")
        assert page.status_code == 200 and "ui-file" in page.text
