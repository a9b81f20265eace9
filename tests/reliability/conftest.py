"""Shared pieces of the reliability suite: a small raw export and CLI helpers."""

from __future__ import annotations

import csv
import io

import pytest
from typer.testing import CliRunner

HEADER = ["customer_id", "age", "gender", "income", "tenure_months", "total_orders", "days_since_last_purchase_dirty",
          "pct_reordered_dirty", "avg_items_per_order", "region_dirty", "fav_category", "signup_channel",
          "signup_date_dirty", "total_spent_dirty", "vip_flag", "notes", "json_prefs"]
N_BASE = 40


def base_rows(n: int = N_BASE) -> list[dict[str, str]]:
    """``n`` plausible raw rows (text cells, as a CRM export has them), ids C0001..; every 8th a VIP."""
    regions = ["Norte", " sur ", "ESTE", "Oeste", "centro"]
    cats = ["Home", "Kids", "Sports", "Electronics"]
    return [
        {
            "customer_id": f"C{i:04d}", "age": str(20 + i % 50), "gender": "FM"[i % 2], "income": f"{20000 + 750 * i}",
            "tenure_months": str(1 + i % 100), "total_orders": str(2 + i % 30),
            "days_since_last_purchase_dirty": "never" if i % 17 == 0 else str(i * 7 % 365),
            "pct_reordered_dirty": f"{(i * 13) % 100}%", "avg_items_per_order": f"{1 + i % 9}.5",
            "region_dirty": regions[i % 5], "fav_category": cats[i % 4], "signup_channel": "Web",
            "signup_date_dirty": f"2022-{1 + i % 12:02d}-{1 + i % 28:02d}", "total_spent_dirty": f"${100 + 37.5 * i:,.2f}",
            "vip_flag": "1" if i % 8 == 0 else "0", "notes": "", "json_prefs": '{"promo": "email", "level": 2}',
        }
        for i in range(1, n + 1)
    ]


def csv_text(rows: list[dict], header: list[str] | None = None, sep: str = ",") -> str:
    """Rows as CSV text (quoted where needed) with ``header`` (default: the base header)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header or HEADER, delimiter=sep, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def error_lines(output: str) -> list[str]:
    """The lines of CLI output that carry an error message."""
    return [ln for ln in output.splitlines() if ln.startswith("error:")]


@pytest.fixture(scope="session")
def runner() -> CliRunner:
    return CliRunner()
