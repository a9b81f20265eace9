"""CLI commands of the service: ``lookalike serve``, ``lookalike users add/remove/list`` and
``lookalike report`` (registered at the end of ``lookalike/cli.py``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

users_app = typer.Typer(help="Service users and their API keys (roles: viewer reads, editor builds and exports).",
                        no_args_is_help=True)


def _engine(db: Optional[str]):
    from lookalike.api.settings import Settings
    from lookalike.database import open_database

    return open_database(db or Settings().database_url())


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -)")],
    role: Annotated[str, typer.Option(help="viewer or editor")] = "viewer",
    db: Annotated[Optional[str], typer.Option(help="Database URL (default: LOOKALIKE_DB_URL or the workspace's SQLite)")] = None,
) -> None:
    """Create a user and print their API key once (only its hash is stored)."""
    from lookalike.api.users import add_user
    from lookalike.cli import _err, _friendly_errors

    with _friendly_errors():
        user, key = add_user(_engine(db), name, role)
        sys.stdout.write(key + "\n")
        _err().print(f"[green]✓[/] user {user.name} ({user.role}) created; the key above is shown only once — "
                     "store it now (send it as X-API-Key, or paste it on the login page)")


@users_app.command("remove")
def users_remove(
    name: Annotated[str, typer.Argument(help="User name")],
    db: Annotated[Optional[str], typer.Option(help="Database URL")] = None,
) -> None:
    """Revoke a user's key (their sessions end too)."""
    from lookalike.api.users import remove_user
    from lookalike.cli import EXIT_ARGUMENT, _err, _friendly_errors

    with _friendly_errors():
        if not remove_user(_engine(db), name):
            _err().print(f"[bold red]error:[/] no active user {name!r}; lookalike users list shows them")
            raise typer.Exit(EXIT_ARGUMENT)
        _err().print(f"[green]✓[/] user {name} removed; their key no longer works")


@users_app.command("list")
def users_list(db: Annotated[Optional[str], typer.Option(help="Database URL")] = None) -> None:
    """Active users (name, role, key prefix, created) — never keys."""
    import pandas as pd

    from lookalike.api.users import list_users
    from lookalike.cli import OutputFormat, _friendly_errors, _print_frame

    with _friendly_errors():
        users = list_users(_engine(db))
        df = pd.DataFrame([{"name": u.name, "role": u.role, "key_prefix": u.key_prefix,
                            "created": str(u.created_at)[:19]} for u in users],
                          columns=["name", "role", "key_prefix", "created"])
        _print_frame(df, OutputFormat.table, title=f"{len(df)} user(s)")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    home: Annotated[Optional[Path], typer.Option(help="Workspace (default LOOKALIKE_HOME or ./.lookalike)")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Background job threads")] = 2,
    threads: Annotated[int, typer.Option(min=1, max=64, help="BLAS/FAISS threads per query (keep small under load)")] = 1,
) -> None:
    """Run the REST API (/api/v1, OpenAPI at /docs) and the web UI on one port."""
    import uvicorn

    from lookalike.api import Settings, create_app
    from lookalike.cli import _err, _friendly_errors

    with _friendly_errors():
        _cap_threads(threads)
        settings = Settings(**({"home": home} if home else {}), workers=workers)
        app = create_app(settings)
        _err().print(f"Lookalike on http://{host}:{port}/ (workspace {settings.home}); "
                     "create a user with: lookalike users add NAME --role editor")
        uvicorn.run(app, host=host, port=port, log_level="info")


def _cap_threads(n: int) -> None:
    # A server answers many small queries at once: one thread each avoids OpenMP spin-wait oversubscription.
    import faiss
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(n)
    threadpool_limits(n)


def report(
    data: Annotated[Path, typer.Argument(help="Customers: model dir, clean parquet or raw export")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The HTML file to write")] = Path("report.html"),
    lang: Annotated[str, typer.Option(help="es or en")] = "en",
    audience: Annotated[Optional[list[Path]], typer.Option(help="Saved audience(s) to profile (default: build the VIP lookalikes)")] = None,
    campaigns: Annotated[Optional[str], typer.Option(help="Campaign store: a database URL (campaign results section)")] = None,
    splits: Annotated[int, typer.Option(min=1, max=50, help="Backtest splits for the gain chart")] = 3,
) -> None:
    """Write one self-contained HTML report: quality, distributions, PCA map, profiles, gain, campaigns."""
    from lookalike.cli import _err, _finder_for, _friendly_errors, _step
    from lookalike.io import write_text
    from lookalike.report.full import build_report

    with _friendly_errors():
        finder = _finder_for(data)
        quality = _quality_for(data)
        with _step("report: plots, profiles, backtest"):
            html = build_report(finder, quality=quality, audiences=list(audience or []), campaigns_url=campaigns,
                                lang=lang, n_splits=splits, source=str(data))
        write_text(output, html)
        _err().print(f"[green]✓[/] wrote {output} ({len(html) / 1e6:.1f} MB, self-contained)")


def _quality_for(data: Path) -> dict | None:
    """The quality report next to the data (clean dir / model dir), or from cleaning a raw export."""
    from lookalike.cli import _is_clean_table, _load_clean

    for cand in (data / "quality.json", data.parent / "quality.json") if data.is_dir() else (data.parent / "quality.json",):
        if cand.is_file():
            return json.loads(cand.read_text("utf-8"))
    if data.is_file() and not _is_clean_table(data):
        return _load_clean(data, columns=None, use_cache=True).report.to_dict()
    return None
