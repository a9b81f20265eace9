"""``lookalike serve | users add/remove/list | report``: the service, its users, the HTML report."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from lookalike.cli.common import (
    OutputFormat,
    SheetOption,
    Spinners,
    done,
    err_console,
    error,
    finder_for,
    friendly_errors,
    print_frame,
    step,
)
from lookalike.config.settings import Settings

users_app = typer.Typer(help="Service users and their API keys (roles: viewer reads, editor builds and exports).",
                        no_args_is_help=True)


def _engine(db: Optional[str], settings: Settings):
    from lookalike.database import open_database  # lazy: keeps --help fast

    return open_database(db or settings.database_url())


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -)")],
    role: Annotated[str, typer.Option(help="viewer or editor")] = "viewer",
    db: Annotated[Optional[str], typer.Option(help="Database URL (default: LOOKALIKE_DB_URL or the workspace's SQLite)")] = None,
) -> None:
    """Create a user and print their API key once (only its hash is stored)."""
    from lookalike.api.users import add_user  # lazy: keeps --help fast

    with friendly_errors() as settings:
        user, key = add_user(_engine(db, settings), name, role)
        sys.stdout.write(key + "\n")
        done(f"user {user.name} ({user.role}) created; the key above is shown only once — "
                            "store it now (send it as X-API-Key, or paste it on the login page)")


@users_app.command("remove")
def users_remove(
    name: Annotated[str, typer.Argument(help="User name")],
    db: Annotated[Optional[str], typer.Option(help="Database URL")] = None,
) -> None:
    """Revoke a user's key (their sessions end too)."""
    from lookalike.api.users import remove_user  # lazy: keeps --help fast

    with friendly_errors() as settings:
        if not remove_user(_engine(db, settings), name):
            error(f"no active user {name!r}; lookalike users list shows them")
        done(f"user {name} removed; their key no longer works")


@users_app.command("list")
def users_list(db: Annotated[Optional[str], typer.Option(help="Database URL")] = None) -> None:
    """Active users (name, role, key prefix, created) — never keys."""
    # lazy: keeps --help fast
    import pandas as pd

    from lookalike.api.users import list_users

    with friendly_errors() as settings:
        users = list_users(_engine(db, settings))
        df = pd.DataFrame([{"name": u.name, "role": u.role, "key_prefix": u.key_prefix,
                            "created": str(u.created_at)[:19]} for u in users],
                          columns=["name", "role", "key_prefix", "created"])
        print_frame(df, OutputFormat.table, title=f"{len(df)} user(s)")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    home: Annotated[Optional[Path], typer.Option(help="Workspace (default LOOKALIKE_HOME or ./.lookalike)")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Background job threads")] = 2,
    threads: Annotated[int, typer.Option(min=1, max=64, help="BLAS/FAISS threads per query (keep small under load)")] = 1,
) -> None:
    """Run the REST API (/api/v1, OpenAPI at /docs) and the web UI on one port."""
    # lazy: keeps --help fast
    import uvicorn

    from lookalike.server import create_app, log_config

    with friendly_errors() as settings:
        _cap_threads(threads)
        settings = dataclasses.replace(settings.with_home(home), workers=workers)
        app = create_app(settings)
        err_console().print(f"Lookalike on http://{host}:{port}/ (workspace {settings.home}); "
                            "create a user with: lookalike users add NAME --role editor", markup=False)
        # access lines come from the app (route templates): uvicorn's would log paths with customer ids
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, log_config=log_config())


def _cap_threads(n: int) -> None:
    # A server answers many small queries at once: one thread each avoids OpenMP spin-wait oversubscription.
    # lazy: keeps --help fast
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
    sheet: SheetOption = None,
) -> None:
    """Write one self-contained HTML report: quality, distributions, PCA map, profiles, gain, campaigns."""
    # lazy: keeps --help fast
    from lookalike.campaigns.report import stored_results
    from lookalike.database import open_database
    from lookalike.io import check_not_input, write_text
    from lookalike.report.full import build_report, gain_backtest
    from lookalike.sources import load_quality

    with friendly_errors() as settings:
        check_not_input([output], [data, *(audience or [])])
        finder = finder_for(data, settings, sheet=sheet)
        quality = load_quality(data, cache_dir=settings.cache_dir / "clean", progress=Spinners(), sheet=sheet)
        with step(f"backtest for the gain chart ({splits} split(s))"):
            evaluation = gain_backtest(finder.customers_, n_splits=splits)
        results = None
        if campaigns:
            engine = open_database(campaigns)
            try:
                results = stored_results(engine)
            finally:
                engine.dispose()
        with step("report: plots, profiles"):
            html = build_report(finder, quality=quality, audiences=list(audience or []), evaluation=evaluation,
                                campaigns=results, lang=lang, source=str(data))
        write_text(output, html)
        done(f"wrote {output} ({len(html) / 1e6:.1f} MB, self-contained)")
