"""Campaign results for people: a view (reading, chart, tables) of a campaign's results dict.

The dict comes from ``lookalike.campaigns.report.campaign_results(...).to_dict()``. The view is
built defensively from what the dict holds: scalar fields become a summary table, lists of
records become tables, and a per-arm conversion rate (when present) becomes a bar chart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

RATE_KEYS = ("conversion_rate", "rate", "conversion")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1 else f"{v:,.2f}"
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
        return f"[{_fmt(float(v[0]))}, {_fmt(float(v[1]))}]"
    return "" if v is None else str(v)


def campaign_view(results: Mapping, t: Callable[..., str]) -> dict:
    """``{"name", "reading", "chart" (SVG or ""), "tables": [{title, columns, rows}]}`` of a results dict."""
    name = str(results.get("name") or results.get("campaign") or results.get("campaign_id") or "")
    scalars = [(k, v) for k, v in results.items() if not isinstance(v, (Mapping, list))]
    tables = []
    if scalars:
        tables.append({"title": t("results"), "columns": ["", ""], "rows": [(k, _fmt(v)) for k, v in scalars]})
    for key, value in results.items():
        if isinstance(value, list) and value and all(isinstance(r, Mapping) for r in value):
            cols = list(dict.fromkeys(c for r in value for c in r))
            tables.append({"title": key.replace("_", " "), "columns": cols,
                           "rows": [[_fmt(r.get(c)) for c in cols] for r in value]})
        elif isinstance(value, Mapping) and value:
            flat = [(k, v) for k, v in value.items() if not isinstance(v, (Mapping, list))]
            nested = {k: v for k, v in value.items() if isinstance(v, Mapping)}
            if nested:
                cols = list(dict.fromkeys(c for v in nested.values() for c in v))
                tables.append({"title": key.replace("_", " "), "columns": ["", *cols],
                               "rows": [[k, *[_fmt(v.get(c)) for c in cols]] for k, v in nested.items()]})
            if flat:
                tables.append({"title": key.replace("_", " "), "columns": ["", ""],
                               "rows": [(k, _fmt(v)) for k, v in flat]})
    reading = str(results.get("conclusion") or results.get("reading") or results.get("summary") or "")
    return {"name": name, "reading": reading, "chart": _chart(results), "tables": tables}


def _arm_rates(results: Mapping) -> dict[str, float]:
    arms = results.get("arms")
    rows: list[tuple[str, Mapping]] = []
    if isinstance(arms, Mapping):
        rows = [(str(k), v) for k, v in arms.items() if isinstance(v, Mapping)]
    elif isinstance(arms, list):
        rows = [(str(r.get("arm", i)), r) for i, r in enumerate(arms) if isinstance(r, Mapping)]
    out = {}
    for arm, r in rows:
        for key in RATE_KEYS:
            if isinstance(r.get(key), (int, float)):
                out[arm] = float(r[key])
                break
    return out


def _chart(results: Mapping) -> str:
    rates = _arm_rates(results)
    if not rates:
        return ""
    from matplotlib.figure import Figure

    from lookalike.report.plots import BASE_COLOR, HIGHLIGHT_COLOR, figure_to_svg

    fig = Figure(figsize=(5.0, 2.8))
    ax = fig.add_subplot()
    names = list(rates)
    ax.barh(names, [rates[n] * 100 for n in names],
            color=[HIGHLIGHT_COLOR if n == "treatment" else BASE_COLOR for n in names])
    for i, n in enumerate(names):
        ax.annotate(f"{rates[n]:.2%}", (rates[n] * 100, i), xytext=(4, 0), textcoords="offset points", va="center")
    ax.set_xlabel("conversion (%)")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return figure_to_svg(fig)
