"""The ``lookalike`` command line: a thin layer over the library.

Progress and messages go to stderr, data to stdout. Exit codes: 0 ok,
1 unexpected failure, 2 bad argument (unknown id, k out of range, bad option),
3 bad input data (missing columns, empty or corrupt file, unreadable model).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from lookalike.errors import InputError, LookalikeError, ModelFormatError

app = typer.Typer(
    name="lookalike",
    help="Find the customers who look like your best ones: clean a CRM export, fit, query.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_ARGUMENT = 2
EXIT_INPUT = 3


class OutputFormat(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _fail(exc: LookalikeError) -> None:
    code = EXIT_INPUT if isinstance(exc, (InputError, ModelFormatError)) else EXIT_ARGUMENT
    # escaped: messages name TOML sections such as [features], which Rich would take for markup
    _err().print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def _friendly_errors() -> Iterator[None]:
    try:
        yield
    except LookalikeError as exc:
        _fail(exc)
    except (typer.Exit, typer.Abort, typer.BadParameter):
        raise
    except OSError as exc:  # disk full, permission denied, missing folder: say which file
        _err().print(f"[bold red]error:[/] {exc.strerror or exc} ({exc.filename or 'file system'}); "
                     "check the path and permissions", soft_wrap=True)
        raise typer.Exit(1) from None
    except Exception as exc:
        if os.environ.get("LOOKALIKE_DEBUG"):
            raise
        _err().print(f"[bold red]error:[/] unexpected failure: {type(exc).__name__}: {str(exc)[:300]} "
                     "(set LOOKALIKE_DEBUG=1 for the traceback, and please report it)", soft_wrap=True)
        raise typer.Exit(1) from None


@contextmanager
def _step(label: str) -> Iterator[None]:
    """A spinner on stderr for one step of unknown length, then a ✓ line with its time."""
    console = _err()
    t0 = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        progress.add_task(label, total=None)
        yield
    console.print(f"[green]✓[/] {label} [dim]({time.perf_counter() - t0:.1f} s)[/]")


def _cache_dir() -> Path:
    return Path(os.environ.get("LOOKALIKE_CACHE_DIR") or Path.home() / ".cache" / "lookalike")


def _load_clean(path: Path, *, columns: Optional[Path], use_cache: bool):
    from lookalike.cleaning.cache import clean_file

    with _step(f"read + clean {path.name}"):
        result, hit = clean_file(path, cache_dir=_cache_dir() / "clean" if use_cache else None, columns=columns)
    if hit:
        _err().print("[dim]  (unchanged file: clean table taken from the cache)[/]")
    return result


def _is_clean_table(path: Path) -> bool:
    if path.suffix.lower() not in (".parquet", ".pq"):
        return False
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(path).names)
    except Exception:
        return False
    return {"customer_id", "never_purchased", "total_spent"} <= names and "total_spent_dirty" not in names


def _load_model(source: Path):
    from lookalike.finder import LookalikeFinder

    with _step(f"load model {source}"):
        return LookalikeFinder.load(source)


def _customers_for(source: Path, *, columns: Optional[Path] = None, use_cache: bool = True):
    """The clean customer table of a model directory, a clean parquet table or a raw export."""
    import pandas as pd

    if source.is_dir():
        return _load_model(source).customers_
    if _is_clean_table(source):
        return pd.read_parquet(source)
    return _load_clean(source, columns=columns, use_cache=use_cache).customers


def _finder_for(source: Path, *, columns: Optional[Path] = None, use_cache: bool = True):
    """A fitted finder from a model directory, a clean parquet table or a raw export."""
    from lookalike.finder import LookalikeFinder

    if source.is_dir():
        return _load_model(source)
    customers = _customers_for(source, columns=columns, use_cache=use_cache)
    with _step(f"fit {len(customers):,} customers"):
        return LookalikeFinder().fit(customers)


def _print_frame(df, fmt: OutputFormat, title: str = "") -> None:
    if fmt is OutputFormat.csv:
        sys.stdout.write(df.to_csv(index=False))
    elif fmt is OutputFormat.json:
        sys.stdout.write(df.to_json(orient="records", indent=2, date_format="iso") + "\n")
    else:
        table = Table(title=title or None, show_lines=False)
        for col in df.columns:
            table.add_column(str(col), justify="right" if df[col].dtype.kind in "fiu" else "left")
        for row in df.itertuples(index=False):  # display only: a handful of rows
            table.add_row(*[_fmt_cell(v) for v in row])
        Console().print(table)


def _fmt_cell(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.2f}"
    return str(v)


def _parse_weights(items: list[str]) -> dict[str, float]:
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


def _progress_bar(total: int, label: str) -> tuple[Progress, Callable[[int], None]]:
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,}"),
                        TimeElapsedColumn(), console=_err(), transient=True)
    task = progress.add_task(label, total=total)
    return progress, lambda done: progress.update(task, completed=done)


# ------------------------------------------------------------------ commands
@app.command()
def generate(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write: .xlsx, .csv or .parquet")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of customers")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same file)")] = 1,
    contact: Annotated[bool, typer.Option(help="Add fake contact and consent columns")] = False,
    chunk_size: Annotated[int, typer.Option(min=1000, help="Rows generated per chunk")] = 100_000,
) -> None:
    """Write a synthetic, dirty CRM export with realistic customer segments and ~0.6% VIPs."""
    from lookalike.synth import write_synthetic

    with _friendly_errors():
        output.parent.mkdir(parents=True, exist_ok=True)
        progress, update = _progress_bar(n, f"generate {output.name}")
        t0 = time.perf_counter()
        with progress:
            write_synthetic(output, n, seed, chunk_size=chunk_size, contact=contact, progress=update)
        _err().print(f"[green]✓[/] wrote {n:,} customers to {output} [dim]({time.perf_counter() - t0:.1f} s)[/]")


@app.command()
def clean(
    raw: Annotated[Path, typer.Argument(help="Raw export: .xlsx, .csv or .parquet")],
    out_dir: Annotated[Path, typer.Option("-o", "--out", help="Directory for the clean table and reports")],
    columns: Annotated[Optional[Path], typer.Option(help="Column-name mapping TOML (default: the built-in one)")] = None,
    cache: Annotated[bool, typer.Option(help="Reuse the clean table of an unchanged file")] = True,
) -> None:
    """Clean a raw export: writes customers.parquet, quarantine.csv and quality.{json,md,html}."""
    with _friendly_errors():
        result = _load_clean(raw, columns=columns, use_cache=cache)
        paths = write_clean_outputs(result, out_dir)
        _print_quality(result.report)
        _err().print(f"[green]✓[/] wrote {', '.join(p.name for p in paths)} to {out_dir}")


def write_clean_outputs(result, out_dir: Path) -> list[Path]:
    """Write the clean table, the quarantine and the quality report in three formats."""
    from lookalike.cleaning.cache import quarantine_for_storage
    from lookalike.io import write_table, write_text
    from lookalike.report.quality import render_quality_html, render_quality_markdown

    out_dir.mkdir(parents=True, exist_ok=True)
    report = result.report.to_dict()
    return [
        write_table(result.customers, out_dir / "customers.parquet"),
        write_table(quarantine_for_storage(result.quarantine), out_dir / "quarantine.csv"),
        write_text(out_dir / "quality.json", json.dumps(report, indent=2, default=str)),
        write_text(out_dir / "quality.md", render_quality_markdown(report)),
        write_text(out_dir / "quality.html", render_quality_html(report)),
    ]


def _print_quality(report) -> None:
    from lookalike.report.quality import quality_summary_lines

    console = _err()
    for line in quality_summary_lines(report.to_dict()):
        console.print(line, markup=False, highlight=False)


@app.command()
def fit(
    data: Annotated[Path, typer.Argument(help="Raw export or clean customers.parquet")],
    model_dir: Annotated[Path, typer.Option("-o", "--out", help="Model directory to write")],
    weight: Annotated[list[str], typer.Option("--weight", help="name=number; a feature or group (value, behaviour, ...)")] = [],  # noqa: B006
    index: Annotated[str, typer.Option(help="Index: auto (exact up to 100k, HNSW up to 500k, IVF above), exact, faiss-flat, sklearn, hnsw, ivf")] = "auto",
    columns: Annotated[Optional[Path], typer.Option(help="Column-name mapping TOML")] = None,
) -> None:
    """Clean (if needed), build features and the kNN index, and save a model directory."""

    from lookalike.finder import LookalikeFinder

    with _friendly_errors():
        weights = _parse_weights(weight)
        customers = _customers_for(data, columns=columns)
        with _step(f"fit {len(customers):,} customers"):
            finder = LookalikeFinder(weights=weights or None, index=index).fit(customers)
        finder.save(model_dir)
        _err().print(f"[green]✓[/] model with {finder.n_customers_:,} customers × {len(finder.feature_names_)} features "
                     f"saved to {model_dir}")


@app.command()
def find(
    source: Annotated[Path, typer.Argument(help="Model directory, clean customers.parquet or raw export")],
    customer_id: Annotated[str, typer.Argument(help="The customer to find lookalikes of")],
    k: Annotated[int, typer.Option("-k", help="Number of lookalikes")] = 10,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json")] = OutputFormat.table,
) -> None:
    """The k customers most similar to CUSTOMER_ID, nearest first."""
    with _friendly_errors():
        finder = _finder_for(source)
        result = finder.find_lookalikes(customer_id, k=k)
        _print_frame(result, fmt, title=f"Lookalikes of {customer_id}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Directory for the demo outputs")] = Path("out"),
    data: Annotated[Optional[Path], typer.Option(help="Use this export instead of the built-in synthetic data")] = None,
    n: Annotated[int, typer.Option("--n", min=100, help="Synthetic customers when no --data")] = 100_000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data")] = 1,
    k: Annotated[int, typer.Option("-k", help="Lookalikes shown per VIP")] = 5,
) -> None:
    """Generate (or take) an export, clean it, fit, show VIP lookalikes, write out/ with reports and plots."""
    import numpy as np

    from lookalike.finder import LookalikeFinder
    from lookalike.report.plots import distributions, pca_map, save_figure
    from lookalike.synth import write_synthetic

    with _friendly_errors():
        t0 = time.perf_counter()
        console = _err()
        if data is None:
            data = Path("data") / f"synthetic_{n}_seed{seed}.xlsx"
            if not data.exists():
                data.parent.mkdir(parents=True, exist_ok=True)
                progress, update = _progress_bar(n, f"generate {data}")
                with progress:
                    write_synthetic(data, n, seed, contact=True, progress=update)
                console.print(f"[green]✓[/] generated {n:,} synthetic customers in {data}")
            else:
                console.print(f"[dim]using the generated export {data} (delete it to regenerate)[/]")
        result = _load_clean(data, columns=None, use_cache=True)
        paths = write_clean_outputs(result, out)
        _print_quality(result.report)
        with _step(f"fit {len(result.customers):,} customers"):
            finder = LookalikeFinder().fit(result.customers)
        finder.save(out / "model")
        customers = finder.customers_
        vip = (customers["vip_flag"].fillna(0).to_numpy() == 1) if "vip_flag" in customers else np.zeros(len(customers), bool)
        with _step("plots: PCA map with VIPs, distributions"):
            paths.append(save_figure(pca_map(finder.X_, vip), out / "pca_vip.png"))
            paths.append(save_figure(distributions(customers, highlight=customers.get("vip_flag").eq(1)
                                                   if "vip_flag" in customers else None), out / "distributions.png"))
        vip_ids = customers.loc[vip, "customer_id"].head(3).tolist() or customers["customer_id"].head(3).tolist()
        for cid in vip_ids:
            _print_frame(finder.find_lookalikes(cid, k=k), OutputFormat.table, title=f"Lookalikes of VIP {cid}")
        if vip.sum() >= 2:
            with _step("audience: the top 5% lookalikes of all VIPs"):
                result = finder.build_audience("vip", "5%", exclude_vips=True)
            _save_result(result, out / "audiences" / "vip-lookalikes.parquet", data, OutputFormat.table, 5)
            paths.append(out / "audiences")
            from lookalike.campaigns.simulate import demo_campaign

            with _step("campaign: 10% holdout, simulated outcomes with a known uplift, report"):
                campaign_paths, summary = demo_campaign(result.audience, customers, out)
            console.print(summary, soft_wrap=True, markup=False)
            paths.extend(campaign_paths)
        console.print(f"[green]✓[/] demo done in {time.perf_counter() - t0:.1f} s; outputs in {out}/: "
                      f"{', '.join(p.name for p in paths)}, model/")


def main() -> None:  # pragma: no cover - console entry point
    app()


# ---------------------------------------------------------------- audiences
def _seed_spec(text: str) -> object:
    """``vip``, a path to an id file, or a one-line rule (``vip_score >= 0.8``)."""
    from lookalike.audience.seeds import parse_rule

    if text.strip().lower() in ("vip", "vips"):
        return "vip"
    if Path(text).is_file():
        return text
    return parse_rule(text)


def _fingerprint(source: Path) -> str:
    from lookalike.io import file_digest

    if source.is_dir():
        return "model:" + file_digest(source / "manifest.json")[:32]
    return "file:" + file_digest(source)[:32]


def _save_result(result, output: Path, source: Path, fmt: OutputFormat, top: int) -> None:
    from lookalike import __version__
    from lookalike.audience.store import save_audience

    console = _err()
    for w in result.warnings:
        console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
    paths = save_audience(result, output, model_version=__version__, data_fingerprint=_fingerprint(source))
    d = result.diagnostics
    console.print(f"seeds: {d.size:,} (tightness {d.tightness:.2f}); candidates {result.counts['candidates']:,}; "
                  f"audience {len(result.audience):,} customers, mean similarity {result.audience.similarity.mean():.3f}")
    shown = result.audience.head(top)[[c for c in ("customer_id", "rank", "similarity", "reason", "total_spent",
                                                   "fav_category", "region") if c in result.audience.columns]]
    _print_frame(shown, fmt, title=f"Top {len(shown)} of {len(result.audience):,}")
    console.print(f"[green]✓[/] wrote {', '.join(p.name for p in paths)} to {output.parent}")


@app.command()
def expand(
    data: Annotated[Path, typer.Argument(help="Model directory, clean customers.parquet or raw export")],
    seeds: Annotated[str, typer.Option(help="'vip', an id file, or a rule like 'vip_score >= 0.8' / 'total_spent top 5%'")] = "vip",
    size: Annotated[str, typer.Option(help="Audience size: a count (5000), a share (0.05) or a percentage (5%)")] = "5%",
    output: Annotated[Path, typer.Option("-o", "--output", help="Audience file (.parquet or .csv); sidecar files go next to it")] = Path("audience.parquet"),
    scorer: Annotated[str, typer.Option(help="auto (validated combination), seed_share, seed_distance, classifier, gbm, value or rule")] = "auto",
    seed_order: Annotated[Optional[str], typer.Option(help="Column with the seeds' order in time (a date, or successive groups): auto validates forward")] = None,
    learn_from_campaigns: Annotated[bool, typer.Option(help="Validate auto on the outcomes of an earlier campaign from the same seeds, when the campaign store has one")] = True,
    negative_seeds: Annotated[Optional[str], typer.Option(help="Seeds to stay away from (same forms as --seeds)")] = None,
    exclude_vips: Annotated[bool, typer.Option(help="Leave existing VIPs out")] = False,
    keep_opted_out: Annotated[bool, typer.Option(help="Keep customers whose promo_channel is none")] = False,
    suppress: Annotated[Optional[Path], typer.Option(help="File of customer ids never to include")] = None,
    region: Annotated[list[str], typer.Option(help="Only these regions (repeatable)")] = [],  # noqa: B006
    category: Annotated[list[str], typer.Option(help="Only these favourite categories (repeatable)")] = [],  # noqa: B006
    channel: Annotated[list[str], typer.Option(help="Only these promo channels (repeatable)")] = [],  # noqa: B006
    value: Annotated[Optional[str], typer.Option(help="Rank by similarity × value: total_spent or avg_ticket")] = None,
    top: Annotated[int, typer.Option(help="Rows to show")] = 10,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json (shown rows)")] = OutputFormat.table,
) -> None:
    """Expand a seed set into a ranked, explained audience of an exact size."""
    from lookalike.audience.seeds import read_id_file

    with _friendly_errors():
        finder = _finder_for(data)
        filters = {k: v for k, v in (("region", region), ("fav_category", category), ("promo_channel", channel)) if v}
        spec = _seed_spec(seeds)
        outcomes = _earlier_outcomes(spec) if learn_from_campaigns and scorer == "auto" else None
        with _step("score and rank the audience"):
            result = finder.build_audience(
                spec, size, scorer=scorer, exclude_vips=exclude_vips,
                exclude_opted_out=not keep_opted_out, suppress=read_id_file(suppress) if suppress else None,
                filters=filters or None, value=value,
                negative_seeds=_seed_spec(negative_seeds) if negative_seeds else None,
                seed_order=seed_order, campaign_outcomes=outcomes,
            )
        v = result.params.get("validation")
        if v:
            _err().print(f"why this method: {v['note']}", soft_wrap=True, markup=False)
        _save_result(result, output, data, fmt, top)


def _earlier_outcomes(spec: object):
    """Outcomes of the newest campaign built from the same seeds, when a campaign store exists (else None)."""
    from lookalike.database import database_url

    url = os.environ.get("LOOKALIKE_DB_URL", "").strip()
    home = Path(os.environ.get("LOOKALIKE_HOME", "").strip() or ".lookalike")
    if not url and not (home / "lookalike.db").is_file():
        return None  # no store: nothing to learn from (and nothing is created)
    from lookalike.audience.expand import seed_set_names
    from lookalike.campaigns.store import earlier_outcomes
    from lookalike.database import open_database

    name, outcomes = earlier_outcomes(open_database(database_url()), seed_set_names(spec))
    if name is None:
        return None
    _err().print(f"validating on the outcomes of campaign {name} ({int(outcomes.converted.sum()):,} responders "
                 f"of {len(outcomes):,} contacted)", soft_wrap=True, markup=False)
    return outcomes


playbook_app = typer.Typer(help="Campaign playbooks: retention, cross-sell, win-back, acquisition.", no_args_is_help=True)
app.add_typer(playbook_app, name="playbook")


@playbook_app.command("list")
def playbook_list() -> None:
    """List the built-in playbooks."""
    from lookalike.audience.playbooks import builtin_playbooks, load_playbook

    table = Table(title="Playbooks")
    for col in ("name", "title", "size"):
        table.add_column(col)
    for name in builtin_playbooks():
        pb = load_playbook(name)
        table.add_row(pb.name, pb.title, str(pb.audience.get("size", "5%")))
    Console().print(table)


@playbook_app.command("run")
def playbook_run(
    name: Annotated[str, typer.Argument(help="A built-in playbook name or a path to a playbook .toml")],
    data: Annotated[Path, typer.Argument(help="Model directory, clean customers.parquet or raw export")],
    out_dir: Annotated[Path, typer.Option("-o", "--out", help="Directory for the audience and its files")] = Path("out/audiences"),
    size: Annotated[Optional[str], typer.Option(help="Override the playbook's size")] = None,
    param: Annotated[list[str], typer.Option(help="Playbook parameter name=value (repeatable)")] = [],  # noqa: B006
    top: Annotated[int, typer.Option(help="Rows to show")] = 10,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json (shown rows)")] = OutputFormat.table,
) -> None:
    """Run a playbook and save its audience."""
    from lookalike.audience.playbooks import load_playbook, run_playbook

    with _friendly_errors():
        params = {}
        for item in param:
            key, sep, val = item.partition("=")
            if not sep:
                raise typer.BadParameter(f"--param {item!r} must look like name=value")
            params[key.strip()] = val.strip()
        pb = load_playbook(name, params)
        finder = _finder_for(data)
        with _step(f"playbook {pb.name}"):
            result = run_playbook(finder, pb, size=size)
        _save_result(result, out_dir / f"{pb.name}.parquet", data, fmt, top)


@app.command("export")
def export_cmd(
    audience: Annotated[Path, typer.Argument(help="Audience file written by expand or playbook run")],
    data: Annotated[Path, typer.Argument(help="The customers it was built from (model dir, clean parquet or raw export): contact and consent columns come from here")],
    fmt: Annotated[str, typer.Option("--format", help="channels (email+sms+push), email, sms, push, meta or google")] = "channels",
    out_dir: Annotated[Path, typer.Option("-o", "--out", help="Directory for the export files")] = Path("out/exports"),
    name: Annotated[Optional[str], typer.Option(help="Name used in file names (default: the audience file's stem)")] = None,
    exclude: Annotated[Optional[Path], typer.Option(help="File of ids to leave out (holdout group, suppression)")] = None,
) -> None:
    """Write the files marketing tools take: one CSV per channel, or hashed ad-platform lists."""

    from lookalike.audience.seeds import read_id_file
    from lookalike.audience.store import load_audience
    from lookalike.export import export_audience

    with _friendly_errors():
        aud = load_audience(audience)
        customers = _customers_for(data)
        profiles = ["email", "sms", "push"] if fmt == "channels" else [fmt]
        excluded = read_id_file(exclude) if exclude else None
        console = _err()
        for profile in profiles:
            res = export_audience(aud, customers, profile, out_dir, name=name or audience.stem, exclude_ids=excluded)
            for w in res.warnings:
                console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
            steps = " → ".join(f"{k} {v:,}" for k, v in res.counts.items())
            console.print(f"[green]✓[/] {profile}: {res.rows_written:,} rows in "
                          f"{', '.join(p.name for p in res.paths) or 'no file'} [dim]({steps})[/]")


audience_app = typer.Typer(help="Compare audience versions and overlaps.", no_args_is_help=True)
app.add_typer(audience_app, name="audience")


@audience_app.command("compare")
def audience_compare(
    old: Annotated[Path, typer.Argument(help="Previous audience file")],
    new: Annotated[Path, typer.Argument(help="New audience file")],
    old_data: Annotated[Optional[Path], typer.Option(help="Clean customers.parquet behind the old audience (for drift)")] = None,
    new_data: Annotated[Optional[Path], typer.Option(help="Clean customers.parquet behind the new audience (for drift)")] = None,
) -> None:
    """Who entered, who left, the overlap, and feature drift between the data versions."""
    import pandas as pd

    from lookalike.audience.compare import compare_audiences
    from lookalike.audience.store import load_audience
    from lookalike.features import FeatureSpec

    with _friendly_errors():
        oc = pd.read_parquet(old_data) if old_data else None
        nc = pd.read_parquet(new_data) if new_data else None
        rep = compare_audiences(load_audience(old), load_audience(new), old_customers=oc, new_customers=nc,
                                columns=FeatureSpec.default().numeric + FeatureSpec.default().categorical)
        sys.stdout.write(json.dumps(rep.to_dict(), indent=2) + "\n")
        for w in rep.warnings:
            _err().print(f"[yellow]warning:[/] {w}", soft_wrap=True)


# ---------------------------------------------------------------- evaluation
@app.command()
def evaluate(
    data: Annotated[Optional[Path], typer.Argument(help="Customers (model dir, clean parquet or raw export); hides VIPs and finds them again")] = None,
    task: Annotated[Optional[str], typer.Option(help="A task .toml (see datasets/real/*/task.toml), or 'synthetic'")] = None,
    splits: Annotated[int, typer.Option(min=1, help="Random splits (confidence intervals need 20+)")] = 20,
    out: Annotated[Path, typer.Option("--out", help="Directory for results (json, md, csv, gain chart)")] = Path("out/evaluation"),
    no_learned_weights: Annotated[bool, typer.Option(help="Use the features unweighted")] = False,
    scorer: Annotated[str, typer.Option(help="The scorer compared with the rules: auto (what expand ships) or one candidate")] = "auto",
) -> None:
    """Backtest: do lookalike segments find hidden or future positives better than rules?"""
    from lookalike.audience.scoring import check_scorer
    from lookalike.evaluation.backtest import LOOKALIKE_SCORERS, backtest
    from lookalike.evaluation.report import LABELS, write_results
    from lookalike.evaluation.tasks import load_task, synthetic_task

    with _friendly_errors():
        if task == "synthetic" or (task is None and data is None):
            from lookalike.cleaning.table import clean_customers
            from lookalike.synth import generate

            gen = generate(20_000, seed=5)
            t = synthetic_task(clean_customers(gen.raw).customers, gen.customers)
        elif task is not None:
            t = load_task(task)
        else:
            finder = _finder_for(data)
            t = synthetic_task(finder.customers_)
        _err().print(f"task {t.name}: {json.dumps({k: v for k, v in t.describe().items() if k != 'features'})}",
                     soft_wrap=True, markup=False)
        check_scorer(scorer)
        scorers = (scorer, *[s for s in LOOKALIKE_SCORERS if s != scorer])
        with Progress(TextColumn("backtest"), BarColumn(), TextColumn("split {task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=_err(), transient=True) as bar:
            job = bar.add_task("splits", total=splits)
            result = backtest(t, n_splits=splits, scorers=scorers, learn_weights=not no_learned_weights,
                              progress=lambda i, n, sec: bar.update(job, completed=i + 1))
        _err().print(f"[green]✓[/] backtest, {splits} splits [dim]({result.params['seconds']:.1f} s)[/]")
        paths = write_results(result, out)
        table = result.summary[["method", "precision@N", "precision@N ci_low", "precision@N ci_high", "lift@N", "auc"]].copy()
        table["method"] = table["method"].replace(LABELS)
        _print_frame(table.round(3), OutputFormat.table, title=f"{t.name}: precision at N = {int(result.splits.n_target.iloc[0]):,} targets")
        from lookalike.evaluation.report import conclusion

        Console().print(conclusion(result, default=scorer), soft_wrap=True)
        _err().print(f"[green]✓[/] wrote {', '.join(p.name for p in paths)} to {out}")


# ---------------------------------------------------------------- transactions (issue 6)
from lookalike.transactions.cli import customers_from_transactions_cmd  # noqa: E402

app.command("customers-from-transactions")(customers_from_transactions_cmd)


# ---------------------------------------------------------------- service, users, report (issue 9)
from lookalike.api.cli import report as report_cmd, serve as serve_cmd, users_app  # noqa: E402

app.command("serve")(serve_cmd)
app.command("report")(report_cmd)
app.add_typer(users_app, name="users")


# ---------------------------------------------------------------- campaigns (issue 7)
from lookalike.campaigns.cli import campaign_app  # noqa: E402

app.add_typer(campaign_app, name="campaign")


# ---------------------------------------------------------------- scale: Spark expansion (issue 8)
from lookalike.distributed.cli import spark_expand_cmd  # noqa: E402

app.command("spark-expand")(spark_expand_cmd)


# ---------------------------------------------------------------- erasure on request (issue 10)
from lookalike.privacy_cli import forget_cmd  # noqa: E402

app.command("forget")(forget_cmd)
