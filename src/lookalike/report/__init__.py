"""Reports for people: the cleaning quality report (Markdown, HTML, terminal) and figures.

Reports are rendered from a summary dict by templates (``report/templates``); figures
are built on :class:`matplotlib.figure.Figure` objects (no pyplot state) and come back
as files or SVG strings. The plotting functions import matplotlib only when first used.

>>> from lookalike.report import quality_summary_lines
>>> quality_summary_lines({"rows": {"in": 2, "kept": 2, "quarantined": 0, "duplicates_merged": 0}})[0]
'2 rows in = 2 kept + 0 quarantined + 0 duplicates merged'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lookalike.report.quality import quality_summary_lines, render_quality_html, render_quality_markdown

if TYPE_CHECKING:  # pragma: no cover
    from lookalike.report.plots import distributions, figure_to_svg, pca_map, save_figure

_PLOTS = frozenset({"distributions", "figure_to_svg", "pca_map", "save_figure"})

__all__ = [
    "distributions",
    "figure_to_svg",
    "pca_map",
    "quality_summary_lines",
    "render_quality_html",
    "render_quality_markdown",
    "save_figure",
]


def __getattr__(name: str) -> object:
    # matplotlib is imported on first use of a plotting function, so the CLI starts fast.
    if name in _PLOTS:
        from lookalike.report import plots

        return getattr(plots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _PLOTS)
