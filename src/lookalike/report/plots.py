"""Figures for reports: a PCA map of the customer base and per-column distributions.

Every word of a figure (titles, axes, legends, notes) comes from the catalogue of the reader's
language (``lang``, :mod:`lookalike.i18n`), and every number on it is written the locale's way.

Every function works on :class:`matplotlib.figure.Figure` objects created directly,
never through the pyplot state machine, so nothing global changes (no backend is
selected, no figure is registered with pyplot, ``plt.show()`` is never called).
Figures come back to the caller, who writes them with :func:`save_figure` or turns
them into inline SVG with :func:`figure_to_svg`; both close the figure.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(500, 6))
>>> vip = np.zeros(500, dtype=bool); vip[:5] = True
>>> svg = figure_to_svg(pca_map(X, vip))
>>> svg.startswith("<svg")
True
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from threadpoolctl import threadpool_limits

from lookalike.errors import ParameterError
from lookalike.i18n import format_number, format_percent, term, translator
from lookalike.io import atomic_path
from lookalike.features import to_number

__all__ = ["distributions", "figure_to_svg", "gain_chart", "pca_map", "qini_plot", "reach_plot", "save_figure",
           "uplift_plot"]

BASE_COLOR = "#8c959f"
HIGHLIGHT_COLOR = "#d1495b"
NOTE_COLOR = "#59636e"
#: Colours of the extra groups of :func:`pca_map` (an audience, a second segment).
GROUP_COLORS = ("#00798c", "#edae49", "#30638e", "#6a4c93")
#: Columns holding money amounts: drawn on a log x-axis when their distribution is skewed.
MONEY_COLUMNS: frozenset[str] = frozenset({"income", "total_spent", "avg_ticket"})
#: Skewness above which a money column gets a log x-axis.
LOG_SKEW = 1.0
MAX_BINS = 40
_FORMATS = {".png": "png", ".svg": "svg"}
#: Fixed SVG id salt and no date: the same figure gives the same SVG text.
_SVG_RC = {"svg.hashsalt": "lookalike"}
_SVG_METADATA = {"Date": None}
_METADATA_BLOCK = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)


def pca_map(
    X: np.ndarray,
    highlight: np.ndarray | None = None,
    *,
    labels: tuple[str, str] | None = None,
    max_points: int = 20000,
    random_state: int | None = 0,
    ax: Axes | None = None,
    groups: Mapping[str, np.ndarray] | None = None,
    lang: str = "en",
) -> Figure:
    """Customers on their first two principal components, a highlighted group on top.

    PCA (:class:`sklearn.decomposition.PCA`, no re-scaling: pass standardised features,
    e.g. the output of the feature pipeline) is fitted on a random sample of at most
    ``max_points`` non-highlighted rows plus *all* highlighted rows, drawn with
    ``random_state`` so the map is reproducible. The sample is drawn as small grey
    dots (rasterised, so SVG stays small), the highlighted rows as larger coloured
    markers above them.

    Parameters
    ----------
    X : array of shape (n_customers, n_features), finite numbers.
    highlight : boolean mask (or 0/1 values) of length n_customers, e.g. ``vip_flag == 1``.
    labels : legend names of the base and of the highlighted group (default: customers and VIPs, in ``lang``).
    max_points : most non-highlighted rows drawn and used in the fit.
    ax : draw into this axes (its figure is returned) instead of a new figure.
    groups : more groups to draw, label -> boolean mask (e.g. an audience next to its seeds);
        drawn under ``highlight``, at most ``max_points`` rows each (sampled), and part of the fit.

    >>> fig = pca_map(np.random.default_rng(1).normal(size=(300, 4)), max_points=100)
    >>> [len(c.get_offsets()) for c in fig.axes[0].collections]
    [100]
    """
    from sklearn.decomposition import PCA  # lazy: scikit-learn is slow to import

    X = _check_matrix(X)
    n = X.shape[0]
    if not isinstance(max_points, (int, np.integer)) or isinstance(max_points, bool) or max_points < 1:
        raise ParameterError(f"max_points must be a positive integer, got {max_points!r}")
    t = translator(lang)
    base_label, hi_label = _check_labels(labels or (t("chart_customers"), t("chart_vips")))
    mask = np.zeros(n, dtype=bool) if highlight is None else _check_mask(highlight, n, "highlight")

    rng = np.random.default_rng(random_state)
    base_idx = np.flatnonzero(~mask)
    n_base = base_idx.size
    if n_base > max_points:
        base_idx = np.sort(rng.choice(base_idx, size=int(max_points), replace=False))
    hi_idx = np.flatnonzero(mask)
    group_idx: list[tuple[str, np.ndarray]] = []
    for label, gmask in (groups or {}).items():
        g = np.flatnonzero(_check_mask(gmask, n, f"groups[{label!r}]") & ~mask)
        if g.size > max_points:
            g = np.sort(rng.choice(g, size=int(max_points), replace=False))
        group_idx.append((str(label), g))
    extra = np.concatenate([g for _, g in group_idx]) if group_idx else np.array([], dtype=np.int64)
    fit_rows = np.concatenate([base_idx, extra, hi_idx]).astype(np.int64)
    if fit_rows.size < 2:
        raise ParameterError(f"pca_map needs at least 2 rows to draw, got {fit_rows.size}; "
                             f"raise max_points or pass more customers")
    pca = PCA(n_components=2, random_state=random_state)
    # one BLAS thread: at this size (<= a few max_points rows) threads only add synchronisation, and on a
    # busy 2-core machine they waited on each other for 0.5 s instead of 0.01 s; the result is bit-identical
    with threadpool_limits(1, user_api="blas"):
        Z = pca.fit_transform(X[fit_rows])
    zb, zh = Z[: base_idx.size], Z[base_idx.size + extra.size:]
    zg = Z[base_idx.size: base_idx.size + extra.size]
    var = pca.explained_variance_ratio_ * 100

    fig, ax = _figure_and_axes(ax, figsize=(6.4, 5.8))
    num = lambda x: format_number(x, lang)  # noqa: E731
    shown = t("chart_sampled", shown=num(base_idx.size), total=num(n_base)) if base_idx.size < n_base else num(n_base)
    ax.scatter(zb[:, 0], zb[:, 1], s=4, c=BASE_COLOR, alpha=0.35, linewidths=0, rasterized=True,
               label=f"{base_label} ({shown})", zorder=1)
    start = 0
    for (label, g), color in zip(group_idx, GROUP_COLORS):
        pts = zg[start: start + g.size]
        start += g.size
        ax.scatter(pts[:, 0], pts[:, 1], s=8, c=color, alpha=0.55, linewidths=0, rasterized=True,
                   label=f"{label} ({num(g.size)})", zorder=2)
    if highlight is not None:
        ax.scatter(zh[:, 0], zh[:, 1], s=26, c=HIGHLIGHT_COLOR, alpha=0.9, edgecolors="white", linewidths=0.5,
                   label=f"{hi_label} ({num(hi_idx.size)})", zorder=3)
    ax.set_xlabel(t("chart_pc", n=1, share=format_percent(var[0] / 100, lang, 1)), fontsize=10)
    ax.set_ylabel(t("chart_pc", n=2, share=format_percent(var[1] / 100, lang, 1)) if var.size > 1 else "PC2",
                  fontsize=10)
    title = t("chart_map_title", group=hi_label, base=base_label) if highlight is not None else \
        t("chart_map_title_all", base=base_label)
    ax.set_title(title, fontsize=12, loc="left")
    _style(ax)
    _axis_numbers(ax, lang)
    # below the map, never over its points
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.12), frameon=False, markerscale=2.0, fontsize=10, ncols=1)
    return fig


def distributions(
    customers: pd.DataFrame,
    columns: Sequence[str] = ("income", "total_spent", "total_orders", "days_since_last_purchase"),
    *,
    highlight: pd.Series | None = None,
    labels: tuple[str, str] | None = None,
    lang: str = "en",
) -> Figure:
    """A grid of histograms, one panel per column of ``columns`` present in ``customers``.

    Money columns (:data:`MONEY_COLUMNS`) whose positive values are skewed get a log
    x-axis (values <= 0 are then left out and counted in the panel's note). Every
    panel notes its missing values. With ``highlight`` (a boolean Series aligned on
    ``customers.index``, e.g. ``customers.vip_flag == 1``) both groups are drawn
    density-normalised on shared bins (each group's bars sum to 1): the rest as filled
    bars, the highlighted group as a step line, so a group of 0.6% of rows stays visible.

    >>> df = pd.DataFrame({"income": [1.0, 2.0, None, 4.0], "other": [1, 2, 3, 4]})
    >>> fig = distributions(df)
    >>> len(fig.axes), fig.axes[0].get_title(loc="left"), distributions(df, lang="es").axes[0].get_title(loc="left")
    (1, 'Income', 'Ingresos')
    """
    if not isinstance(customers, pd.DataFrame):
        raise ParameterError(f"distributions expects a pandas DataFrame, got {type(customers).__name__}")
    if isinstance(columns, str):
        columns = (columns,)
    present = [c for c in dict.fromkeys(columns) if c in customers.columns]
    if not present:
        raise ParameterError(f"none of the columns {', '.join(map(str, columns))} are in the table; "
                             f"it has: {', '.join(map(str, customers.columns[:12]))}")
    for c in present:
        s = customers[c]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise ParameterError(f"column {c!r} is not numeric (dtype {s.dtype}); pass numeric columns only")
    t = translator(lang)
    base_label, hi_label = _check_labels(labels or (t("chart_customers"), t("chart_vips")))
    mask = None
    if highlight is not None:
        if not isinstance(highlight, pd.Series):
            raise ParameterError(f"highlight must be a pandas Series aligned with the table, "
                                 f"got {type(highlight).__name__}")
        if not highlight.index.is_unique:
            raise ParameterError("highlight has a repeated index; align it with the table (one value per row)")
        try:
            aligned = highlight.reindex(customers.index).astype("boolean").fillna(False)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"highlight must hold booleans or 0/1 values (e.g. vip_flag == 1): {exc}") from exc
        mask = aligned.to_numpy(dtype=bool)

    ncols = 1 if len(present) == 1 else 2
    nrows = -(-len(present) // ncols)
    fig = Figure(figsize=(5.0 * ncols, 3.5 * nrows + 0.6), layout="constrained")
    for i, col in enumerate(present):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        _histogram(ax, col, customers[col], mask, base_label, hi_label, lang)
    if mask is not None:
        # one legend for the figure (counts per panel differ only by missing values, noted in each panel)
        handles = [Patch(facecolor=BASE_COLOR, alpha=0.55,
                         label=f"{base_label} ({format_number(int((~mask).sum()), lang)})"),
                   Line2D([], [], color=HIGHLIGHT_COLOR, linewidth=1.8,
                          label=f"{hi_label} ({format_number(int(mask.sum()), lang)})")]
        fig.legend(handles=handles, loc="outside upper right", ncols=2, frameon=False, fontsize=10)
        fig.suptitle(t("chart_distributions_title", group=hi_label, base=base_label), fontsize=12, x=0.01, ha="left")
    return fig


def reach_plot(reach: pd.DataFrame, *, ax: Axes | None = None, lang: str = "en") -> Figure:
    """Audience size against similarity: the reach you buy with each step down in similarity.

    ``reach`` has columns share_of_base, size, mean_similarity, min_similarity
    (:func:`lookalike.audience.expand.reach_table`).
    """
    missing = {"share_of_base", "size", "mean_similarity", "min_similarity"} - set(reach.columns)
    if missing:
        raise ParameterError(f"reach table is missing column(s) {', '.join(sorted(missing))}")
    t = translator(lang)
    fig, ax = _figure_and_axes(ax, figsize=(5.6, 4.2))
    x = reach["share_of_base"].to_numpy(dtype=float)
    ax.plot(x, reach["mean_similarity"], marker="o", color=HIGHLIGHT_COLOR, label=t("chart_reach_mean"))
    ax.plot(x, reach["min_similarity"], marker=".", linestyle="--", color=BASE_COLOR, label=t("chart_reach_last"))
    for xi, size, yi in zip(x, reach["size"], reach["mean_similarity"]):
        ax.annotate(format_number(int(size), lang), (xi, yi), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize=8, color=NOTE_COLOR)
    ax.set_xlabel(t("chart_reach_x"), fontsize=10)
    ax.set_ylabel(t("chart_reach_y"), fontsize=10)
    ax.set_ylim(bottom=0)
    ax.set_title(t("chart_reach_title"), fontsize=12, loc="left")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_percent(v, lang, 0 if v >= 0.01 else 1)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_number(v, lang, 1)))
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.18), frameon=False, fontsize=10)
    _style(ax)
    return fig


#: Colour, line and marker of each method of a gain chart (its name: ``method_<name>`` in the catalogue).
METHOD_STYLE = {
    "seed_share": (HIGHLIGHT_COLOR, "-", "o"),
    "seed_distance": ("#edae49", "-", "s"),
    "classifier": ("#00798c", "-", "D"),
    "best_rule": ("#30638e", "--", "^"),
    "spend": ("#6a4c93", "--", "v"),
    "supervised": ("#2b9348", ":", "P"),
    "random": (BASE_COLOR, ":", None),
}


def gain_chart(gains: pd.DataFrame, *, title: str | None = None, ax: Axes | None = None, lang: str = "en") -> Figure:
    """Cumulative gain curves: share of the targets found against share of the population contacted.

    ``gains`` has columns method, share_targeted, share_of_positives (one curve per method). Curves that
    coincide (the best rule is often past spend) stay visible: each method has its own marker, drawn
    offset along the curve, and the legend sits below the plot, never over a line.
    """
    missing = {"method", "share_targeted", "share_of_positives"} - set(gains.columns)
    if missing:
        raise ParameterError(f"gains table is missing column(s) {', '.join(sorted(missing))}")
    t = translator(lang)
    fig, ax = _figure_and_axes(ax, figsize=(5.6, 5.0))
    for i, (method, g) in enumerate(gains.groupby("method", sort=False)):
        color, style, marker = METHOD_STYLE.get(str(method), (NOTE_COLOR, "-", "x"))
        n = len(g)
        every = (i % 4 * max(n // 16, 1), max(n // 4, 1)) if n > 8 else None  # markers offset per method
        ax.plot(g["share_targeted"], g["share_of_positives"], style, color=color, marker=marker, markevery=every,
                markersize=5, label=term(lang, "method", method), linewidth=2.0 if str(method) == "seed_share" else 1.4,
                zorder=3 if str(method) == "seed_share" else 2)
    ax.set_xlabel(t("chart_gain_x"), fontsize=10)
    ax.set_ylabel(t("chart_gain_y"), fontsize=10)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_percent(v, lang, 0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_percent(v, lang, 0)))
    ax.set_title(title or t("chart_gain_title"), fontsize=12, loc="left")
    ax.legend(frameon=False, fontsize=10, loc="upper left", bbox_to_anchor=(0, -0.14), ncols=2)
    _style(ax)
    return fig


def uplift_plot(results: Sequence, *, ax: Axes | None = None, lang: str = "en") -> Figure:
    """A forest plot: each campaign's uplift per rate metric with its interval, in percentage points.

    ``results`` are :class:`lookalike.campaigns.report.CampaignResults`; significant uplifts are
    blue, the others grey.
    """
    if not results:
        raise ParameterError("uplift_plot needs at least one campaign's results")
    metrics = [m for m in ("open_rate", "click_rate", "conversion_rate") if any(m in r.uplifts for r in results)]
    n_rows = sum(m in r.uplifts for r in results for m in metrics)
    t = translator(lang)
    fig, ax = _figure_and_axes(ax, figsize=(5.6, 1.6 + 0.55 * n_rows))
    labels, y = [], 0
    for r in results:
        for m in (m for m in metrics if m in r.uplifts):
            u = r.uplifts[m]
            ax.errorbar([u.diff * 100], [y], xerr=[[(u.diff - u.diff_low) * 100], [(u.diff_high - u.diff) * 100]],
                        fmt="o", color="tab:blue" if u.significant else "tab:gray", capsize=3)
            labels.append(f"{r.name}: {term(lang, 'metric', m)}" if len(results) > 1 else term(lang, "metric", m))
            y += 1
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(labels)), labels, fontsize=10)
    ax.invert_yaxis()
    ax.set_xlabel(t("chart_uplift_x", conf=format_percent(1 - results[0].alpha, lang, 0)), fontsize=10)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_number(v, lang, 1)))
    ax.set_title(t("chart_uplift_title"), fontsize=12, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def qini_plot(study, *, lang: str = "en") -> Figure:
    """Qini curves (similarity ranking vs random) for visit and conversion, plus uplift by decile, of a
    :class:`lookalike.campaigns.hillstrom.UpliftStudy`."""
    t = translator(lang)
    fig = Figure(figsize=(11, 4))
    axes = fig.subplots(1, 3)
    styles = {"similarity": "-", "classifier": "--", "random": ":"}
    for ax, outcome in zip(axes[:2], ("visit", "conversion")):
        for ranking, style in styles.items():
            q = study.qini[(study.qini["outcome"] == outcome) & (study.qini["ranking"] == ranking)]
            coef = format_number(study.qini_coefficients[f"{outcome}/{ranking}"], lang, 1)
            ax.plot(q["share"], q["qini"], style, label=t("chart_qini_ranking", ranking=term(lang, "ranking", ranking),
                                                           coef=coef))
        ax.plot(q["share"], q["random"], color="gray", lw=0.8, label=t("chart_qini_random"))
        ax.set_title(t("chart_qini_title", outcome=term(lang, "outcome", outcome)))
        ax.set_xlabel(t("chart_qini_x"))
        ax.set_ylabel(t("chart_qini_y", outcome=term(lang, "outcome", outcome)))
        ax.legend(fontsize=7)
    d = study.deciles[study.deciles["outcome"] == "conversion"]
    for ranking, off in (("similarity", -0.2), ("classifier", 0.2)):
        part = d[d["ranking"] == ranking]
        axes[2].bar(part["bin"] + off, part["uplift"] * 100, width=0.4, label=term(lang, "ranking", ranking))
    axes[2].set_title(t("chart_deciles_title"))
    axes[2].set_xlabel(t("chart_deciles_x"))
    axes[2].set_ylabel(t("chart_deciles_y"))
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG or SVG (chosen by the extension), atomically, then close it.

    The image is written through :func:`lookalike.io.atomic_path` (a temporary file in the
    target directory, moved over ``path`` when complete), so readers never see a half-written
    file. The figure is closed (and cleared) afterwards, also when writing fails.
    """
    if not isinstance(fig, Figure):
        raise ParameterError(f"save_figure expects a matplotlib Figure, got {type(fig).__name__}")
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        _close(fig)
        raise ParameterError(f"cannot write a figure to {path.name!r}: use a .png or .svg file name")
    if not path.parent.is_dir():
        _close(fig)
        raise ParameterError(f"cannot write {path}: directory {path.parent} does not exist; create it first")
    try:
        with atomic_path(path) as tmp, tmp.open("wb") as fh:
            if fmt == "svg":
                with matplotlib.rc_context(_SVG_RC):
                    fig.savefig(fh, format="svg", dpi=dpi, metadata=_SVG_METADATA)
            else:
                fig.savefig(fh, format="png", dpi=dpi)
    finally:
        _close(fig)
    return path


def figure_to_svg(fig: Figure) -> str:
    """The figure as an SVG string ready to inline in HTML (no XML prolog), then close it.

    The output is deterministic (fixed id salt, no date) and needs no external assets.
    """
    if not isinstance(fig, Figure):
        raise ParameterError(f"figure_to_svg expects a matplotlib Figure, got {type(fig).__name__}")
    buf = io.StringIO()
    try:
        with matplotlib.rc_context(_SVG_RC):
            fig.savefig(buf, format="svg", metadata=_SVG_METADATA)
    finally:
        _close(fig)
    text = buf.getvalue()
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    # the RDF metadata block only names matplotlib's and Dublin Core's URLs: drop it so an
    # inlined figure carries no external address at all
    return _METADATA_BLOCK.sub("", text, count=1)


# --------------------------------------------------------------------------- helpers


def _histogram(ax: Axes, col: str, s: pd.Series, mask: np.ndarray | None, base_label: str, hi_label: str,
               lang: str = "en") -> None:
    t = translator(lang)
    values = to_number(s).to_numpy(dtype="float64", na_value=np.nan)
    finite = np.isfinite(values)
    n_missing = int((~finite).sum())
    notes = [t("chart_missing", n=format_number(n_missing, lang), share=_share(n_missing / len(values), lang))
             if n_missing else t("chart_no_missing")]
    v = values[finite]
    log = False
    if col in MONEY_COLUMNS and v.size:
        pos = v[v > 0]
        log = pos.size >= max(10, 0.5 * v.size) and float(pd.Series(pos).skew()) > LOG_SKEW
        if log and pos.size < v.size:
            notes.append(t("chart_not_positive", n=format_number(v.size - pos.size, lang)))
    ax.set_title(term(lang, "feat", col), fontsize=11, loc="left")
    ax.set_title("; ".join(notes), fontsize=8, loc="right", color=NOTE_COLOR)
    _style(ax)
    if not v.size:
        ax.text(0.5, 0.5, t("chart_no_values"), transform=ax.transAxes, ha="center", va="center", color=BASE_COLOR)
        return
    keep = finite & (values > 0) if log else finite
    bins = _bins(values[keep], log)
    if mask is None:
        ax.hist(values[keep], bins=bins, color=BASE_COLOR, alpha=0.8,
                label=f"{base_label} ({format_number(int(keep.sum()), lang)})")
        ax.set_ylabel(t("chart_customers"), fontsize=9)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: format_number(y, lang)))
    else:
        rest, hi = values[keep & ~mask], values[keep & mask]
        if rest.size:
            ax.hist(rest, bins=bins, weights=np.full(rest.size, 1.0 / rest.size), color=BASE_COLOR, alpha=0.55,
                    label=f"{base_label} ({format_number(rest.size, lang)})")
        if hi.size:
            ax.hist(hi, bins=bins, weights=np.full(hi.size, 1.0 / hi.size), histtype="step", linewidth=1.8,
                    color=HIGHLIGHT_COLOR, label=f"{hi_label} ({format_number(hi.size, lang)})")
        ax.set_ylabel(t("chart_share_of_group"), fontsize=9)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: format_percent(y, lang, 0)))
    if log:
        ax.set_xscale("log")
        ax.set_xlabel(t("chart_log_scale"), fontsize=9)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: format_number(x, lang)))
    else:
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: format_number(x, lang, 0 if abs(x) >= 10 or
                                                                                    float(x).is_integer() else 1)))


def _share(x: float, lang: str = "en") -> str:
    """A percentage that never rounds a non-zero share to 0.0%."""
    return "< " + format_percent(0.001, lang, 1) if 0 < x < 0.0005 else format_percent(x, lang, 1)


def _axis_numbers(ax: Axes, lang: str) -> None:
    """Tick labels in the locale's number format (decimal comma in Spanish)."""
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _: format_number(v, lang, 0 if float(v).is_integer() else 1)))


def _bins(v: np.ndarray, log: bool) -> np.ndarray:
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        return np.array([lo - 0.5, hi + 0.5]) if not log else np.array([lo / 1.5, hi * 1.5])
    if log:
        return np.geomspace(lo, hi, MAX_BINS + 1)
    if np.all(v == np.round(v)) and hi - lo <= MAX_BINS * 1.5:
        return np.arange(lo - 0.5, hi + 1.5)  # one bar per integer value (orders, small counts)
    edges = np.histogram_bin_edges(v, bins="auto")
    return edges if len(edges) - 1 <= MAX_BINS else np.linspace(lo, hi, MAX_BINS + 1)


def _figure_and_axes(ax: Axes | None, *, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise ParameterError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    try:
        fig = ax.get_figure(root=True)  # matplotlib >= 3.10: the top-level figure, also for subfigures
    except TypeError:  # pragma: no cover - matplotlib < 3.10
        fig = ax.figure.figure if hasattr(ax.figure, "figure") else ax.figure
    return fig, ax


def _style(ax: Axes) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)
    ax.grid(True, color="#eaeef2", linewidth=0.6)
    ax.set_axisbelow(True)


def _check_matrix(X: object) -> np.ndarray:
    try:
        arr = np.asarray(X, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"X must be a numeric array of shape (n_customers, n_features): {exc}") from exc
    if arr.ndim != 2:
        raise ParameterError(f"X must be 2-D (n_customers, n_features), got {arr.ndim}-D with shape {arr.shape}")
    if arr.shape[1] < 2:
        raise ParameterError(f"X needs at least 2 features for a 2-D map, got {arr.shape[1]}")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise ParameterError(f"X has {int(bad.sum()):,} rows with missing or infinite values (first: row "
                             f"{int(np.flatnonzero(bad)[0])}); impute them first, e.g. with the feature pipeline")
    return arr


def _check_mask(mask: object, n: int, name: str) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ParameterError(f"{name} must be a boolean mask of length {n:,}, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr
    if np.issubdtype(arr.dtype, np.number) and np.isin(arr, (0, 1)).all():
        return arr.astype(bool)
    raise ParameterError(f"{name} must hold booleans or 0/1 values (e.g. vip_flag == 1), got dtype {arr.dtype}")


def _check_labels(labels: object) -> tuple[str, str]:
    if not isinstance(labels, (tuple, list)) or len(labels) != 2:
        raise ParameterError(f"labels must be two names (base, highlighted), got {labels!r}")
    return str(labels[0]), str(labels[1])


def _close(fig: Figure) -> None:
    """Forget the figure: unregister it from pyplot if pyplot manages it, then clear it."""
    pyplot = sys.modules.get("matplotlib.pyplot")  # never import pyplot just to close
    if pyplot is not None:
        pyplot.close(fig)
    fig.clear()
