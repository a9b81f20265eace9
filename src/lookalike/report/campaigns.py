"""Campaign results for people: the one rendering of :class:`lookalike.campaigns.report.CampaignResults`.

:func:`campaign_view` turns results into what a page shows (a reading in Spanish or English, the
English verdict, warnings, the uplift chart, tables, the sample-ratio note); the block
``_campaign.html.j2`` lays a view out, and the three faces include it: the UI's campaign page,
the full report (``lookalike report --campaigns``) and the campaign report written by
``lookalike campaign report -o`` (:func:`render_campaign_report`, also the demo's).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pandas as pd

from lookalike._version import __version__
from lookalike.i18n import format_number, translator
from lookalike.report.templating import environment, static_text

if TYPE_CHECKING:
    from lookalike.campaigns.report import CampaignResults, Comparison

__all__ = ["ARM_COLUMNS", "campaign_reading", "campaign_view", "comparison_view", "render_campaign_report"]

#: Columns of the per-arm table shown, in order (those the results have).
ARM_COLUMNS = ("customers", "converters", "open_rate", "click_rate", "conversion_rate", "revenue",
               "revenue_per_customer")
_ARM_SHARES = ("open_rate", "click_rate", "conversion_rate")


def _cell(v: object, pct: bool = False) -> str:
    """A table cell: shares as percentages with two decimals, money and counts grouped (as the CLI's tables)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if pct and isinstance(v, (int, float)):
        return format_number(v * 100, "en", 2) + "%"
    if isinstance(v, float):
        return format_number(v, "en", 2) if abs(v) >= 1 else f"{v:.4g}"
    if isinstance(v, int):
        return format_number(v, "en")
    return str(v)


def _table(df: pd.DataFrame, title: str, pct_cols: tuple[str, ...] = (), pct_rows: pd.Series | None = None) -> dict:
    """Cells as text; ``pct_cols`` are shares (shown as %), only on rows where ``pct_rows`` is True."""
    mask = [True] * len(df) if pct_rows is None else list(pct_rows)
    rows = [[_cell(v, c in pct_cols and is_pct) for c, v in zip(df.columns, row)]
            for row, is_pct in zip(df.itertuples(index=False, name=None), mask)]
    return {"title": title, "columns": [str(c).replace("_", " ") for c in df.columns], "rows": rows}


def campaign_reading(results: CampaignResults, t: Callable[..., str]) -> str:
    """One sentence on the conversion uplift: up, down, or not distinguishable from zero."""
    c = results.uplifts.get("conversion_rate")
    if c is None:
        return ""
    key = "read_campaign_up" if c.diff_low > 0 else "read_campaign_down" if c.diff_high < 0 else "read_campaign_none"
    pp = lambda x: f"{x * 100:+.2f}"  # noqa: E731
    return t(key, name=results.name, diff=pp(c.diff), low=pp(c.diff_low), high=pp(c.diff_high),
             conf=f"{1 - results.alpha:.0%}")


def campaign_view(results: CampaignResults, t: Callable[..., str], lang: str = "en") -> dict:
    """What a page shows of one campaign: ``name``, ``reading``, ``verdict`` (English only: it is the
    campaigns package's own sentence), ``warnings``, ``chart`` (inline SVG), ``tables``, ``note``."""
    from lookalike.report.plots import figure_to_svg, uplift_plot  # lazy: matplotlib on the first chart

    arms = results.arms.reset_index().rename(columns={"index": "arm"})
    arms = arms[[c for c in ("arm", *ARM_COLUMNS) if c in arms.columns]]
    uplift = results.uplift_table()
    rates = ~uplift["metric"].str.contains("revenue")  # rates are shares; revenue per customer is money
    tables = [_table(uplift, t("results"), ("treatment", "control", "uplift", "ci_low", "ci_high"), rates),
              _table(arms, t("campaign_arms"), _ARM_SHARES),
              _table(results.value_table(), t("campaign_value"))]
    note = t("campaign_note", treated=format_number(results.srm.n_treatment, lang),
             control=format_number(results.srm.n_control, lang), p=f"{results.srm.p_value:.3g}",
             missing=format_number(results.customers_without_outcome, lang))
    return {"name": results.name, "reading": campaign_reading(results, t),
            "verdict": results.verdict if lang == "en" else "", "warnings": [str(w) for w in results.warnings],
            "chart": figure_to_svg(uplift_plot([results])), "tables": tables, "note": note}


def comparison_view(comparison: Comparison, results: Sequence[CampaignResults], t: Callable[..., str],
                    lang: str = "en") -> dict:
    """Two campaigns side by side: the reading (English), the table and both uplifts on one chart."""
    from lookalike.report.plots import figure_to_svg, uplift_plot  # lazy: matplotlib on the first chart

    shares = tuple(c for c in comparison.table.columns if c.startswith("conversion_"))
    return {"reading": comparison.reading if lang == "en" else "",
            "table": _table(comparison.table, t("campaign_comparison"), shares),
            "chart": figure_to_svg(uplift_plot(results))}


def render_campaign_report(results: Sequence[CampaignResults], comparison: Comparison | None = None, *,
                           title: str = "Campaign report", lang: str = "en") -> str:
    """A self-contained HTML page (inline CSS and SVG, no scripts, no external URL) of one or more campaigns."""
    t = translator(lang)
    views = [campaign_view(r, t, lang) for r in results]
    cmp = comparison_view(comparison, results, t, lang) if comparison is not None else None
    return environment().get_template("campaign_report.html.j2").render(
        t=t, lang=lang, title=title, campaigns=views, comparison=cmp, css=static_text("app.css"),
        version=__version__, generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
