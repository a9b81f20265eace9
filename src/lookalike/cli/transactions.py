"""``lookalike customers-from-transactions``: order lines in, the clean customer table out.

The output parquet is a clean customer table (contract section 2), so ``fit``, ``find``,
``expand``, ``evaluate`` and ``export`` read it as is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from lookalike.cli.common import done, err_console, friendly_errors, step


def customers_from_transactions_cmd(
    log: Annotated[Path, typer.Argument(help="Order lines: .csv, .csv.gz, .tsv, .parquet or .xlsx")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Customer table to write (.parquet or .csv)")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Use only lines up to this date (YYYY-MM-DD, "
                                                 "whole day) or time; default: the last line of the log")] = None,
    mapping: Annotated[Optional[Path], typer.Option(help="Transaction mapping TOML: column names, cancel "
                                                    "prefixes, non-product codes, category keywords "
                                                    "(default: the built-in one)")] = None,
    report: Annotated[Optional[Path], typer.Option(help="Also write the line accounting as JSON here")] = None,
) -> None:
    """Build the clean customer table from order lines, as of a date (returns and cancellations netted, counted)."""
    # lazy: keeps --help fast
    from lookalike.io import check_not_input, write_table, write_text
    from lookalike.transactions import TransactionConfig, customers_from_transactions, read_transactions

    with friendly_errors():
        check_not_input([output, report], [log, mapping])
        config = TransactionConfig.load(mapping)
        with step(f"read {log.name}"):
            lines = read_transactions(log, config=config)
        with step(f"build customers from {len(lines):,} lines"):
            result = customers_from_transactions(lines, as_of=as_of, config=config)
        console = err_console()
        for line in result.report.summary_lines():
            console.print(line, markup=False, highlight=False)
        paths = [write_table(result.customers, output)]
        if report is not None:
            paths.append(write_text(report, json.dumps(result.report.to_dict(), indent=2, default=str)))
        done(f"wrote {len(result.customers):,} customers to {', '.join(str(p) for p in paths)}")
