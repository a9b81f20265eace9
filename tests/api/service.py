"""A service with a small demo dataset, shared by the API and browser tests."""

from __future__ import annotations

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


def make_service(home: Path, *, dataset: str | None = "demo", n: int = N_CUSTOMERS, seed: int = 4) -> Service:
    """An app on a fresh workspace with an editor, a viewer and (unless ``dataset`` is None) a
    cleaned + fitted demo dataset."""
    from lookalike.synth import generate

    app = create_app(Settings(home=home, session_secret="test-secret", workers=2, default_lang="en"))
    _, editor = add_user(app.state.engine, "eddie", "editor")
    _, viewer = add_user(app.state.engine, "vera", "viewer")
    if dataset is None:
        return Service(app=app, home=home, editor_key=editor, viewer_key=viewer, dataset="")
    app.state.workspace.prepare(dataset, lambda: generate(n, seed=seed, contact=True).raw,
                                {"kind": "demo", "n": n, "seed": seed}, lambda share, msg: None)
    return Service(app=app, home=home, editor_key=editor, viewer_key=viewer, dataset=dataset)
