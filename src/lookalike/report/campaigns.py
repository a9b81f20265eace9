"""Campaign results for people: the one rendering of :class:`lookalike.campaigns.report.CampaignResults`.

:func:`campaign_view` turns results into what a page shows, entirely in the reader's language: the
reading, the full verdict (:func:`lookalike.campaigns.report.verdict_text`, cost caveat included),
the warnings, the uplift chart, the tables (metrics, arms, measures translated; shares as
percentages, money with its currency, differences in percentage points, intervals "from … to …",
p-values to three decimals) and the sample-ratio note. The block ``_campaign.html.j2`` lays a view
out, and the three faces include it: the UI's campaign page, the full report (``lookalike report
--campaigns``) and the campaign report written by ``lookalike campaign report -o``
(:func:`render_campaign_report`, also the demo's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from lookalike._version import __version__
from lookalike.campaigns.report import verdict_text
from lookalike.i18n import (
    MISSING,
    format_interval,
    format_money,
    format_number,
    format_percent,
    format_points,
    format_pvalue,
    p_clause,
    term,
    translator,
    warning_text,
)
from lookalike.report.templating import environment, static_text

if TYPE_CHECKING:
    from lookalike.campaigns.report import CampaignResults, Comparison

__all__ = ["ARM_COLUMNS", "campaign_reading", "campaign_view", "comparison_view", "render_campaign_report"]

#: Columns of the per-arm table shown, in order (those the results have).
ARM_COLUMNS = ("customers", "converters", "open_rate", "click_rate", "conversion_rate", "revenue",
               "revenue_per_customer")
_ARM_SHARES = ("open_rate", "click_rate", "conversion_rate")
_ARM_MONEY = ("revenue", "revenue_per_customer")


class _Cells:
    """Numbers of one campaign table in the reader's format."""

    def __init__(self, lang: str, currency: str | None):
        self.lang, self.currency = lang, currency

    def share(self, x: object) -> str:
        return format_percent(x, self.lang, 2)

    def money(self, x: object) -> str:
        return format_money(x, self.lang, self.currency)

    def count(self, x: object) -> str:
        return format_number(x, self.lang)

    def points(self, x: object) -> str:
        return format_points(x, self.lang)

    def interval(self, low: object, high: object, fmt: Callable[[object], str]) -> str:
        return format_interval(low, high, fmt, self.lang)


def campaign_reading(results: CampaignResults, t: Callable[..., str], lang: str = "en") -> str:
    """One sentence on the conversion uplift: up, down, or not distinguishable from zero."""
    c = results.uplifts.get("conversion_rate")
    if c is None:
        return ""
    key = "read_campaign_up" if c.diff_low > 0 else "read_campaign_down" if c.diff_high < 0 else "read_campaign_none"
    pp = lambda x: ("+" if x > 0 else "") + format_number(x * 100, lang, 2)  # noqa: E731
    return t(key, name=results.name, diff=pp(c.diff), low=pp(c.diff_low), high=pp(c.diff_high),
             conf=format_percent(1 - results.alpha, lang, 0))


def _uplift_table(results: CampaignResults, t: Callable[..., str], cells: _Cells) -> dict:
    rows = []
    for key, u in results.uplifts.items():
        money = "revenue" in key  # revenue per customer is money; the others are shares of customers
        value = cells.money if money else cells.share
        diff = cells.money if money else cells.points
        rows.append([term(cells.lang, "metric", key), value(u.treatment), value(u.control), diff(u.diff),
                     cells.interval(u.diff_low, u.diff_high, diff),
                     format_percent(u.relative, cells.lang, 1) if u.relative is not None else MISSING,
                     format_pvalue(u.p_value, cells.lang)])
    columns = [t("col_metric"), t("col_treatment"), t("col_control"), t("col_uplift"),
               t("col_interval", conf=format_percent(1 - results.alpha, cells.lang, 0)), t("col_relative"),
               t("col_p_value")]
    return {"title": t("results"), "columns": columns, "rows": rows, "numeric": [False] + [True] * 6}


def _arms_table(results: CampaignResults, t: Callable[..., str], cells: _Cells) -> dict:
    arms = results.arms
    cols = [c for c in ARM_COLUMNS if c in arms.columns]
    rows = []
    for arm, row in arms.iterrows():  # two arms
        out = [term(cells.lang, "arm", arm)]
        for c in cols:
            v = row[c]
            out.append(cells.share(v) if c in _ARM_SHARES else cells.money(v) if c in _ARM_MONEY else cells.count(v))
        rows.append(out)
    return {"title": t("campaign_arms"), "columns": [t("col_arm"), *(term(cells.lang, "col", c) for c in cols)],
            "rows": rows, "numeric": [False] + [True] * len(cols)}


def _value_table(results: CampaignResults, t: Callable[..., str], cells: _Cells) -> dict:
    est = [("incremental_conversions", results.incremental_conversions, cells.count),
           ("incremental_revenue", results.incremental_revenue, cells.money),
           ("incremental_roi", results.incremental_roi, lambda x: format_percent(x, cells.lang, 0))]
    rows = [[term(cells.lang, "measure", k), fmt(e.value), cells.interval(e.low, e.high, fmt)] for k, e, fmt in est]
    rows += [[term(cells.lang, "measure", k), cells.money(v), ""] for k, v in
             (("cost", results.cost), ("cost_per_conversion", results.cost_per_conversion),
              ("cost_per_incremental_conversion", results.cost_per_incremental_conversion))]
    columns = [t("col_measure"), t("col_estimate"), t("col_interval", conf=format_percent(1 - results.alpha,
                                                                                          cells.lang, 0))]
    return {"title": t("campaign_value"), "columns": columns, "rows": rows, "numeric": [False, True, True]}


def campaign_view(results: CampaignResults, t: Callable[..., str], lang: str = "en",
                  currency: str | None = None) -> dict:
    """What a page shows of one campaign, in ``lang``: ``name``, ``reading``, ``verdict``, ``warnings``,
    ``chart`` (inline SVG), ``tables`` (``title``, ``columns``, ``rows`` of text, ``numeric`` flags) and
    ``note``; ``currency`` (ISO code) writes amounts as money of that currency."""
    from lookalike.report.plots import figure_to_svg, uplift_plot  # lazy: matplotlib on the first chart

    cells = _Cells(lang, currency)
    tables = [_uplift_table(results, t, cells), _arms_table(results, t, cells), _value_table(results, t, cells)]
    note = t("campaign_note", treated=format_number(results.srm.n_treatment, lang),
             control=format_number(results.srm.n_control, lang), p=p_clause(results.srm.p_value, lang),
             missing=format_number(results.customers_without_outcome, lang))
    return {"name": results.name, "reading": campaign_reading(results, t, lang),
            "verdict": verdict_text(results, lang, currency),
            "warnings": [warning_text(w, lang) for w in results.warnings],
            "chart": figure_to_svg(uplift_plot([results], lang=lang)), "tables": tables, "note": note}


def comparison_view(comparison: Comparison, results: Sequence[CampaignResults], t: Callable[..., str],
                    lang: str = "en", currency: str | None = None) -> dict:
    """Two campaigns side by side: the reading, the table and both uplifts on one chart, in ``lang``."""
    from lookalike.report.plots import figure_to_svg, uplift_plot  # lazy: matplotlib on the first chart

    cells = _Cells(lang, currency)
    d = comparison.uplift_difference
    conf = format_percent(1 - results[0].alpha, lang, 0) if results else ""
    a, b = (results[0].name, results[1].name) if len(results) > 1 else ("", "")
    if d.low is not None and (d.low > 0 or d.high < 0):
        better, worse = (a, b) if d.value > 0 else (b, a)
        lo, hi = (d.low, d.high) if d.value > 0 else (-d.high, -d.low)
        reading = t("compare_better", better=better, worse=worse, diff=cells.points(abs(d.value)), conf=conf,
                    low=cells.points(lo), high=cells.points(hi), p=p_clause(comparison.p_value, lang))
    else:
        reading = t("compare_same", a=a, b=b, diff=cells.points(d.value), conf=conf, low=cells.points(d.low),
                    high=cells.points(d.high), p=p_clause(comparison.p_value, lang))
    table = comparison.table
    kinds = {"treated": cells.count, "control": cells.count, "conversion_treatment": cells.share,
             "conversion_control": cells.share, "conversion_uplift": cells.points,
             "revenue_per_customer_uplift": cells.money, "incremental_revenue": cells.money, "cost": cells.money,
             "incremental_roi": lambda x: format_percent(x, lang, 0)}
    rows = [[str(v) if c == "campaign" else kinds.get(c, str)(v) for c, v in zip(table.columns, row)]
            for row in table.itertuples(index=False, name=None)]
    return {"reading": reading,
            "table": {"title": t("campaign_comparison"), "columns": [term(lang, "col", c) for c in table.columns],
                      "rows": rows, "numeric": [c != "campaign" for c in table.columns]},
            "chart": figure_to_svg(uplift_plot(results, lang=lang))}


def render_campaign_report(results: Sequence[CampaignResults], comparison: Comparison | None = None, *,
                           title: str | None = None, lang: str = "en", currency: str | None = None) -> str:
    """A self-contained HTML page (inline CSS and SVG, no scripts, no external URL) of one or more
    campaigns, in one language; ``title`` defaults to the campaigns' names."""
    t = translator(lang)
    views = [campaign_view(r, t, lang, currency) for r in results]
    cmp = comparison_view(comparison, results, t, lang, currency) if comparison is not None else None
    title = title or t("campaign_report_title", names=", ".join(r.name for r in results))
    return environment().get_template("campaign_report.html.j2").render(
        t=t, lang=lang, title=title, campaigns=views, comparison=cmp, css=static_text("app.css"),
        version=__version__, generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
