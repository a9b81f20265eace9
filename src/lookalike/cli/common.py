"""What every command shares: errors → exit codes, the stderr console, step spinners and
progress bars, output formats (table, csv, json), option parsing, and loading customers.

Progress and messages go to stderr, data to stdout. A command body runs inside
:func:`friendly_errors`, which builds the command's :class:`~lookalike.config.settings.Settings`
once and turns every failure into one line and the exit code its error class declares
(see :mod:`lookalike.errors`): 0 ok, 1 unexpected failure, 2 bad argument, 3 bad input data,
4 database unavailable.

This module imports no data library (pandas, scikit-learn, ...): ``lookalike --help`` stays fast.
Command bodies import what they need.
"""

from __future__ import annotations

import atexit
import gc
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from lookalike.config.settings import Settings
from lookalike.errors import EXIT_ARGUMENT, EXIT_FAILURE, LookalikeError
from lookalike.i18n import format_number

if TYPE_CHECKING:
    import pandas as pd

    from lookalike.cleaning.table import CleanResult
    from lookalike.finder import LookalikeFinder

__all__ = [
    "DbOption", "OutputFormat", "ReportFormat", "SheetOption", "Spinners", "customers_for", "done", "err_console", "error", "fail", "finder_for",
    "friendly_errors", "imports_frozen", "load_clean", "open_store", "option_pairs", "parse_weights", "print_frame", "progress_bar", "size_note",
    "step", "warn",
]


class OutputFormat(str, Enum):
    """How a command writes a table to stdout (``--format``)."""

    table = "table"
    csv = "csv"
    json = "json"


class ReportFormat(str, Enum):
    """A report as tables for people or as one JSON document (``--format``)."""

    table = "table"
    json = "json"


#: A text cell longer than this is a sentence: in a narrow terminal it is printed under the table.
LONG_CELL = 30
#: A bare ``--size`` up to this many is probably meant as a percentage: the CLI says what it means.
SMALL_SIZE = 100
#: ``--db``: the campaign store (campaigns, outcomes, the contact history).
DbOption = Annotated[Optional[str], typer.Option("--db", help="Database URL (default: LOOKALIKE_DB_URL, else "
                                                              "sqlite under LOOKALIKE_HOME or ./.lookalike)")]


def open_store(db: str | None, settings: Settings) -> Any:
    """The campaign store's engine (``--db``, else the settings' database), migrated."""
    from lookalike.database import database_url, open_database  # lazy: SQLAlchemy and Alembic, keeps --help fast

    return open_database(database_url(db, settings))


def err_console() -> Console:
    """The console for messages: stderr, no syntax highlighting."""
    return Console(stderr=True, highlight=False)


def error(message: object, code: int = EXIT_ARGUMENT) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code`` (the message is shown as written:
    square brackets such as ``lookalike[spark]`` are not read as Rich markup)."""
    err_console().print(f"[bold red]error:[/] {escape(str(message))}", soft_wrap=True)
    raise typer.Exit(code)


def fail(exc: LookalikeError) -> NoReturn:
    """Report a refused operation in one line, exiting with the code its class declares."""
    error(str(exc), exc.exit_code)


def warn(message: object) -> None:
    """A ``warning:`` line on stderr (the message as written, brackets included)."""
    err_console().print(f"[yellow]warning:[/] {escape(str(message))}", soft_wrap=True)


def done(message: object) -> None:
    """A ``✓ message`` line on stderr (the message as written: paths may hold brackets)."""
    err_console().print(f"[green]✓[/] {escape(str(message))}", soft_wrap=True)


@contextmanager
def friendly_errors() -> Iterator[Settings]:
    """Run a command body: yields its settings; any failure becomes one line and an exit code."""
    debug = False
    try:
        settings = Settings()
        debug = settings.debug
        yield settings
    except LookalikeError as exc:
        fail(exc)
    except (typer.Exit, typer.Abort, typer.BadParameter):
        raise
    except OSError as exc:  # disk full, permission denied, missing folder: say which file
        error(f"{exc.strerror or exc} ({exc.filename or 'file system'}); check the path and permissions",
              EXIT_FAILURE)
    except Exception as exc:
        if debug:
            raise
        error(f"unexpected failure: {type(exc).__name__}: {str(exc)[:300]} "
              "(set LOOKALIKE_DEBUG=1 for the traceback, and please report it)", EXIT_FAILURE)


@contextmanager
def imports_frozen() -> Iterator[Callable[[], None]]:
    """A command's imports and body with the imported modules' objects out of the garbage collector's sight.

    Enter it before the command's imports and call the function it gives once they are done. The ~250,000
    functions, classes and dicts of a demo's ~2,300 modules live until exit, yet every full collection
    traverses them all (0.1-0.2 s each, several while a demo allocates): the collector is paused while
    the imports load (they make no garbage worth a collection), then every object alive is frozen and the
    collector resumes for the body. Frozen objects are still freed by reference counting; only their cycles
    wait. On exit they are unfrozen and the collector is as it was (a long test process leaks nothing).
    """
    was = gc.isenabled()
    gc.disable()

    def imported() -> None:
        gc.freeze()  # before the collector resumes: a young collection would traverse all the imports
        if was:
            gc.enable()

    try:
        yield imported
    finally:
        gc.unfreeze()
        if was:
            gc.enable()


# At exit nothing is left to collect: the interpreter's final collections would only traverse every live
# object (0.4 s after a demo). Freezing skips them; files and databases are closed by their own code.
atexit.register(gc.freeze)


@contextmanager
def step(label: str) -> Iterator[None]:
    """A spinner on stderr for one step of unknown length, then a ✓ line with its time; when stderr is
    not a terminal (a log, CI) a plain ``… label`` line first instead of the spinner."""
    console = err_console()
    t0 = time.perf_counter()
    if not console.is_terminal:
        console.print(f"… {escape(label)}", soft_wrap=True)
        yield
    else:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            progress.add_task(escape(label), total=None)
            yield
    console.print(f"[green]✓[/] {escape(label)} [dim]({time.perf_counter() - t0:.1f} s)[/]", soft_wrap=True)


class Spinners:
    """The :class:`lookalike.sources.Progress` of the CLI: a spinner per step, dim notes."""

    def step(self, label: str) -> AbstractContextManager[None]:
        return step(label)

    def note(self, message: str) -> None:
        err_console().print(f"[dim]  ({escape(message)})[/]")


class _PlainProgress:
    """Progress as plain lines (stderr is not a terminal): one line each tenth of the way."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.shown = max(int(total), 1), label, 0

    def __enter__(self) -> "_PlainProgress":
        err_console().print(f"… {escape(self.label)}: 0/{self.total:,}", soft_wrap=True)
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, done: int) -> None:
        tenth = min(10, int(10 * done / self.total))
        if tenth > self.shown:
            self.shown = tenth
            err_console().print(f"… {escape(self.label)}: {done:,}/{self.total:,} ({tenth * 10}%)", soft_wrap=True)


def progress_bar(total: int, label: str) -> tuple[AbstractContextManager[Any], Callable[[int], None]]:
    """A bar on stderr and the callback that moves it to ``done`` of ``total``. The bar pulses until the
    first count arrives (work that reports late still shows it is alive); without a terminal, plain lines."""
    console = err_console()
    if not console.is_terminal:
        plain = _PlainProgress(total, label)
        return plain, plain.update
    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                        TextColumn("{task.completed:,}/{task.fields[of]}"), TimeElapsedColumn(),
                        console=console, transient=True)
    task = progress.add_task(escape(label), total=None, of=f"{total:,}")
    return progress, lambda done: progress.update(task, completed=done, total=total)


def size_note(size: object, option: str = "--size") -> None:
    """Warn when a size is a bare small number: it counts customers (``5`` is five), not a percentage.

    >>> size_note("5%"); size_note("2000"); size_note(None)
    """
    text = str(size).strip() if size is not None else ""
    if text.isdigit() and 0 < int(text) <= SMALL_SIZE:
        warn(f"{option} {text} means {int(text):,} customer{'s' if int(text) != 1 else ''}; "
             f"for a share of the customers write {option} {text}%")


def print_frame(df: pd.DataFrame, fmt: OutputFormat, title: str = "") -> None:
    """Write a (small) table to stdout as a rich table, CSV or JSON records."""
    if fmt is OutputFormat.csv:
        from lookalike.io import csv_text  # lazy: this module imports no data library

        sys.stdout.write(csv_text(df))
    elif fmt is OutputFormat.json:
        sys.stdout.write(df.to_json(orient="records", indent=2, date_format="iso") + "\n")
    else:
        # cells, headers and title are data (ids, reasons, paths): escaped, never read as markup
        console = Console()
        cells = df.astype(object).map(_fmt_cell) if len(df) else df.astype(str)
        widths = {c: max([len(str(c)), *cells[c].str.len()]) for c in df.columns}
        # a narrow terminal (80 columns): sentences (the reasons) go under the table, one per row,
        # so the table keeps its headers and numbers whole instead of a word per line
        long = [c for c in df.columns if widths[c] > LONG_CELL and df[c].dtype.kind not in "fiu"] \
            if sum(widths.values()) + 3 * len(widths) > console.width else []
        table = Table(title=escape(title) if title else None, show_lines=False)
        for col in df.columns:
            if col not in long:
                table.add_column(escape(str(col)), justify="right" if df[col].dtype.kind in "fiu" else "left",
                                 min_width=min(len(str(col)), 14))
        for _, row in cells.iterrows():  # display only: a handful of rows
            table.add_row(*[escape(str(row[c])) for c in df.columns if c not in long])
        console.print(table)
        first = str(df.columns[0])
        for col in long:
            console.print(f"[bold]{escape(str(col))}[/]")
            for _, row in cells.iterrows():
                console.print(f"  {escape(str(row[first]))}: {escape(str(row[col]))}", soft_wrap=False)


def _fmt_cell(v: object) -> str:
    if isinstance(v, float):
        return format_number(v, "en", 3 if abs(v) < 10 else 2, missing=str(v))
    return str(v)


def parse_weights(items: list[str]) -> dict[str, float]:
    """``["value=2", "behaviour=0.5"]`` as ``{"value": 2.0, "behaviour": 0.5}``; a bad item is a usage error."""
    weights: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"weight {item!r} must look like name=number, e.g. value=2")
        try:
            weights[key.strip()] = float(value)
        except ValueError:
            raise typer.BadParameter(f"weight {item!r}: {value!r} is not a number") from None
    return weights


# ------------------------------------------------------------ customers from a path, with spinners
def _cache(settings: Settings, use_cache: bool) -> Optional[Path]:
    return settings.cache_dir / "clean" if use_cache else None


#: ``--sheet``: which sheet of a workbook to read (default: the one Excel opens on).
SheetOption = Annotated[Optional[str], typer.Option(
    "--sheet", help="Workbook sheet to read: its name or number (1 = the first); default: the sheet Excel opens on")]


def load_clean(path: Path, settings: Settings, *, columns: Optional[Path] = None,
               use_cache: bool = True, sheet: Optional[str] = None, as_of: Optional[str] = None) -> CleanResult:
    """:func:`lookalike.sources.load_clean` with a spinner and the settings' cache."""
    from lookalike import sources  # lazy: pandas and scikit-learn only once a command loads customers

    return sources.load_clean(path, columns=columns, cache_dir=_cache(settings, use_cache), progress=Spinners(),
                              sheet=sheet, as_of=as_of)


def customers_for(source: Path, settings: Settings, *, columns: Optional[Path] = None,
                  use_cache: bool = True, sheet: Optional[str] = None) -> pd.DataFrame:
    """:func:`lookalike.sources.load_customers` with spinners and the settings' cache."""
    from lookalike import sources  # lazy: pandas and scikit-learn only once a command loads customers

    return sources.load_customers(source, columns=columns, cache_dir=_cache(settings, use_cache),
                                  progress=Spinners(), sheet=sheet)


def finder_for(source: Path, settings: Settings, *, columns: Optional[Path] = None,
               use_cache: bool = True, sheet: Optional[str] = None) -> LookalikeFinder:
    """:func:`lookalike.sources.load_finder` with spinners and the settings' cache."""
    from lookalike import sources  # lazy: pandas and scikit-learn only once a command loads customers

    return sources.load_finder(source, columns=columns, cache_dir=_cache(settings, use_cache), progress=Spinners(),
                               sheet=sheet)


def option_pairs(items: list[str], option: str) -> dict[str, Any]:
    """Repeated ``name=value`` options as a dict; an item without ``=`` is a usage error."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"{option} {item!r} must look like name=value")
        out[key.strip()] = val.strip()
    return out
