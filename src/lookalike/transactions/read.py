"""Reading an order-line log (``.csv``, ``.csv.gz``, ``.tsv``, ``.parquet``, ``.xlsx``) with canonical names."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from lookalike.io import read_csv, read_customers
from lookalike.transactions.config import TransactionConfig

__all__ = ["read_transactions"]


def read_transactions(source: str | os.PathLike[str], *, config: TransactionConfig | None = None) -> pd.DataFrame:
    """Read an order-line log (``.csv``, ``.csv.gz``, ``.tsv``, ``.parquet``, ``.xlsx``) with canonical names.

    Text stays text (``customers_from_transactions`` parses it); ``df.attrs["read"]`` records how
    it was read and which columns were renamed. Every CSV, compressed or not, is read by
    :func:`lookalike.io.read_csv` (encoding and delimiter detected).
    """
    config = config or TransactionConfig.load()
    path = Path(source)
    if path.suffix.lower() != ".gz":
        return read_customers(path, columns=config.columns)
    df, meta = read_csv(path, compression="gzip", what="the order lines")
    df, renamed = config.columns.apply(df)
    df.attrs["read"] = {"source": str(path), "format": "csv.gz", **meta, "renamed_columns": renamed,
                        "rows": int(len(df))}
    return df
