"""The transaction mapping: log column names, cancel prefixes, hour bands, non-product codes, categories.

Loaded from a TOML file (default: the packaged ``config/transactions.toml``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from lookalike.config import ColumnMapping, load_toml
from lookalike.errors import InputError

__all__ = ["TransactionConfig"]


@dataclass(frozen=True)
class TransactionConfig:
    """Column mapping, cancel prefixes, hour bands, non-product codes and category keywords."""

    columns: ColumnMapping
    cancel_prefixes: tuple[str, ...] = ("C",)
    hour_bands: tuple[tuple[str, int], ...] = (("night", 0), ("morning", 6), ("afternoon", 12), ("evening", 18))
    non_product_codes: frozenset[str] = frozenset()
    non_product_prefixes: tuple[str, ...] = ()
    fee_category: str = "Fees"
    category_keywords: tuple[tuple[str, tuple[str, ...]], ...] = ()
    other_category: str = "Other"

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> "TransactionConfig":
        """Load ``path`` or the packaged ``config/transactions.toml``."""
        data = load_toml(path, "transactions.toml", "transaction mapping")
        rules = data.get("rules", {})
        bands = rules.get("hour_bands", {"night": 0, "morning": 6, "afternoon": 12, "evening": 18})
        try:
            hour_bands = tuple(sorted(((str(k), int(v)) for k, v in bands.items()), key=lambda kv: kv[1]))
        except (TypeError, ValueError):
            raise InputError(f"transaction mapping {path or 'transactions.toml'}: hour_bands must map names to "
                             f"start hours 0-23, got {bands!r}") from None
        if not hour_bands or hour_bands[0][1] != 0 or any(not 0 <= h <= 23 for _, h in hour_bands):
            raise InputError(f"transaction mapping {path or 'transactions.toml'}: hour_bands must start at hour 0 "
                             f"and use hours 0-23, got {bands!r}")
        npd = data.get("non_product", {})
        cats = data.get("categories", {})
        return cls(
            columns=ColumnMapping(
                aliases={k: tuple(v) for k, v in data.get("columns", {}).items()},
                required=tuple(rules.get("required", ("customer_id", "order_id", "timestamp", "quantity",
                                                      "unit_price"))),
                any_of=(),
            ),
            cancel_prefixes=tuple(rules.get("cancel_prefixes", ("C",))),
            hour_bands=hour_bands,
            non_product_codes=frozenset(str(c).upper() for c in npd.get("codes", ())),
            non_product_prefixes=tuple(str(c).upper() for c in npd.get("code_prefixes", ())),
            fee_category=str(npd.get("category", "Fees")),
            category_keywords=tuple((str(k), tuple(v)) for k, v in cats.get("keywords", {}).items()),
            other_category=str(cats.get("other", "Other")),
        )
