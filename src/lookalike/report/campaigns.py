"""Campaign results for people: a view (one-line reading, uplift chart, tables) of a
:class:`lookalike.campaigns.report.CampaignResults`, in Spanish or English.

The reading is generated here from the conversion uplift and its interval, so it exists in both
languages; the campaigns package's own (English) verdict is shown in full next to it in English.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

#: Columns of the per-arm table shown, in order.
ARM_COLUMNS = ("customers", "converters", "conversion_rate", "revenue", "revenue_per_customer")


def _cell(v: object, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if pct and isinstance(v, (int, float)):
        return f"{v * 100:.2f}%"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _table(df: pd.DataFrame, title: str, pct_cols: tuple[str, ...] = (), pct_rows: pd.Series | None = None) -> dict:
    """Cells as text; ``pct_cols`` are shares (shown as %), only on rows where ``pct_rows`` is True."""
    mask = [True] * len(df) if pct_rows is None else list(pct_rows)
    rows = [[_cell(v, c in pct_cols and is_pct) for c, v in zip(df.columns, row)]
            for row, is_pct in zip(df.itertuples(index=False, name=None), mask)]
    return {"title": title, "columns": [str(c).replace("_", " ") for c in df.columns], "rows": rows}


def campaign_reading(results, t: Callable[..., str]) -> str:
    """One sentence on the conversion uplift: up, down, or not distinguishable from zero."""
    c = results.uplifts.get("conversion_rate")
    if c is None:
        return ""
    key = "read_campaign_up" if c.diff_low > 0 else "read_campaign_down" if c.diff_high < 0 else "read_campaign_none"
    pp = lambda x: f"{x * 100:+.2f}"  # noqa: E731
    return t(key, name=results.name, diff=pp(c.diff), low=pp(c.diff_low), high=pp(c.diff_high),
             conf=f"{1 - results.alpha:.0%}")


def campaign_view(results, t: Callable[..., str], lang: str = "en") -> dict:
    """``{"name", "reading", "verdict", "chart" (inline SVG), "tables"}`` of one campaign's results."""
    from lookalike.campaigns.report import uplift_figure
    from lookalike.report.plots import figure_to_svg

    arms = results.arms.reset_index().rename(columns={"index": "arm"})
    arms = arms[[c for c in ("arm", *ARM_COLUMNS) if c in arms.columns]]
    uplift = results.uplift_table()
    rates = ~uplift["metric"].str.contains("revenue")  # rates are shares; revenue per customer is money
    tables = [_table(uplift, t("results"), ("treatment", "control", "uplift", "ci_low", "ci_high"), rates),
              _table(arms, t("campaign_arms"), ("conversion_rate",)),
              _table(results.value_table(), t("campaign_value"))]
    return {"name": results.name, "reading": campaign_reading(results, t),
            "verdict": results.verdict if lang == "en" else "",
            "chart": figure_to_svg(uplift_figure([results])), "tables": tables}
