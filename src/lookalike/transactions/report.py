"""The accounting of a log: what happened to every line, and the result of a build."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

__all__ = ["EXCLUSION_REASONS", "TransactionReport", "TransactionsResult"]

#: Why a line is not used, in the order the reasons are checked (each line counts for the first).
EXCLUSION_REASONS: tuple[str, ...] = (
    "bad_timestamp", "after_as_of", "missing_customer_id", "bad_quantity", "bad_price",
)


@dataclass
class TransactionReport:
    """What happened to every line of the log (``lines_read`` = used + every exclusion)."""

    source: str = ""
    as_of: str = ""
    lines_read: int = 0
    lines_used: int = 0
    bad_timestamp: int = 0
    after_as_of: int = 0
    missing_customer_id: int = 0
    bad_quantity: int = 0
    bad_price: int = 0
    purchase_lines: int = 0
    return_lines: int = 0
    cancelled_lines: int = 0
    cancelled_orders: int = 0
    zero_price_lines: int = 0
    duplicate_lines: int = 0
    non_product_lines: int = 0
    customers: int = 0
    customers_without_purchase: int = 0
    orders: int = 0
    categories_from: str = "none"
    uncategorised_lines: int = 0
    first_timestamp: str = ""
    last_timestamp: str = ""
    renamed_columns: dict[str, str] = field(default_factory=dict)

    @property
    def excluded(self) -> int:
        """Lines not used, all reasons together."""
        return sum(getattr(self, r) for r in EXCLUSION_REASONS)

    @property
    def balanced(self) -> bool:
        """True when every line read is either used or excluded for a counted reason."""
        return self.lines_read == self.lines_used + self.excluded

    def to_dict(self) -> dict:
        """Plain dict for JSON."""
        return {**asdict(self), "excluded": self.excluded, "balanced": self.balanced}

    def summary_lines(self) -> list[str]:
        """A few human lines for the CLI."""
        pct = (lambda n: f"{n / self.lines_read:.1%}") if self.lines_read else (lambda n: "-")
        out = [f"{self.lines_read:,} lines read from {self.source or 'the log'}, as of {self.as_of}: "
               f"{self.lines_used:,} used ({pct(self.lines_used)}), {self.excluded:,} excluded",
               ]
        for r in EXCLUSION_REASONS:
            n = getattr(self, r)
            if n:
                out.append(f"  excluded, {r.replace('_', ' ')}: {n:,} ({pct(n)})")
        out.append(f"  used: {self.purchase_lines:,} purchase lines, {self.return_lines:,} return lines "
                   f"({self.cancelled_lines:,} in {self.cancelled_orders:,} cancelled orders), "
                   f"{self.zero_price_lines:,} free (price 0), {self.non_product_lines:,} non-product (fees, postage), "
                   f"{self.duplicate_lines:,} exact repeats of an earlier line (kept)")
        out.append(f"  {self.customers:,} customers ({self.customers_without_purchase:,} with returns only), "
                   f"{self.orders:,} orders; categories from {self.categories_from}"
                   + (f" ({self.uncategorised_lines:,} purchase lines in the catch-all category)"
                      if self.categories_from == "description keywords" else ""))
        return out


@dataclass(frozen=True)
class TransactionsResult:
    """The customer table (contract columns + log-only columns) and the line accounting."""

    customers: pd.DataFrame
    report: TransactionReport
    categories: tuple[str, ...] = ()
