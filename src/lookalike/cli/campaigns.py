"""``lookalike campaign …``: create, export, outcomes, cost, report, plan, list, hillstrom.

A thin layer over :mod:`lookalike.campaigns`; data on stdout, messages on stderr. The database is
``--db URL`` or ``LOOKALIKE_DB_URL`` or the SQLite file under ``LOOKALIKE_HOME`` (./.lookalike).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from lookalike.cli.audiences import check_data, contact_help, write_exports
from lookalike.cli.common import (
    DbOption,
    OutputFormat,
    ReportFormat,
    customers_for,
    done,
    err_console,
    friendly_errors,
    open_store,
    print_frame,
    warn,
)
from lookalike.errors import ParameterError

campaign_app = typer.Typer(help="Campaigns with holdout groups: create, export, import outcomes, measure uplift, plan.",
                           no_args_is_help=True)



@campaign_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Campaign name (unique)")],
    audience: Annotated[Path, typer.Argument(help="Audience file written by lookalike expand or playbook run")],
    holdout: Annotated[float, typer.Option("--holdout", help="Control share held out (0-1)")] = 0.1,
    stratify: Annotated[Optional[str], typer.Option(help="Hold out the same share in every value of this column")] = None,
    salt: Annotated[Optional[str], typer.Option(help="Assignment salt (default: a fresh random one)")] = None,
    data: Annotated[Optional[Path], typer.Option(help="Customers behind the audience (model dir, clean parquet or raw export), for --stratify and the balance check")] = None,
    label: Annotated[str, typer.Option(help="Audience label, e.g. lookalike or rules")] = "audience",
    channel: Annotated[Optional[str], typer.Option(help="Channel, e.g. email")] = None,
    cost: Annotated[Optional[float], typer.Option(help="Planned cost of the campaign")] = None,
    db: DbOption = None,
) -> None:
    """Create a campaign from an audience: store its version, assign treatment/control by hash, check balance."""
    # lazy: keeps --help fast
    from lookalike.audience.store import load_audience, sidecar
    from lookalike.campaigns.store import create_campaign
    from lookalike.export import load_manifest

    with friendly_errors() as settings:
        aud = load_audience(audience)
        man_path = sidecar(audience, ".manifest.json")
        manifest = load_manifest(man_path) if man_path.is_file() else {"rows": int(len(aud)), "note": "no manifest"}
        customers = customers_for(data, settings) if data is not None else None
        created = create_campaign(open_store(db, settings), name, aud, holdout_share=holdout, salt=salt, stratify=stratify,
                                  customers=customers, manifest=manifest, label=label, source=str(audience),
                                  channel=channel, cost=cost)
        c = created.campaign
        for w in created.warnings:
            warn(w)
        if len(created.balance):
            print_frame(created.balance.round(3), OutputFormat.table, title="Balance between arms (SMD)")
        done(f"campaign {c.name} (id {c.id}): {c.n_treatment:,} treatment, {c.n_control:,} control "
             f"(holdout {c.holdout_share:.0%}, sample-ratio p = {created.srm.p_value:.3g}); salt {c.salt}")


@campaign_app.command("export")
def export(
    campaign: Annotated[str, typer.Argument(help="Campaign name or id")],
    audience: Annotated[Path, typer.Argument(help="The audience file the campaign was created from")],
    data: Annotated[Path, typer.Argument(help="Customers (model dir, clean parquet or raw export): contact and consent columns")],
    fmt: Annotated[str, typer.Option("--format", help="channels (email+sms+push), email, sms, push, meta or google")] = "channels",
    out_dir: Annotated[Path, typer.Option("-o", "--out", help="Directory for the export files")] = Path("out/exports"),
    db: DbOption = None,
    allow_other_data: Annotated[bool, typer.Option("--allow-other-data", help="Export even when DATA is not the data the audience was built from (a warning)")] = False,
    exclude_contacted_within: Annotated[Optional[str], typer.Option(help=f"{contact_help('exclude_contacted_within')} (default: the audience's own rule)")] = None,
    max_contacts: Annotated[Optional[str], typer.Option(help=f"{contact_help('max_contacts')} (default: the audience's own rule)")] = None,
    allow_over_cap: Annotated[bool, typer.Option("--allow-over-cap", help="Export treated customers who break the contact rules anyway (a warning) instead of refusing")] = False,
) -> None:
    """Write the campaign's channel files with its control group left out; the treated customers are
    recorded as contacted, and the export is refused when some of them break the contact rules."""
    # lazy: keeps --help fast
    from lookalike.audience.store import load_audience
    from lookalike.campaigns.contacts import check_campaign_export

    with friendly_errors() as settings:
        engine = open_store(db, settings)
        aud = load_audience(audience)
        plan = check_campaign_export(engine, campaign, aud, exclude_contacted_within=exclude_contacted_within,
                                     max_contacts=max_contacts, allow_over_cap=allow_over_cap, where=str(audience))
        for w in plan.warnings:
            warn(w)
        customers = customers_for(data, settings)
        check_data(audience, aud, customers, allow_other_data)
        write_exports(aud, customers, fmt, out_dir, name=plan.campaign.name, exclude_ids=plan.exclude_ids,
                      left_out=f"; {len(plan.exclude_ids):,} control customers left out", soft_wrap=True,
                      inputs=[audience, data], engine=engine, campaign_id=plan.campaign.id)


@campaign_app.command("outcomes")
def outcomes(
    campaign: Annotated[str, typer.Argument(help="Campaign name or id")],
    source: Annotated[str, typer.Argument(help="CSV/parquet with customer_id, sends, opens, clicks, conversions, revenue; or a database URL")],
    query: Annotated[Optional[str], typer.Option(help="SQL query or table name when SOURCE is a database URL")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace the campaign's previous outcomes")] = False,
    db: DbOption = None,
) -> None:
    """Import per-customer outcomes in one transaction (any bad row: nothing is written)."""
    from lookalike.campaigns.store import import_outcomes, read_outcomes  # lazy: keeps --help fast

    with friendly_errors() as settings:
        df = read_outcomes(source, query)
        res = import_outcomes(open_store(db, settings), campaign, df, replace=replace,
                              where=Path(source).name if "://" not in source else "outcomes")
        totals = ", ".join(f"{k} {v:,.0f}" for k, v in res.totals.items())
        done(f"{res.rows:,} outcome rows imported into {res.campaign} ({totals}); "
             f"{res.customers_without_outcome:,} assigned customers without a row count as zero"
             + (f"; {res.replaced:,} previous rows replaced" if res.replaced else ""))


@campaign_app.command("cost")
def cost(
    campaign: Annotated[str, typer.Argument(help="Campaign name or id")],
    amount: Annotated[float, typer.Argument(help="Cost amount (e.g. sends × price)")],
    currency: Annotated[Optional[str], typer.Option(help="Currency code, e.g. EUR")] = None,
    description: Annotated[Optional[str], typer.Option(help="What the cost is for")] = None,
    db: DbOption = None,
) -> None:
    """Record a cost of the campaign (used for cost per conversion and incremental ROI)."""
    from lookalike.campaigns.store import add_cost  # lazy: keeps --help fast

    with friendly_errors() as settings:
        total = add_cost(open_store(db, settings), campaign, amount, currency=currency, description=description)
        done(f"cost recorded; total cost of {campaign}: {total:,.2f}")


@campaign_app.command("report")
def report(
    campaign: Annotated[str, typer.Argument(help="Campaign name or id")],
    compare: Annotated[Optional[str], typer.Option("--compare", help="Another campaign (e.g. the rule-based list) to compare with")] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="table or json")] = ReportFormat.table,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Also write a self-contained HTML report here")] = None,
    alpha: Annotated[float, typer.Option(help="1 - confidence level of the intervals")] = 0.05,
    db: DbOption = None,
) -> None:
    """Per-arm rates, uplift with confidence intervals, incremental revenue and ROI, and a plain verdict."""
    # lazy: keeps --help fast
    from lookalike.campaigns.report import campaign_results, compare_results
    from lookalike.io import write_text
    from lookalike.report.campaigns import render_campaign_report

    with friendly_errors() as settings:
        engine = open_store(db, settings)
        results = [campaign_results(engine, campaign, alpha=alpha)]
        if compare:
            results.append(campaign_results(engine, compare, alpha=alpha))
        comparison = compare_results(*results) if compare else None
        if fmt is ReportFormat.json:
            doc = {"campaigns": [r.to_dict() for r in results]}
            if comparison is not None:
                doc["comparison"] = comparison.to_dict()
            sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        else:
            out = Console(soft_wrap=True)
            for r in results:
                arms = r.arms.reset_index()[["arm", "customers", "open_rate", "click_rate", "conversion_rate",
                                             "revenue_per_customer", "revenue"]]
                print_frame(arms, OutputFormat.table, title=f"{r.name}: arms")
                print_frame(r.uplift_table(), OutputFormat.table,
                            title=f"{r.name}: uplift (treatment − control, {1 - r.alpha:.0%} CI)")
                print_frame(r.value_table(), OutputFormat.table, title=f"{r.name}: incremental value")
                for w in r.warnings:
                    warn(w)
                out.print(r.verdict, markup=False)
            if comparison is not None:
                print_frame(comparison.table, OutputFormat.table, title="Comparison")
                out.print(comparison.reading, markup=False)
        if output is not None:
            write_text(output, render_campaign_report(results, comparison, title=f"Campaign report: {campaign}"))
            done(f"wrote {output}")


@campaign_app.command("plan")
def plan(
    base_rate: Annotated[float, typer.Option("--base-rate", help="Expected conversion rate without the campaign (0-1)")],
    mde: Annotated[Optional[float], typer.Option("--mde", help="Uplift to detect, absolute (0.005 = +0.5 pp)")] = None,
    relative: Annotated[bool, typer.Option("--relative", help="Read --mde as relative (0.1 = +10%)")] = False,
    audience_size: Annotated[Optional[int], typer.Option("--audience-size", help="Instead of --mde: the audience size; prints the detectable effect")] = None,
    holdout: Annotated[float, typer.Option("--holdout", help="Control share")] = 0.1,
    alpha: Annotated[float, typer.Option(help="Significance level (two-sided)")] = 0.05,
    power: Annotated[float, typer.Option(help="Power")] = 0.8,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="table or json")] = ReportFormat.table,
) -> None:
    """Sample size for an uplift (--mde), or the minimum detectable uplift of an audience (--audience-size)."""
    # lazy: keeps --help fast
    import pandas as pd

    from lookalike.campaigns.plan import minimum_detectable_effect, sample_size

    with friendly_errors():
        if (mde is None) == (audience_size is None):
            raise ParameterError("give exactly one of --mde (to get a sample size) or --audience-size (to get the "
                                 "minimum detectable effect)")
        p = (sample_size(base_rate, mde, holdout_share=holdout, alpha=alpha, power=power, relative=relative)
             if mde is not None else
             minimum_detectable_effect(base_rate, audience_size, holdout_share=holdout, alpha=alpha, power=power))
        if fmt is ReportFormat.json:
            sys.stdout.write(json.dumps(p.to_dict(), indent=2) + "\n")
            return
        d = p.to_dict()
        print_frame(pd.DataFrame({"quantity": list(d), "value": [str(v) for v in d.values()]}),
                    OutputFormat.table, title="Campaign plan")
        err_console().print(
            f"To detect +{p.mde * 100:.2f} pp on a base rate of {p.base_rate:.2%} ({p.relative_mde:+.0%} relative) "
            f"with {p.power:.0%} power at alpha {p.alpha}: {p.n_treatment:,} treated + {p.n_control:,} control = "
            f"{p.n_total:,} customers. Decide the end date now and read the result once: peeking inflates false "
            "positives.", soft_wrap=True)


@campaign_app.command("list")
def list_cmd(
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    db: DbOption = None,
) -> None:
    """The campaigns in the database with arm sizes, outcome rows and cost."""
    from lookalike.campaigns.store import list_campaigns  # lazy: keeps --help fast

    with friendly_errors() as settings:
        df = list_campaigns(open_store(db, settings))
        df["created_at"] = df["created_at"].astype(str)
        print_frame(df, OutputFormat(fmt), title="Campaigns")


@campaign_app.command("hillstrom")
def hillstrom(
    path: Annotated[Optional[Path], typer.Argument(help="hillstrom.csv (default: datasets/real/hillstrom/hillstrom.csv)")] = None,
    prefix: Annotated[str, typer.Option(help="Campaign name prefix")] = "hillstrom",
    db: DbOption = None,
) -> None:
    """Load the Hillstrom e-mail experiment as two campaigns (men's / women's e-mail vs no e-mail)."""
    from lookalike.campaigns.hillstrom import load_hillstrom_campaigns  # lazy: keeps --help fast

    with friendly_errors() as settings:
        ids = load_hillstrom_campaigns(open_store(db, settings), path, prefix=prefix)
        done(f"loaded {', '.join(f'{prefix}-{k} (id {v})' for k, v in ids.items())}; "
             f"run lookalike campaign report {prefix}-womens --compare {prefix}-mens")
