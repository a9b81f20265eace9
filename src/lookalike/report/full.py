"""The full HTML report (``lookalike report -o report.html``): one self-contained file.

Sections: data quality, distributions (VIPs against everyone), the PCA map with the VIPs,
audience profiles, lookalike-against-rules gain charts (a backtest that hides VIPs and finds
them again, :func:`gain_backtest`) and campaign results (when a campaign store is given). Every
section carries one plain-language sentence generated from its numbers, in Spanish or English.
Plots are inline SVG (scatter points rasterised into embedded PNG data), CSS is inline, and the
file references no external URL.

:func:`build_report` only renders: the backtest and the campaign results are computed by the
caller (``lookalike report``) and passed in.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lookalike._version import __version__
from lookalike.audience.seeds import MAX_TIGHTNESS, flag_set
from lookalike.audience.store import sidecar
from lookalike.evaluation.backtest import BacktestResult, backtest
from lookalike.evaluation.tasks import synthetic_task
from lookalike.i18n import format_money, format_number, format_percent, translator
from lookalike.report.campaigns import campaign_view
from lookalike.report.plots import distributions, figure_to_svg, gain_chart, pca_map
from lookalike.report.templating import environment, static_text
from lookalike.report.words import data_currency, feature_label, profile_bars
from lookalike.features import to_number

if TYPE_CHECKING:
    from lookalike.campaigns.report import CampaignResults

#: Audience size of the default VIP lookalike audience profiled when no audience is given.
DEFAULT_AUDIENCE_SIZE = "5%"
#: Share of the population at which the gain reading compares lookalike and rule.
GAIN_AT = 0.10


def _n(x: float, lang: str, decimals: int = 0) -> str:
    """A number as the reader writes it: 1,234.5 in English, 1.234,5 in Spanish."""
    return format_number(x, lang, decimals)


def _pct(x: float, lang: str) -> str:
    return format_percent(x, lang, 1)


def quality_reading(report: dict, t, lang: str) -> str:
    """One sentence on the row accounting of a quality report."""
    r = report.get("rows") or {}
    rows_in, kept = int(r.get("in", 0)), int(r.get("kept", 0))
    return t("read_quality", rows_in=_n(rows_in, lang), kept=_n(kept, lang),
             kept_pct=_pct(kept / rows_in if rows_in else 0, lang),
             quarantined=_n(int(r.get("quarantined", 0)), lang), merged=_n(int(r.get("duplicates_merged", 0)), lang))


def dataset_title(source: str) -> str:
    """The dataset a report is about, from the path it was made from: a model folder (``…/demo/model``)
    is named by the folder holding it, a file by its name without the extension.

    >>> dataset_title("work/demo/model"), dataset_title("exports/crm_2024.csv"), dataset_title("")
    ('demo', 'crm_2024', '')
    """
    if not source:
        return ""
    path = Path(source)
    if path.name in {"model", "clean", ""} and path.parent.name:
        return path.parent.name
    return path.stem if path.suffix else path.name


def distributions_reading(customers: pd.DataFrame, vip: np.ndarray, t, lang: str = "en",
                          currency: str | None = None) -> str:
    """One sentence comparing the VIPs' median spend with everyone's."""
    spend = to_number(customers.get("total_spent"))
    base = float(spend.median())
    v = float(spend[vip].median()) if vip.any() else float("nan")
    ratio = v / base if base else float("nan")
    return t("read_distributions", vip=format_money(v, lang, currency, decimals=0),
             base=format_money(base, lang, currency, decimals=0), ratio=_n(ratio, lang, 1))


def pca_reading(n_vip: int, tightness: float, t, lang: str = "en") -> str:
    """One sentence on how tightly the VIPs group (seed diagnostics' tightness: median VIP-VIP distance
    over median customer-customer distance; above ``MAX_TIGHTNESS`` they look like a random sample)."""
    key = "read_pca_loose" if tightness > MAX_TIGHTNESS else "read_pca_tight"
    return t(key, n_vip=_n(n_vip, lang), tight=_n(tightness, lang, 2))


def profile_reading(profile: pd.DataFrame, t, lang: str = "en") -> str:
    """One sentence on the feature where the audience differs most from the base (numeric features)."""
    numeric = profile[~profile["feature"].str.contains("=", regex=False)].copy()
    numeric = numeric[(numeric["base"].abs() > 0) & numeric["audience_vs_base"].notna()]
    if numeric.empty:
        return ""
    ratio = numeric["audience_vs_base"].astype(float).clip(lower=1e-9)
    row = numeric.loc[np.log(ratio).abs().idxmax()]
    return t("read_profile", feature=feature_label(str(row["feature"]), lang).lower(), audience=_n(row["audience"], lang, 1), base=_n(row["base"], lang, 1),
             ratio=_n(row["audience_vs_base"], lang, 2), seeds=_n(row["seeds"], lang, 1))


def gain_at(gains: pd.DataFrame, method: str, share: float = GAIN_AT) -> float:
    """Share of the targets found by ``method`` when ``share`` of the population is contacted (interpolated)."""
    g = gains[gains["method"] == method].sort_values("share_targeted")
    if g.empty:
        return float("nan")
    return float(np.interp(share, g["share_targeted"], g["share_of_positives"]))


def gain_reading(gains: pd.DataFrame, t, lang: str, lookalike: str = "auto") -> str:
    """One sentence: targets found at 10% contacted, lookalike against the best rule."""
    if lookalike not in set(gains["method"]):
        lookalike = next((m for m in ("seed_share", "classifier", "seed_distance") if m in set(gains["method"])),
                         lookalike)
    la, rule = gain_at(gains, lookalike), gain_at(gains, "best_rule")
    if math.isnan(la) or math.isnan(rule):
        return ""
    return t("read_gain", share=format_percent(GAIN_AT, lang, 0), lookalike=_pct(la, lang),
             rule=_pct(rule, lang))


def _audiences(finder, paths: Sequence[Path], t=None) -> list[dict]:
    """Profiles of saved audiences (their ``.profile.csv``), or of a fresh VIP lookalike audience."""
    out = []
    for p in paths:
        prof = sidecar(p, ".profile.csv")
        if prof.is_file():
            man = sidecar(p, ".manifest.json")
            params = (json.loads(man.read_text("utf-8")).get("parameters") or {}) if man.is_file() else {}
            out.append({"name": Path(p).stem, "profile": pd.read_csv(prof), "size": None,
                        "validation": params.get("validation")})
    if not out and "vip_flag" in finder.customers_ and finder.customers_["vip_flag"].eq(1).sum() >= 2:
        res = finder.build_audience("vip", DEFAULT_AUDIENCE_SIZE, exclude_vips=True, explain=False)
        name = t("report_vip_lookalikes", size=DEFAULT_AUDIENCE_SIZE) if t else f"VIP lookalikes ({DEFAULT_AUDIENCE_SIZE})"
        out.append({"name": name, "profile": res.profile,
                    "size": len(res.audience), "tightness": res.diagnostics.tightness, "seeds": res.diagnostics.size,
                    "validation": res.params.get("validation")})
    return out


def gain_backtest(customers: pd.DataFrame, *, n_splits: int = 3, random_state: int = 0) -> BacktestResult | None:
    """The backtest behind the report's gain chart: hide VIPs, find them again with the default lookalike
    scorer and with the rules (``None`` when there are fewer than 10 VIPs to hide)."""
    vip = flag_set(customers["vip_flag"]) if "vip_flag" in customers else np.zeros(len(customers), dtype=bool)
    if vip.sum() < 10:
        return None
    # the chart compares the shipped default (auto) with rules: the other scorers are left out (time)
    return backtest(synthetic_task(customers), n_splits=n_splits, random_state=random_state,
                    scorers=("auto",), baselines=("best_rule", "spend", "random"), customer_resamples=0)


def build_report(finder, *, quality: dict | None = None, audiences: Sequence[Path] = (),
                 evaluation: BacktestResult | None = None, campaigns: Sequence[CampaignResults] | None = None,
                 lang: str = "en", source: str = "", random_state: int = 0) -> str:
    """The report as one HTML string (see the module docstring).

    ``evaluation`` (e.g. :func:`gain_backtest`) draws the gain section; ``campaigns`` (results of a
    campaign store, :func:`lookalike.campaigns.report.stored_results`) the campaign section, which
    says that no store was given when it is ``None``.
    """
    t = translator(lang)
    customers = finder.customers_
    vip = flag_set(customers["vip_flag"]) if "vip_flag" in customers else np.zeros(len(customers), dtype=bool)
    sections: dict = {}
    currency = data_currency(quality)
    if quality:
        # one reading in the report's language (the terminal summary's English lines would repeat it with
        # other shares): the counts are in the sentence, the columns in the table
        sections["quality"] = {"reading": quality_reading(quality, t, lang),
                               "columns": [{"name": k, **v} for k, v in (quality.get("columns") or {}).items()]}
    sections["distributions"] = {
        "svg": figure_to_svg(distributions(customers, highlight=pd.Series(vip, index=customers.index), lang=lang)),
        "reading": distributions_reading(customers, vip, t, lang, currency) if vip.any() else ""}
    auds = _audiences(finder, audiences, t)
    tight = next((a.get("tightness") for a in auds if a.get("tightness")), None)
    sections["pca"] = {"svg": figure_to_svg(pca_map(finder.X_, vip if vip.any() else None, random_state=random_state,
                                                    lang=lang)),
                       "reading": pca_reading(int(vip.sum()), tight, t, lang) if tight else ""}
    sections["profiles"] = []
    for a in auds:
        prof = a["profile"]
        sections["profiles"].append({"name": a["name"], "size": a.get("size"), "bars": profile_bars(prof, lang, currency),
                                     "reading": profile_reading(prof, t, lang), "validation": a.get("validation")})
    if evaluation is not None:
        sections["gain"] = {"svg": figure_to_svg(gain_chart(evaluation.gains, title=t("report_gain"), lang=lang)),
                            "reading": gain_reading(evaluation.gains, t, lang)}
    sections["campaigns"] = None if campaigns is None else [campaign_view(r, t, lang, currency) for r in campaigns]
    return environment().get_template("report.html.j2").render(
        t=t, lang=lang, s=sections, css=static_text("app.css"), source=dataset_title(source),
        version=__version__, generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        n_customers=len(customers))
