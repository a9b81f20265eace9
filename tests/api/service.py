"""A service with a small demo dataset, shared by the API and browser tests."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lookalike.api.users import add_user
from lookalike.server import Settings, create_app

N_CUSTOMERS = 3000


@dataclass
class Service:
    app: object
    home: Path
    editor_key: str
    viewer_key: str
    dataset: str = "demo"
    data_dir: Path | None = None  # the one folder whose files editors may register (LOOKALIKE_DATA_DIRS)


def make_service(home: Path, *, dataset: str | None = "demo", n: int = N_CUSTOMERS, seed: int = 4) -> Service:
    """An app on a fresh workspace with an editor, a viewer and (unless ``dataset`` is None) a
    cleaned + fitted demo dataset."""
    from lookalike.synth import generate

    data_dir = home.with_name(home.name + "-data")
    data_dir.mkdir(exist_ok=True)
    app = create_app(Settings(home=home, session_secret="test-secret", workers=2, default_lang="en",
                              data_dirs=(data_dir,)))
    _, editor = add_user(app.state.engine, "eddie", "editor")
    _, viewer = add_user(app.state.engine, "vera", "viewer")
    if dataset is None:
        return Service(app=app, home=home, editor_key=editor, viewer_key=viewer, dataset="", data_dir=data_dir)
    app.state.workspace.prepare(dataset, lambda: generate(n, seed=seed, contact=True).raw,
                                {"kind": "demo", "n": n, "seed": seed}, lambda share, msg: None)
    return Service(app=app, home=home, editor_key=editor, viewer_key=viewer, dataset=dataset, data_dir=data_dir)


def csrf_of(client) -> str:
    """The CSRF token of the client's session, read from a page's form (as a browser would)."""
    import re

    page = client.get("/login").text
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def ui_login(client, key: str, next_url: str = "/", **kw):
    """Log in through the UI's form (its CSRF token included); returns the answer."""
    return client.post("/login", data={"api_key": key, "next": next_url, "csrf_token": csrf_of(client)}, **kw)


@contextmanager
def browser(app, **kw):
    """A client with cookies of its own on a shared app, without the app's lifespan: leaving a
    ``with TestClient(app)`` block shuts the app's job pool down for every later test."""
    from fastapi.testclient import TestClient

    client = TestClient(app, **kw)
    try:
        yield client
    finally:
        client.close()
