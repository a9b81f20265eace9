"""``lookalike forget CUSTOMER_ID``: erasure on request (a thin layer over :mod:`lookalike.privacy`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from lookalike.cli.common import err_console, friendly_errors, warn


def forget_cmd(
    customer_id: Annotated[str, typer.Argument(help="The customer's id (spacing and case do not matter)")],
    home: Annotated[Optional[Path], typer.Option("--home", help="Workspace to clean (default: LOOKALIKE_HOME, "
                                                                "else ./.lookalike)")] = None,
    db: Annotated[Optional[str], typer.Option("--db", help="Campaign database URL (default: LOOKALIKE_DB_URL, "
                                                           "else the SQLite file in the workspace)")] = None,
    actor: Annotated[Optional[str], typer.Option("--actor", help="Who asked for the erasure (logged)")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", help="Clean-table cache to search (default: "
                                                                         "LOOKALIKE_CACHE_DIR, else <home>/cache)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON")] = False,
) -> None:
    """Remove one customer from audiences, exports, clean tables, models, the cache and the campaign store; log it."""
    # lazy: keeps --help fast
    from lookalike.database import open_database
    from lookalike.export import current_user
    from lookalike.privacy import forget_customer

    with friendly_errors() as settings:
        settings = settings.with_home(home)
        root = settings.home
        url = db or settings.database_url()
        engine = open_database(url)
        try:
            report = forget_customer(customer_id, home=root, engine=engine, actor=actor or current_user(),
                                     cache_dir=cache_dir)
        finally:
            engine.dispose()
        if as_json:
            typer.echo(json.dumps({"customer_key": report.customer_key, "log_id": report.log_id,
                                   **report.to_dict()}, indent=2, sort_keys=True))
        else:
            places = {**report.files, **report.redacted}
            for place, n in sorted(places.items()):
                typer.echo(f"{n}\t{place}")
            for m in report.models_refit:
                typer.echo(f"refit\t{m}")
            for table, n in sorted(report.database.items()):
                typer.echo(f"{n}\tdatabase:{table}")
            if report.cache_entries_removed:
                typer.echo(f"{report.cache_entries_removed}\tcache entries")
        err = err_console()
        err.print(f"[green]✓[/] removed {report.total} row(s)/occurrence(s); logged as erasure "
                  f"#{report.log_id} (key {report.customer_key[:12]}…)"
                  + ("" if report.total else " — nothing left to remove"), soft_wrap=True)
        if report.models_refit:
            err.print(f"refit without the customer: {', '.join(report.models_refit)}", soft_wrap=True, markup=False)
        for rel in report.unhandled:
            warn(f"{rel} still contains the id and could not be rewritten; delete it by hand")
        err.print("files already sent to a vendor are not recalled: ask the vendor to delete them", soft_wrap=True)
        if report.unhandled:
            raise typer.Exit(1)
