"""The full HTML report (``lookalike report -o report.html``): one self-contained file.

Sections: data quality, distributions (VIPs against everyone), the PCA map with the VIPs,
audience profiles, lookalike-against-rules gain charts (a backtest that hides VIPs and finds
them again) and campaign results (when a campaign store is given). Every section carries one
plain-language sentence generated from its numbers, in Spanish or English. Plots are inline
SVG (scatter points rasterised into embedded PNG data), CSS is inline, and the file references
no external URL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from lookalike import __version__

#: Audience size of the default VIP lookalike audience profiled when no audience is given.
DEFAULT_AUDIENCE_SIZE = "5%"
#: Share of the population at which the gain reading compares lookalike and rule.
GAIN_AT = 0.10


def _n(x: float, lang: str, decimals: int = 0) -> str:
    """A number as the reader writes it: 1,234.5 in English, 1.234,5 in Spanish."""
    text = f"{x:,.{decimals}f}"
    return text.translate(str.maketrans(",.", ".,")) if lang == "es" else text


def _pct(x: float, lang: str) -> str:
    return _n(x * 100, lang, 1) + "%"


def quality_reading(report: dict, t, lang: str) -> str:
    """One sentence on the row accounting of a quality report."""
    r = report.get("rows") or {}
    rows_in, kept = int(r.get("in", 0)), int(r.get("kept", 0))
    return t("read_quality", rows_in=_n(rows_in, lang), kept=_n(kept, lang),
             kept_pct=_pct(kept / rows_in if rows_in else 0, lang),
             quarantined=_n(int(r.get("quarantined", 0)), lang), merged=_n(int(r.get("duplicates_merged", 0)), lang))


def distributions_reading(customers: pd.DataFrame, vip: np.ndarray, t, lang: str = "en") -> str:
    """One sentence comparing the VIPs' median spend with everyone's."""
    spend = pd.to_numeric(customers.get("total_spent"), errors="coerce")
    base = float(spend.median())
    v = float(spend[vip].median()) if vip.any() else float("nan")
    ratio = v / base if base else float("nan")
    return t("read_distributions", vip=_n(v, lang), base=_n(base, lang), ratio=_n(ratio, lang, 1))


def pca_reading(n_vip: int, tightness: float, t, lang: str = "en") -> str:
    """One sentence on how tightly the VIPs group (seed diagnostics' tightness: median VIP-VIP distance
    over median customer-customer distance; above ``MAX_TIGHTNESS`` they look like a random sample)."""
    from lookalike.audience.seeds import MAX_TIGHTNESS

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
    return t("read_profile", feature=row["feature"], audience=_n(row["audience"], lang, 1), base=_n(row["base"], lang, 1),
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
    return t("read_gain", share=f"{GAIN_AT:.0%}", lookalike=_pct(la, lang),
             rule=_pct(rule, lang))


def _audiences(finder, paths: Sequence[Path]) -> list[dict]:
    """Profiles of saved audiences (their ``.profile.csv``), or of a fresh VIP lookalike audience."""
    from lookalike.audience.store import sidecar

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
        out.append({"name": f"VIP lookalikes ({DEFAULT_AUDIENCE_SIZE})", "profile": res.profile,
                    "size": len(res.audience), "tightness": res.diagnostics.tightness, "seeds": res.diagnostics.size,
                    "validation": res.params.get("validation")})
    return out


def _campaigns(url: str, t, lang: str) -> list[dict]:
    """A view of every campaign in the store at ``url`` (see :mod:`lookalike.report.campaigns`)."""
    from lookalike.campaigns.report import campaign_results
    from lookalike.campaigns.store import list_campaigns
    from lookalike.database import open_database
    from lookalike.report.campaigns import campaign_view

    engine = open_database(url)
    try:
        ids = sorted(int(i) for i in list_campaigns(engine)["id"])
        return [campaign_view(campaign_results(engine, i), t, lang) for i in ids]
    finally:
        engine.dispose()


def build_report(finder, *, quality: dict | None = None, audiences: Sequence[Path] = (), campaigns_url: str | None = None,
                 lang: str = "en", n_splits: int = 3, source: str = "", random_state: int = 0) -> str:
    """The report as one HTML string (see the module docstring)."""
    from lookalike.evaluation.backtest import backtest
    from lookalike.evaluation.tasks import synthetic_task
    from lookalike.report.plots import distributions, figure_to_svg, gain_chart, pca_map
    from lookalike.report.quality import quality_summary_lines
    from lookalike.web.i18n import translator

    t = translator(lang)
    customers = finder.customers_
    vip = (pd.to_numeric(customers["vip_flag"], errors="coerce").fillna(0).eq(1).to_numpy()
           if "vip_flag" in customers else np.zeros(len(customers), dtype=bool))
    sections: dict = {}
    if quality:
        sections["quality"] = {"lines": quality_summary_lines(quality), "reading": quality_reading(quality, t, lang),
                               "columns": [{"name": k, **v} for k, v in (quality.get("columns") or {}).items()]}
    sections["distributions"] = {
        "svg": figure_to_svg(distributions(customers, highlight=pd.Series(vip, index=customers.index))),
        "reading": distributions_reading(customers, vip, t, lang) if vip.any() else ""}
    auds = _audiences(finder, audiences)
    tight = next((a.get("tightness") for a in auds if a.get("tightness")), None)
    sections["pca"] = {"svg": figure_to_svg(pca_map(finder.X_, vip if vip.any() else None, random_state=random_state)),
                       "reading": pca_reading(int(vip.sum()), tight, t, lang) if tight else ""}
    sections["profiles"] = []
    for a in auds:
        prof = a["profile"]
        shown = prof.assign(_r=np.log(prof["audience_vs_base"].astype(float).clip(lower=1e-9)).abs()) \
            .sort_values("_r", ascending=False).head(12).drop(columns="_r")
        sections["profiles"].append({"name": a["name"], "size": a.get("size"), "rows": shown.to_dict(orient="records"),
                                     "reading": profile_reading(prof, t, lang), "validation": a.get("validation")})
    if vip.sum() >= 10:
        # the chart compares the shipped default (auto) with rules: the other scorers are left out (time)
        result = backtest(synthetic_task(customers), n_splits=n_splits, random_state=random_state,
                          scorers=("auto",), baselines=("best_rule", "spend", "random"), customer_resamples=0)
        sections["gain"] = {"svg": figure_to_svg(gain_chart(result.gains, title=t("report_gain"))),
                            "reading": gain_reading(result.gains, t, lang)}
    sections["campaigns"] = _campaigns(campaigns_url, t, lang) if campaigns_url else None
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.files("lookalike.report").joinpath("templates"))),
        autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda v, d=0: "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:,.{d}f}"
    env.filters["pct"] = lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1%}"
    css = resources.files("lookalike.web").joinpath("static", "app.css").read_text("utf-8")
    return env.get_template("report.html.j2").render(
        t=t, lang=lang, s=sections, css=css, source=Path(source).name if source else "", version=__version__,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), n_customers=len(customers))
