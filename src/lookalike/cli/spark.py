"""``lookalike spark-expand``: expand a seed set over a clean customer table with Spark."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from lookalike.audience.options import parse_cap, parse_duration
from lookalike.cli.audiences import contact_help
from lookalike.cli.common import DbOption, done, err_console, friendly_errors, open_store, size_note
from lookalike.errors import InputError, ParameterError


@contextmanager
def _spark_input_errors(data: str) -> Iterator[None]:
    """Spark's refusal of a file it cannot read, as an input error that names the file and the fix."""
    try:
        yield
    except Exception as exc:  # pyspark's AnalysisException: pyspark is an optional dependency
        text = str(exc)
        if "PARQUET_TYPE_ILLEGAL" in text and "NANOS" in text:
            raise InputError(f"Spark cannot read {data}: it holds nanosecond timestamps, which Spark does not "
                             "read; write it again with lookalike clean (microseconds), or from pandas with "
                             "to_parquet(..., coerce_timestamps='us', allow_truncated_timestamps=True)") from None
        raise


def spark_expand_cmd(
    data: Annotated[str, typer.Argument(help="Clean customer table: parquet file or directory (lookalike clean output), local or on a cluster file system; with --raw a raw export (CSV or parquet)")],
    output: Annotated[str, typer.Option("--output", "-o", help="Audience parquet directory to write")],
    seeds: Annotated[str, typer.Option(help="'vip' or a file of customer ids (one a line)")] = "vip",
    size: Annotated[str, typer.Option(help="Audience size: a count, a share (0.05) or '5%'")] = "5%",
    model: Annotated[Optional[Path], typer.Option(help="Fitted model directory whose feature pipeline to use (lookalike fit); default: fit on a sample")] = None,
    k: Annotated[int, typer.Option("-k", help="Nearest seeds averaged per customer")] = 10,
    index: Annotated[str, typer.Option(help="Seed index: auto, exact, hnsw, ivf")] = "auto",
    sample_rows: Annotated[int, typer.Option(help="Rows sampled to fit the feature pipeline (without --model)")] = 200_000,
    include_opted_out: Annotated[bool, typer.Option(help="Keep customers whose promo_channel is none")] = False,
    master: Annotated[Optional[str], typer.Option(help="Spark master for a local run, e.g. local[4]; under spark-submit the submit's master is used")] = None,
    raw: Annotated[bool, typer.Option("--raw", help="DATA is a raw export (CSV with a header, or parquet): clean it in Spark first")] = False,
    quarantine: Annotated[Optional[str], typer.Option(help="With --raw: parquet directory for the quarantined rows")] = None,
    exclude_contacted_within: Annotated[Optional[str], typer.Option(help=contact_help("exclude_contacted_within"))] = None,
    max_contacts: Annotated[Optional[str], typer.Option(help=contact_help("max_contacts"))] = None,
    db: DbOption = None,
) -> None:
    """Expand seeds into the nearest customers of a large table with Apache Spark (broadcast seed index, mapInPandas)."""
    from lookalike.distributed import local_session, require_pyspark, spark_expand  # lazy: keeps --help fast

    from lookalike.io import check_not_input  # lazy: keeps --help fast

    with friendly_errors() as settings, _spark_input_errors(data):
        size_note(size)
        if exclude_contacted_within is not None:  # a bad rule is refused before Spark starts
            parse_duration(exclude_contacted_within)
        if max_contacts is not None:
            parse_cap(max_contacts)
        # Spark replaces the output directory whole: it must not be, hold or sit inside an input
        check_not_input([output, quarantine], [data, model, seeds if seeds.lower() not in ("vip", "vips") else None],
                        replaced=True)
        require_pyspark()
        from pyspark.sql import SparkSession  # optional dependency (lookalike[spark]), checked just above

        if os.environ.get("PYSPARK_GATEWAY_PORT") and master is None:  # started by spark-submit
            spark = SparkSession.builder.appName("lookalike spark-expand").getOrCreate()
        else:
            spark = local_session(master or "local[2]", app_name="lookalike spark-expand")
        finder = None
        if model is not None:
            from lookalike.finder import LookalikeFinder  # lazy: keeps --help fast

            finder = LookalikeFinder.load(model)
        cleaning = None
        if raw:
            from lookalike.distributed.clean import spark_clean  # optional: pyspark (lookalike[spark])

            is_csv = data.lower().rstrip("/").endswith((".csv", ".csv.gz", ".txt")) or (
                Path(data).is_dir() and any(Path(data).glob("*.csv*")))
            # every column as text, as the single-machine reader gives the cleaner; RFC 4180 quoting
            # (a quote inside a quoted cell is doubled, as pandas and spreadsheets write it; Spark's
            # default escape is a backslash, which would split a JSON preferences cell)
            source = (spark.read.csv(data, header=True, inferSchema=False, escape='"', multiLine=True)
                      if is_csv else spark.read.parquet(data))
            err_console().print(f"cleaning {data} in Spark …", markup=False)
            cleaned = spark_clean(source)
            cleaning = {**cleaned.counts, "quarantine_reasons": cleaned.quarantine_reasons}
            for label, count in cleaned.counts.items():
                err_console().print(f"  {label.replace('_', ' ')}: {count:,}")
            if quarantine is not None:
                cleaned.quarantine.write.mode("overwrite").parquet(quarantine)
            customers = cleaned.customers
        elif quarantine is not None:
            raise ParameterError("--quarantine needs --raw (a clean table has no quarantine)")
        else:
            customers = spark.read.parquet(data)
        ruled = exclude_contacted_within is not None or max_contacts is not None
        err_console().print(f"scoring {data} in {customers.rdd.getNumPartitions()} partitions …", markup=False)
        _, info = spark_expand(customers, seeds, size, output, finder=finder, k=k,
                               index=None if index == "auto" else index,
                               exclude_opted_out=not include_opted_out, sample_rows=sample_rows,
                               exclude_contacted_within=exclude_contacted_within, max_contacts=max_contacts,
                               contacts=open_store(db, settings) if ruled else None)
        if raw:
            cleaned.unpersist()
        manifest = {"data": data, "seeds": seeds, "counts": info.counts, "params": info.params,
                    "seed_index": info.index_report}
        if cleaning is not None:
            manifest["cleaning"] = cleaning
        if "://" not in output:  # a local directory: the manifest sits next to the part files
            from lookalike.io import write_text  # lazy: keeps --help fast

            write_text(Path(output) / "_lookalike.json", json.dumps(manifest, indent=2, default=str))
        for label, count in info.counts.items():
            err_console().print(f"  {label}: {count:,}")
        done(f"wrote {info.counts['audience']:,} customers to {output}")
