"""``lookalike generate | clean | fit | find | demo``: from a CRM export to lookalikes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from lookalike.cli.common import (
    OutputFormat,
    SheetOption,
    customers_for,
    done,
    err_console,
    finder_for,
    friendly_errors,
    imports_frozen,
    load_clean,
    parse_weights,
    print_frame,
    progress_bar,
    step,
)
from lookalike.errors import UnknownCustomerError


def generate(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write: .xlsx, .csv or .parquet")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of customers")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same file)")] = 1,
    contact: Annotated[bool, typer.Option(help="Add fake contact and consent columns")] = False,
    chunk_size: Annotated[int, typer.Option(min=1000, help="Rows generated per chunk")] = 100_000,
) -> None:
    """Write a synthetic, dirty CRM export with realistic customer segments and ~0.6% VIPs."""
    from lookalike.synth import write_synthetic  # lazy: keeps --help fast

    with friendly_errors():
        output.parent.mkdir(parents=True, exist_ok=True)
        progress, update = progress_bar(n, f"generate {output.name}")
        t0 = time.perf_counter()
        with progress:
            write_synthetic(output, n, seed, chunk_size=chunk_size, contact=contact, progress=update)
        done(f"wrote {n:,} customers to {output} ({time.perf_counter() - t0:.1f} s)")


def clean(
    raw: Annotated[Path, typer.Argument(help="Raw export: .xlsx, .csv or .parquet")],
    out_dir: Annotated[Path, typer.Option("-o", "--out", help="Directory for the clean table and reports")],
    columns: Annotated[Optional[Path], typer.Option(help="Column-name mapping TOML (default: the built-in one)")] = None,
    cache: Annotated[bool, typer.Option(help="Reuse the clean table of an unchanged file")] = True,
    sheet: SheetOption = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Export date (YYYY-MM-DD, default today): "
                                                 "signup dates after it are flagged, over a year after it refused")] = None,
) -> None:
    """Clean a raw export: writes customers.parquet, quarantine.csv and quality.{json,md,html}."""
    # lazy: keeps --help fast
    from lookalike.io import check_not_input
    from lookalike.report.outputs import CLEAN_OUTPUTS, write_clean_outputs

    with friendly_errors() as settings:
        check_not_input([out_dir, *(out_dir / n for n in CLEAN_OUTPUTS)], [raw, columns])
        result = load_clean(raw, settings, columns=columns, use_cache=cache, sheet=sheet, as_of=as_of)
        paths = write_clean_outputs(result, out_dir)
        print_quality(result.report.to_dict())
        done(f"wrote {', '.join(p.name for p in paths)} to {out_dir}")


def print_quality(report: dict) -> None:
    """The quality report's summary lines on stderr."""
    from lookalike.report.quality import quality_summary_lines  # lazy: keeps --help fast

    console = err_console()
    for line in quality_summary_lines(report):
        console.print(line, markup=False, highlight=False)


def fit(
    data: Annotated[Path, typer.Argument(help="Raw export or clean customers.parquet")],
    model_dir: Annotated[Path, typer.Option("-o", "--out", help="Model directory to write")],
    weight: Annotated[list[str], typer.Option("--weight", help="name=number; a feature or group (value, behaviour, ...)")] = [],  # noqa: B006
    index: Annotated[str, typer.Option(help="Index: auto (exact while one query takes under 1 ms on this machine, IVF beyond), exact, faiss-flat, sklearn, hnsw, ivf")] = "auto",
    columns: Annotated[Optional[Path], typer.Option(help="Column-name mapping TOML")] = None,
    sheet: SheetOption = None,
) -> None:
    """Clean (if needed), build features and the kNN index, and save a model directory."""
    # lazy: keeps --help fast
    from lookalike.finder import MODEL_FILES, LookalikeFinder
    from lookalike.io import check_not_input

    with friendly_errors() as settings:
        check_not_input([model_dir, *(model_dir / n for n in MODEL_FILES)], [data, columns])
        weights = parse_weights(weight)
        customers = customers_for(data, settings, columns=columns, sheet=sheet)
        with step(f"fit {len(customers):,} customers"):
            finder = LookalikeFinder(weights=weights or None, index=index).fit(customers)
        finder.save(model_dir)
        done(f"model with {finder.n_customers_:,} customers × {len(finder.feature_names_)} features "
             f"saved to {model_dir}")


def find(
    source: Annotated[Path, typer.Argument(help="Model directory, clean customers.parquet or raw export")],
    customer_id: Annotated[str, typer.Argument(help="The customer to find lookalikes of")],
    k: Annotated[int, typer.Option("-k", help="Number of lookalikes")] = 10,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table, csv or json")] = OutputFormat.table,
) -> None:
    """The k customers most similar to CUSTOMER_ID, nearest first."""
    from lookalike.sources import explain_unknown  # lazy: keeps --help fast

    with friendly_errors() as settings:
        finder = finder_for(source, settings)
        try:
            result = finder.find_lookalikes(customer_id, k=k)
        except UnknownCustomerError as exc:  # a quarantined row says why it is not there
            raise explain_unknown(exc, source, cache_dir=settings.cache_dir / "clean") from None
        print_frame(result, fmt, title=f"Lookalikes of {customer_id}")


def demo(
    out: Annotated[Path, typer.Option("--out", help="Directory for the demo outputs")] = Path("out"),
    data: Annotated[Optional[Path], typer.Option(help="Use this export instead of the built-in synthetic data")] = None,
    n: Annotated[int, typer.Option("--n", min=100, help="Synthetic customers when no --data")] = 100_000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data")] = 1,
    k: Annotated[int, typer.Option("-k", help="Lookalikes shown per VIP")] = 5,
    sheet: SheetOption = None,
) -> None:
    """Generate (or take) an export, clean it, fit, show VIP lookalikes, write out/ with reports and plots."""
    with imports_frozen() as imported:
        # lazy: keeps --help fast
        import numpy as np

        from lookalike.campaigns.simulate import demo_campaign
        from lookalike.cli.audiences import save_result
        from lookalike.finder import LookalikeFinder
        from lookalike.io import check_not_input, write_text
        from lookalike.report.campaigns import render_campaign_report
        from lookalike.report.outputs import CLEAN_OUTPUTS, write_clean_outputs
        from lookalike.report.plots import distributions, pca_map, save_figure
        from lookalike.synth import write_synthetic

        imported()
        with friendly_errors() as settings:
            t0 = time.perf_counter()
            console = err_console()
            check_not_input([out, *(out / n for n in (*CLEAN_OUTPUTS, "model", "audiences", "pca_vip.png",
                                                      "distributions.png"))], [data])
            if data is None:
                data = Path("data") / f"synthetic_{n}_seed{seed}.xlsx"
                if not data.exists():
                    data.parent.mkdir(parents=True, exist_ok=True)
                    progress, update = progress_bar(n, f"generate {data}")
                    with progress:
                        write_synthetic(data, n, seed, contact=True, progress=update)
                    done(f"generated {n:,} synthetic customers in {data}")
                else:
                    console.print(f"[dim]using the generated export {escape(str(data))} (delete it to regenerate)[/]")
            result = load_clean(data, settings, sheet=sheet)
            paths = write_clean_outputs(result, out)
            print_quality(result.report.to_dict())
            with step(f"fit {len(result.customers):,} customers"):
                finder = LookalikeFinder().fit(result.customers)
            finder.save(out / "model")
            customers = finder.customers_
            vip = (customers["vip_flag"].fillna(0).to_numpy() == 1) if "vip_flag" in customers \
                else np.zeros(len(customers), bool)
            with step("plots: PCA map with VIPs, distributions"):
                paths.append(save_figure(pca_map(finder.X_, vip), out / "pca_vip.png"))
                highlight = customers.get("vip_flag").eq(1) if "vip_flag" in customers else None
                paths.append(save_figure(distributions(customers, highlight=highlight), out / "distributions.png"))
            vip_ids = customers.loc[vip, "customer_id"].head(3).tolist() or customers["customer_id"].head(3).tolist()
            for cid in vip_ids:
                print_frame(finder.find_lookalikes(cid, k=k), OutputFormat.table, title=f"Lookalikes of VIP {cid}")
            if vip.sum() >= 2:
                with step("audience: the top 5% lookalikes of all VIPs"):
                    result = finder.build_audience("vip", "5%", exclude_vips=True)
                save_result(result, out / "audiences" / "vip-lookalikes.parquet", data, OutputFormat.table, 5,
                            customers=customers)
                paths.append(out / "audiences")
                with step("campaign: 10% holdout, simulated outcomes with a known uplift, report"):
                    db_path, results, summary = demo_campaign(result.audience, customers, out)
                    report = write_text(out / "campaign_report.html", render_campaign_report(
                        [results], title="Demo campaign: VIP lookalikes (simulated outcomes)"))
                console.print(summary, soft_wrap=True, markup=False)
                paths.extend([db_path, report])
            done(f"demo done in {time.perf_counter() - t0:.1f} s; outputs in {out}/: "
                 f"{', '.join(p.name for p in paths)}, model/")
