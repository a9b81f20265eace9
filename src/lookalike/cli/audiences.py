"""``lookalike expand | playbook list/run | export | audience compare``: audiences and their files."""

from __future__ import annotations

import functools
import inspect
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lookalike import _version
from lookalike.audience.options import CONTACT_OPTIONS, AudienceOptions, option_fields
from lookalike.cli.common import (
    DbOption,
    OutputFormat,
    SheetOption,
    Spinners,
    customers_for,
    done,
    err_console,
    finder_for,
    friendly_errors,
    open_store,
    option_pairs,
    print_frame,
    size_note,
    step,
    warn,
)
from lookalike.errors import UnknownCustomerError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lookalike.config.settings import Settings

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


@contextmanager
def quarantine_explained(data: Path, settings: Settings) -> Iterator[None]:
    """Unknown seed ids that were quarantined when ``data`` was cleaned are reported with the reason."""
    from lookalike.sources import explain_unknown  # lazy: keeps --help fast

    try:
        yield
    except UnknownCustomerError as exc:
        raise explain_unknown(exc, data, cache_dir=settings.cache_dir / "clean") from None


def save_result(result: AudienceResult, output: Path, source: Path, fmt: OutputFormat, top: int,
                customers: pd.DataFrame | None = None) -> None:
    """Save an audience with its sidecar files; print its warnings, a summary and the first rows.

    ``customers`` (the table it was built from) fingerprints the members in the manifest, so that
    ``export`` refuses other data."""
    # lazy: keeps --help fast
    from lookalike.audience.store import save_audience, sidecar
    from lookalike.report.plots import reach_plot, save_figure
    from lookalike.sources import fingerprint

    console = err_console()
    for w in result.warnings:
        warn(w)
    paths = save_audience(result, output, model_version=_version.__version__, data_fingerprint=fingerprint(source),
                          customers=customers)
    if len(result.reach):
        paths.append(save_figure(reach_plot(result.reach), sidecar(output, ".reach.png")))
    d = result.diagnostics
    console.print(f"seeds: {d.size:,} (tightness {d.tightness:.2f}); candidates {result.counts['candidates']:,}; "
                  f"audience {len(result.audience):,} customers, mean similarity {result.audience.similarity.mean():.3f}")
    shown = result.audience.head(top)[[c for c in ("customer_id", "rank", "similarity", "reason", "total_spent",
                                                   "fav_category", "region") if c in result.audience.columns]]
    print_frame(shown, fmt, title=f"Top {len(shown)} of {len(result.audience):,}")
    done(f"wrote {', '.join(p.name for p in paths)} to {output.parent}")


#: Parameters of ``lookalike expand`` that are not audience options: where the customers come from (and the
#: sheet of a workbook), where the audience goes, what is shown, the uplift model behind ``--objective``,
#: three filter shortcuts, how strictly the suppression list is checked, the campaign store the contact rules
#: read, and whether ``auto`` may validate on an earlier campaign's outcomes (read from that store).
CLI_ONLY = ("data", "output", "top", "fmt", "uplift_model", "region", "category", "channel", "strict", "sheet", "db",
            "learn_from_campaigns")
_SHORTCUTS = {"region": "region", "category": "fav_category", "channel": "promo_channel"}


def _expand(
    data: Annotated[Path, typer.Argument(help="Model directory, clean customers.parquet or raw export")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Audience file (.parquet or .csv); sidecar files go next to it")] = Path("audience.parquet"),
    top: Annotated[int, typer.Option(help="Rows to show")] = 10,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json (shown rows)")] = OutputFormat.table,
    uplift_model: Annotated[Optional[Path], typer.Option(help="Uplift model directory (lookalike uplift fit) for --objective uplift or blend")] = None,
    region: Annotated[list[str], typer.Option(help="Only these regions (repeatable; same as --filter region=...)")] = [],  # noqa: B006
    category: Annotated[list[str], typer.Option(help="Only these favourite categories (repeatable)")] = [],  # noqa: B006
    channel: Annotated[list[str], typer.Option(help="Only these promo channels (repeatable)")] = [],  # noqa: B006
    strict: Annotated[bool, typer.Option("--strict", help="Refuse a suppression list whose ids are mostly not customers (default: a warning)")] = False,
    sheet: SheetOption = None,
    db: DbOption = None,
    learn_from_campaigns: Annotated[bool, typer.Option(help="Validate auto on the outcomes of an earlier campaign from the same seeds, when the campaign store has one")] = True,
    **options: object,
) -> None:
    """Expand a seed set into a ranked, explained audience of an exact size."""
    # lazy: keeps --help fast
    from lookalike.audience.store import audience_files
    from lookalike.cli.uplift import uplift_scores
    from lookalike.io import check_not_input

    with friendly_errors() as settings:
        # the table itself even before it exists (it may be inside an input), its sidecars that exist
        check_not_input([output, *audience_files(output)],
                        [data, *(options.get(k) for k in ("seeds", "negative_seeds", "suppress", "include_ids")),
                         uplift_model])
        size_note(options.get("size"))
        values = cli_option_values(options)
        shortcuts = {_SHORTCUTS[k]: v for k, v in (("region", region), ("category", category), ("channel", channel)) if v}
        if shortcuts:
            values["filters"] = {**(values.get("filters") or {}), **shortcuts}
        opts = AudienceOptions(**values)
        finder = finder_for(data, settings, sheet=sheet)
        if opts.suppress is not None:
            id_list_note(list(opts.suppress), finder.ids_, f"suppression list {options['suppress']}", strict)
        uplift = uplift_scores(opts.objective, uplift_model, finder.customers_)
        contacts = contact_store(opts, db, settings)
        outcomes = earlier_outcomes(opts.seeds, db, settings) \
            if learn_from_campaigns and (opts.scorer or "auto") == "auto" else None
        with step("score and rank the audience"), quarantine_explained(data, settings):
            result = finder.build_audience(options=opts, uplift=uplift, contacts=contacts, campaign_outcomes=outcomes)
        v = result.params.get("validation")
        if v:
            err_console().print(f"why this method: {v['note']}", soft_wrap=True, markup=False)
        save_result(result, output, data, fmt, top, customers=finder.customers_)


def contact_store(options: object, db: str | None, settings: Settings) -> object:
    """The campaign store when ``options`` (an ``AudienceOptions`` or a dict) set a contact rule, else None
    (an expansion without contact rules never opens the database)."""
    get = options.get if isinstance(options, dict) else (lambda k: getattr(options, k, None))
    return open_store(db, settings) if any(get(k) is not None for k in CONTACT_OPTIONS) else None


def earlier_outcomes(seeds: object, db: str | None, settings: Settings) -> pd.DataFrame | None:
    """Outcomes of the newest campaign built from the same seeds, when a campaign store exists (else None)."""
    if not db and not settings.db_url and not (settings.home / "lookalike.db").is_file():
        return None  # no store: nothing to learn from (and nothing is created)
    # lazy: keeps --help fast (SQLAlchemy)
    from lookalike.audience.expand import seed_set_names
    from lookalike.campaigns.store import earlier_outcomes as newest_outcomes

    name, outcomes = newest_outcomes(open_store(db, settings), seed_set_names(seeds))
    if name is None:
        return None
    err_console().print(f"validating on the outcomes of campaign {name} ({int(outcomes.converted.sum()):,} responders "
                        f"of {len(outcomes):,} contacted)", soft_wrap=True, markup=False)
    return outcomes


def contact_help(name: str) -> str:
    """The help text of a contact option (commands that offer only these take it from the dataclass)."""
    return next(f.metadata["help"] for f in option_fields() if f.name == name)


def option_parameters(options: type | None = None) -> list[inspect.Parameter]:
    """The ``lookalike expand`` options of the audience options' fields: names, defaults and help texts
    come from :class:`lookalike.audience.options.AudienceOptions` (one place to add an option)."""

    params = []
    for f in option_fields("cli", options or AudienceOptions):
        kind, help, default = f.metadata["kind"], f.metadata["help"], f.default
        bounds = f.metadata.get("bounds") or (None, None)
        if kind == "flag":
            decls = (f.metadata["cli"],) if f.metadata.get("cli") else ()
            annotation, value = Annotated[bool, typer.Option(*decls, help=help)], bool(default)
        elif kind in ("int", "float"):
            annotation = Annotated[int if kind == "int" else float, typer.Option(min=bounds[0], max=bounds[1], help=help)]
            value = default
        elif kind == "ids":
            annotation = Annotated[Optional[Path], typer.Option(help=f"{help} (a file: one id a line, or a CSV with customer_id)")]
            value = None
        elif kind == "filters":
            annotation = Annotated[list[str], typer.Option("--filter", metavar="COLUMN=VALUE", help=f"{help} (repeatable)")]
            value = []
        else:  # seeds, size, choice, rule, text: one line of text
            annotation, value = Annotated[Optional[str], typer.Option(help=help)], default
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=value, annotation=annotation))
    return params


def cli_option_values(values: dict[str, object], options: type | None = None) -> dict[str, object]:
    """The command line's option values as the library takes them: seeds and rules parsed, id files read,
    ``--filter column=value`` pairs grouped by column."""
    from lookalike.audience.seeds import parse_rule, read_id_file  # lazy: keeps --help fast

    out: dict[str, object] = {}
    for f in option_fields("cli", options or AudienceOptions):
        value, kind = values.get(f.name, f.default), f.metadata["kind"]
        if kind == "seeds":
            value = seed_spec(value) if value else None
        elif kind == "ids":
            value = read_id_file(value) if value else None
        elif kind == "rule":
            value = parse_rule(value) if value else None
        elif kind == "filters":
            grouped: dict[str, list[str]] = {}
            for item in value or []:
                column, sep, allowed = str(item).partition("=")
                if not sep:
                    raise typer.BadParameter(f"--filter {item!r} must look like column=value, e.g. region=Norte")
                grouped.setdefault(column.strip(), []).append(allowed.strip())
            value = grouped or None
        out[f.name] = value
    return out


def _with_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with the audience options added to its signature (after its argument), for Typer."""
    fixed = list(inspect.signature(command, eval_str=True).parameters.values())
    positional = [p for p in fixed if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and p.default is p.empty]
    rest = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in fixed
            if p not in positional and p.kind is not inspect.Parameter.VAR_KEYWORD]

    @functools.wraps(command)
    def wrapper(*args: object, **kwargs: object) -> None:
        return command(*args, **kwargs)

    wrapper.__signature__ = inspect.Signature([*positional, *option_parameters(), *rest])  # type: ignore[attr-defined]
    wrapper.__name__ = wrapper.__qualname__ = command.__name__.lstrip("_")  # the command's name
    del wrapper.__wrapped__  # Typer reads the signature above, not the wrapped function's
    return wrapper


expand = _with_options(_expand)


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
    exclude_contacted_within: Annotated[Optional[str], typer.Option(help=f"{contact_help('exclude_contacted_within')} (overrides the playbook's)")] = None,
    max_contacts: Annotated[Optional[str], typer.Option(help=f"{contact_help('max_contacts')} (overrides the playbook's)")] = None,
    db: DbOption = None,
) -> None:
    """Run a playbook and save its audience."""
    # lazy: keeps --help fast
    from lookalike.audience.playbooks import load_playbook, run_playbook
    from lookalike.audience.store import audience_files
    from lookalike.io import check_not_input

    with friendly_errors() as settings:
        size_note(size)
        pb = load_playbook(name, option_pairs(param, "--param"))
        target = out_dir / f"{pb.name}.parquet"
        check_not_input([target, *audience_files(target)], [data, name])
        rules = {k: v for k, v in (("exclude_contacted_within", exclude_contacted_within),
                                   ("max_contacts", max_contacts)) if v is not None}
        contacts = contact_store({**pb.audience, **rules}, db, settings)
        finder = finder_for(data, settings)
        with step(f"playbook {pb.name}"):
            result = run_playbook(finder, pb, size=size, contacts=contacts, **rules)
        save_result(result, out_dir / f"{pb.name}.parquet", data, fmt, top, customers=finder.customers_)


def export(
    audience: Annotated[Path, typer.Argument(help="Audience file written by expand or playbook run")],
    data: Annotated[Path, typer.Argument(help="The customers it was built from (model dir, clean parquet or raw export): contact and consent columns come from here")],
    fmt: Annotated[str, typer.Option("--format", help="channels (email+sms+push), email, sms, push, meta or google")] = "channels",
    out_dir: Annotated[Path, typer.Option("-o", "--out", help="Directory for the export files")] = Path("out/exports"),
    name: Annotated[Optional[str], typer.Option(help="Name used in file names (default: the audience file's stem)")] = None,
    exclude: Annotated[Optional[Path], typer.Option(help="File of ids to leave out (holdout group, suppression)")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse an exclusion list whose ids are mostly not customers (default: a warning)")] = False,
    allow_other_data: Annotated[bool, typer.Option("--allow-other-data", help="Export even when DATA is not the data the audience was built from (a warning)")] = False,
    sheet: SheetOption = None,
    db: DbOption = None,
) -> None:
    """Write the files marketing tools take: one CSV per channel, or hashed ad-platform lists.

    The customers in channel files are recorded as contacted in the campaign store (--db), for the
    contact rules of later audiences."""
    # lazy: keeps --help fast
    from lookalike.audience.seeds import read_id_file
    from lookalike.audience.store import load_audience
    from lookalike.io import as_text

    with friendly_errors() as settings:
        excluded = read_id_file(exclude) if exclude else None
        aud = load_audience(audience)
        customers = customers_for(data, settings, sheet=sheet)
        check_data(audience, aud, customers, allow_other_data)
        if excluded is not None:
            id_list_note(excluded, as_text(customers["customer_id"]), f"exclusion list {exclude}", strict)
        write_exports(aud, customers, fmt, out_dir, name=name or audience.stem,
                      exclude_ids=excluded, inputs=[audience, data, exclude], engine=lambda: open_store(db, settings))


def check_data(path: Path, audience: pd.DataFrame, customers: pd.DataFrame, allow_other_data: bool) -> None:
    """Refuse (or with ``allow_other_data`` warn) when ``customers`` is not the data the audience at
    ``path`` was built from; warn about members missing from it."""
    # lazy: keeps --help fast
    from lookalike.audience.manifest import check_members
    from lookalike.audience.store import audience_manifest

    for w in check_members(audience_manifest(path), audience, customers, allow_other_data=allow_other_data,
                           where=str(path)):
        warn(w)


def id_list_note(ids: list[str], known: Iterable[str], what: str, strict: bool) -> None:
    """Say how many ids of a suppression or exclusion list are customers (``--strict``: refuse too few)."""
    # lazy: keeps --help fast
    import pandas as pd

    from lookalike.audience.seeds import check_id_list
    from lookalike.cleaning.ids import canonical_ids

    check_id_list(ids, known, what=what, strict=strict, known_canonical=True)  # the warning comes with the result
    wanted = canonical_ids(ids).unique()
    Spinners().note(f"{what}: {len(wanted):,} ids, {int(wanted.isin(pd.Index(known)).sum()):,} of them customers")


def write_exports(audience: pd.DataFrame, customers: pd.DataFrame, fmt: str, out_dir: Path, *, name: str,
                  engine: Callable[[], object] | object, campaign_id: int | None = None,
                  exclude_ids: Iterable[str] | None = None, left_out: str = "", soft_wrap: bool = False,
                  inputs: Iterable[Path | None] = ()) -> None:
    """Export an audience to each profile of ``fmt`` (``channels`` = email, sms and push) and report each
    (``left_out`` is appended to each file's counts); no file is written over one of ``inputs``. The
    customers of channel files are recorded as contacts (of ``campaign_id``) in the campaign store
    ``engine`` (an engine, or a function opening it: called only when a profile has a channel)."""
    # lazy: keeps --help fast
    from lookalike.campaigns.contacts import export_recorded
    from lookalike.export import load_export_profiles
    from lookalike.io import check_not_input

    console = err_console()
    shown: set[str] = set()  # a warning about the audience or its lists is printed once, not per profile
    profiles = ["email", "sms", "push"] if fmt == "channels" else [fmt]
    check_not_input([out_dir / "export_log.jsonl", *(out_dir / f"{name}_{p}.csv" for p in profiles)], inputs)
    table = load_export_profiles()
    if callable(engine):
        engine = engine() if any(getattr(table.get(p), "channel", None) for p in profiles) else None
    for profile in profiles:
        res = export_recorded(engine, audience, customers, profile, out_dir, name=name, campaign_id=campaign_id,
                              exclude_ids=exclude_ids)
        for w in res.warnings:
            if w not in shown:
                shown.add(w)
                warn(w)
        steps = " → ".join(f"{k} {v:,}" for k, v in res.counts.items())
        console.print(f"[green]✓[/] {escape(profile)}: {res.rows_written:,} rows in "
                      f"{escape(', '.join(p.name for p in res.paths) or 'no file')} [dim]({escape(steps + left_out)})[/]"
                      + (" [dim](recorded as contacted)[/]" if res.channel and res.rows_written else ""),
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
