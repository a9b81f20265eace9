"""``lookalike expand | playbook list/run | export | audience compare``: audiences and their files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from lookalike.cli.common import (
    OutputFormat,
    customers_for,
    err_console,
    finder_for,
    friendly_errors,
    option_pairs,
    print_frame,
    step,
    warn,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

    from lookalike.audience.expand import AudienceResult

playbook_app = typer.Typer(help="Campaign playbooks: retention, cross-sell, win-back, acquisition.", no_args_is_help=True)
audience_app = typer.Typer(help="Compare audience versions and overlaps.", no_args_is_help=True)


def seed_spec(text: str) -> object:
    """``vip``, a path to an id file, or a one-line rule (``vip_score >= 0.8``)."""
    from lookalike.audience.seeds import parse_rule  # lazy: keeps --help fast

    if text.strip().lower() in ("vip", "vips"):
        return "vip"
    if Path(text).is_file():
        return text
    return parse_rule(text)


def save_result(result: AudienceResult, output: Path, source: Path, fmt: OutputFormat, top: int) -> None:
    """Save an audience with its sidecar files; print its warnings, a summary and the first rows."""
    # lazy: keeps --help fast
    from lookalike import __version__
    from lookalike.audience.store import save_audience
    from lookalike.sources import fingerprint

    console = err_console()
    for w in result.warnings:
        warn(w)
    paths = save_audience(result, output, model_version=__version__, data_fingerprint=fingerprint(source))
    d = result.diagnostics
    console.print(f"seeds: {d.size:,} (tightness {d.tightness:.2f}); candidates {result.counts['candidates']:,}; "
                  f"audience {len(result.audience):,} customers, mean similarity {result.audience.similarity.mean():.3f}")
    shown = result.audience.head(top)[[c for c in ("customer_id", "rank", "similarity", "reason", "total_spent",
                                                   "fav_category", "region") if c in result.audience.columns]]
    print_frame(shown, fmt, title=f"Top {len(shown)} of {len(result.audience):,}")
    console.print(f"[green]✓[/] wrote {', '.join(p.name for p in paths)} to {output.parent}")


def expand(
    data: Annotated[Path, typer.Argument(help="Model directory, clean customers.parquet or raw export")],
    seeds: Annotated[str, typer.Option(help="'vip', an id file, or a rule like 'vip_score >= 0.8' / 'total_spent top 5%'")] = "vip",
    size: Annotated[str, typer.Option(help="Audience size: a count (5000), a share (0.05) or a percentage (5%)")] = "5%",
    output: Annotated[Path, typer.Option("-o", "--output", help="Audience file (.parquet or .csv); sidecar files go next to it")] = Path("audience.parquet"),
    scorer: Annotated[str, typer.Option(help="auto, seed_share, seed_distance or classifier")] = "auto",
    negative_seeds: Annotated[Optional[str], typer.Option(help="Seeds to stay away from (same forms as --seeds)")] = None,
    exclude_vips: Annotated[bool, typer.Option(help="Leave existing VIPs out")] = False,
    keep_opted_out: Annotated[bool, typer.Option(help="Keep customers whose promo_channel is none")] = False,
    suppress: Annotated[Optional[Path], typer.Option(help="File of customer ids never to include")] = None,
    region: Annotated[list[str], typer.Option(help="Only these regions (repeatable)")] = [],  # noqa: B006
    category: Annotated[list[str], typer.Option(help="Only these favourite categories (repeatable)")] = [],  # noqa: B006
    channel: Annotated[list[str], typer.Option(help="Only these promo channels (repeatable)")] = [],  # noqa: B006
    value: Annotated[Optional[str], typer.Option(help="Rank by similarity × value: total_spent or avg_ticket")] = None,
    objective: Annotated[str, typer.Option(help="Rank by similarity, uplift (predicted incremental response) or blend (similarity × uplift)")] = "similarity",
    uplift_model: Annotated[Optional[Path], typer.Option(help="Uplift model directory (lookalike uplift fit) for --objective uplift or blend")] = None,
    top: Annotated[int, typer.Option(help="Rows to show")] = 10,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json (shown rows)")] = OutputFormat.table,
) -> None:
    """Expand a seed set into a ranked, explained audience of an exact size."""
    from lookalike.audience.seeds import read_id_file  # lazy: keeps --help fast
    from lookalike.cli.uplift import uplift_scores

    with friendly_errors() as settings:
        finder = finder_for(data, settings)
        uplift = uplift_scores(objective, uplift_model, finder.customers_)
        filters = {k: v for k, v in (("region", region), ("fav_category", category), ("promo_channel", channel)) if v}
        with step("score and rank the audience"):
            result = finder.build_audience(
                seed_spec(seeds), size, scorer=scorer, exclude_vips=exclude_vips,
                exclude_opted_out=not keep_opted_out, suppress=read_id_file(suppress) if suppress else None,
                filters=filters or None, value=value,
                negative_seeds=seed_spec(negative_seeds) if negative_seeds else None,
                objective=objective, uplift=uplift,
            )
        save_result(result, output, data, fmt, top)


@playbook_app.command("list")
def playbook_list() -> None:
    """List the built-in playbooks."""
    from lookalike.audience.playbooks import builtin_playbooks, load_playbook  # lazy: keeps --help fast

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
    from lookalike.audience.playbooks import load_playbook, run_playbook  # lazy: keeps --help fast

    with friendly_errors() as settings:
        pb = load_playbook(name, option_pairs(param, "--param"))
        finder = finder_for(data, settings)
        with step(f"playbook {pb.name}"):
            result = run_playbook(finder, pb, size=size)
        save_result(result, out_dir / f"{pb.name}.parquet", data, fmt, top)


def export(
    audience: Annotated[Path, typer.Argument(help="Audience file written by expand or playbook run")],
    data: Annotated[Path, typer.Argument(help="The customers it was built from (model dir, clean parquet or raw export): contact and consent columns come from here")],
    fmt: Annotated[str, typer.Option("--format", help="channels (email+sms+push), email, sms, push, meta or google")] = "channels",
    out_dir: Annotated[Path, typer.Option("-o", "--out", help="Directory for the export files")] = Path("out/exports"),
    name: Annotated[Optional[str], typer.Option(help="Name used in file names (default: the audience file's stem)")] = None,
    exclude: Annotated[Optional[Path], typer.Option(help="File of ids to leave out (holdout group, suppression)")] = None,
) -> None:
    """Write the files marketing tools take: one CSV per channel, or hashed ad-platform lists."""
    # lazy: keeps --help fast
    from lookalike.audience.seeds import read_id_file
    from lookalike.audience.store import load_audience

    with friendly_errors() as settings:
        aud = load_audience(audience)
        customers = customers_for(data, settings)
        write_exports(aud, customers, fmt, out_dir, name=name or audience.stem,
                      exclude_ids=read_id_file(exclude) if exclude else None)


def write_exports(audience: pd.DataFrame, customers: pd.DataFrame, fmt: str, out_dir: Path, *, name: str,
                  exclude_ids: Iterable[str] | None = None, left_out: str = "", soft_wrap: bool = False) -> None:
    """Export an audience to each profile of ``fmt`` (``channels`` = email, sms and push) and report each
    (``left_out`` is appended to each file's counts)."""
    from lookalike.export import export_audience  # lazy: keeps --help fast

    console = err_console()
    for profile in (["email", "sms", "push"] if fmt == "channels" else [fmt]):
        res = export_audience(audience, customers, profile, out_dir, name=name, exclude_ids=exclude_ids)
        for w in res.warnings:
            warn(w)
        steps = " → ".join(f"{k} {v:,}" for k, v in res.counts.items())
        console.print(f"[green]✓[/] {profile}: {res.rows_written:,} rows in "
                      f"{', '.join(p.name for p in res.paths) or 'no file'} [dim]({steps}{left_out})[/]",
                      soft_wrap=soft_wrap)


@audience_app.command("compare")
def audience_compare(
    old: Annotated[Path, typer.Argument(help="Previous audience file")],
    new: Annotated[Path, typer.Argument(help="New audience file")],
    old_data: Annotated[Optional[Path], typer.Option(help="Clean customers.parquet behind the old audience (for drift)")] = None,
    new_data: Annotated[Optional[Path], typer.Option(help="Clean customers.parquet behind the new audience (for drift)")] = None,
) -> None:
    """Who entered, who left, the overlap, and feature drift between the data versions."""
    # lazy: keeps --help fast
    import pandas as pd

    from lookalike.audience.compare import compare_audiences
    from lookalike.audience.store import load_audience
    from lookalike.features import FeatureSpec

    with friendly_errors():
        oc = pd.read_parquet(old_data) if old_data else None
        nc = pd.read_parquet(new_data) if new_data else None
        rep = compare_audiences(load_audience(old), load_audience(new), old_customers=oc, new_customers=nc,
                                columns=FeatureSpec.default().numeric + FeatureSpec.default().categorical)
        sys.stdout.write(json.dumps(rep.to_dict(), indent=2) + "\n")
        for w in rep.warnings:
            warn(w)
