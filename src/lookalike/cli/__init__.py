"""The ``lookalike`` command line: a thin layer over the library, one module per command group.

=====================  ==========================================================================
module                 commands
=====================  ==========================================================================
:mod:`.data`           ``generate``, ``clean``, ``fit``, ``find``, ``demo``
:mod:`.audiences`      ``expand``, ``playbook list|run``, ``export``, ``audience compare``
:mod:`.evaluate`       ``evaluate``
:mod:`.transactions`   ``customers-from-transactions``
:mod:`.service`        ``serve``, ``users add|remove|list``, ``report``
:mod:`.campaigns`      ``campaign create|export|outcomes|cost|report|plan|list|hillstrom``
:mod:`.uplift`         ``uplift fit|plan`` (uplift models from past campaigns)
:mod:`.spark`          ``spark-expand``
:mod:`.privacy`        ``forget``
:mod:`.common`         errors → exit codes, console, spinners, output formats (shared)
=====================  ==========================================================================

Progress and messages go to stderr, data to stdout. Exit codes: 0 ok, 1 unexpected failure,
2 bad argument (unknown id, k out of range, bad option), 3 bad input data (missing columns,
empty or corrupt file, unreadable model), 4 database unavailable (see :mod:`lookalike.errors`).
"""

from __future__ import annotations

import shutil

import typer

from lookalike.cli import audiences, campaigns, data, evaluate, privacy, service, spark, transactions, uplift

__all__ = ["app", "main"]

app = typer.Typer(
    name="lookalike",
    help="Find the customers who look like your best ones: clean a CRM export, fit, query.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# registration order is the order of ``lookalike --help``
for command in (data.generate, data.clean, data.fit, data.find, data.demo, audiences.expand):
    app.command()(command)
app.command("export")(audiences.export)
app.command()(evaluate.evaluate)
app.command("customers-from-transactions")(transactions.customers_from_transactions_cmd)
app.command("serve")(service.serve)
app.command("report")(service.report)
app.command("spark-expand")(spark.spark_expand_cmd)
app.command("forget")(privacy.forget_cmd)
app.add_typer(audiences.playbook_app, name="playbook")
app.add_typer(audiences.audience_app, name="audience")
app.add_typer(service.users_app, name="users")
app.add_typer(campaigns.campaign_app, name="campaign")
app.add_typer(uplift.uplift_app, name="uplift")


#: Below this terminal width ``--help`` is Click's plain layout (option, then its help wrapped under it):
#: Rich's four-column panels leave the help text a word per line at 80 columns.
NARROW_HELP = 100


def plain_help_when_narrow(typer_app: typer.Typer, columns: int | None = None) -> None:
    """Use the plain help layout for ``typer_app`` and its sub-commands when the terminal is narrow."""
    width = columns if columns is not None else shutil.get_terminal_size((NARROW_HELP, 24)).columns
    if width >= NARROW_HELP:
        return
    stack = [typer_app]
    while stack:
        current = stack.pop()
        current.rich_markup_mode = None
        stack.extend(g.typer_instance for g in current.registered_groups if g.typer_instance is not None)


# the console script runs ``app`` itself: the layout is chosen here, once, at import
plain_help_when_narrow(app)


def main() -> None:  # pragma: no cover - console entry point
    app()
