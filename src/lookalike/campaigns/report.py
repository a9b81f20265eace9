"""Campaign results: per-arm rates, uplift with intervals, incremental value, and a plain verdict.

Rates are per customer of the arm (control customers get no sends but are measured the same way):
open rate = share who opened, click rate = share who clicked (or visited), conversion rate = share
with at least one conversion, revenue per customer = revenue / customers. Customers without an
outcome row count as zero on every metric (the number is reported).

``campaign_results(engine, "spring")`` computes everything from the store; :func:`results_from_frame`
does the same from a plain table, so simulations and the Hillstrom validation use the identical code.
This module returns data (frames, estimates, the verdict sentence); pages and charts of it are drawn
by :mod:`lookalike.report.campaigns`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy import stats as sps

from lookalike.campaigns.holdout import SampleRatioCheck, sample_ratio_check
from lookalike.campaigns.stats import Uplift, bootstrap_diff_ci, mean_uplift, proportion_uplift
from lookalike.errors import InputError, MissingColumnsError, ResultWarning
from lookalike.i18n import format_money, format_number, format_percent, format_points, p_clause, translator
from lookalike.io import to_jsonable

MIN_CONVERTERS = 10  # below this many converters in an arm, the revenue verdict is withheld
RATE_METRICS = {"open_rate": "opens", "click_rate": "clicks", "conversion_rate": "conversions"}
LABELS = {"open_rate": "open rate", "click_rate": "click (visit) rate", "conversion_rate": "conversion rate",
          "revenue_per_customer": "revenue per customer"}


@dataclass(frozen=True)
class Estimate:
    """A number with its (1 - alpha) interval."""

    value: float | None
    low: float | None
    high: float | None

    def to_dict(self) -> dict:
        """Plain values (non-finite as None)."""
        return {k: (v if v is not None and math.isfinite(v) else None)
                for k, v in (("value", self.value), ("low", self.low), ("high", self.high))}


@dataclass(frozen=True)
class CampaignResults:
    """Everything the report shows for one campaign (``to_dict()`` for JSON, the API and the web UI)."""

    name: str
    alpha: float
    arms: pd.DataFrame
    uplifts: dict[str, Uplift]
    revenue_bootstrap: tuple[float, float] | None
    cost: float
    incremental_conversions: Estimate
    incremental_revenue: Estimate
    incremental_roi: Estimate
    cost_per_conversion: float | None
    cost_per_incremental_conversion: float | None
    srm: SampleRatioCheck
    customers_without_outcome: int
    verdict: str
    warnings: tuple[ResultWarning, ...] = field(default=())

    def uplift_table(self) -> pd.DataFrame:
        """One row per metric: treatment, control, difference with its interval, relative uplift, p-value."""
        rows = []
        for key, u in self.uplifts.items():
            rows.append({"metric": LABELS.get(key, key), "treatment": u.treatment, "control": u.control,
                         "uplift": u.diff, "ci_low": u.diff_low, "ci_high": u.diff_high,
                         "relative": u.relative, "p_value": u.p_value})
        return pd.DataFrame(rows)

    def value_table(self) -> pd.DataFrame:
        """Incremental conversions, revenue and ROI with intervals, and the cost ratios."""
        rows = [("incremental conversions", self.incremental_conversions),
                ("incremental revenue", self.incremental_revenue),
                ("incremental ROI", self.incremental_roi)]
        out = [{"measure": k, "estimate": e.value, "ci_low": e.low, "ci_high": e.high} for k, e in rows]
        out += [{"measure": "cost", "estimate": self.cost, "ci_low": None, "ci_high": None},
                {"measure": "cost per conversion", "estimate": self.cost_per_conversion, "ci_low": None, "ci_high": None},
                {"measure": "cost per incremental conversion", "estimate": self.cost_per_incremental_conversion,
                 "ci_low": None, "ci_high": None}]
        return pd.DataFrame(out)

    def to_dict(self) -> dict:
        """Plain, JSON-ready values."""
        return to_jsonable({
            "campaign": self.name, "alpha": self.alpha,
            "arms": self.arms.reset_index().to_dict("records"),
            "uplift": {k: u.to_dict() for k, u in self.uplifts.items()},
            "revenue_bootstrap_ci": list(self.revenue_bootstrap) if self.revenue_bootstrap else None,
            "cost": self.cost,
            "incremental_conversions": self.incremental_conversions.to_dict(),
            "incremental_revenue": self.incremental_revenue.to_dict(),
            "incremental_roi": self.incremental_roi.to_dict(),
            "cost_per_conversion": self.cost_per_conversion,
            "cost_per_incremental_conversion": self.cost_per_incremental_conversion,
            "sample_ratio": {"n_treatment": self.srm.n_treatment, "n_control": self.srm.n_control,
                             "expected_control_share": self.srm.expected_share, "p_value": self.srm.p_value,
                             "mismatch": self.srm.mismatch},
            "customers_without_outcome": self.customers_without_outcome,
            "verdict": self.verdict, "warnings": list(self.warnings),
        }, "results")


def arm_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per arm (treatment, control): customers, senders, openers, clickers, converters, conversions, revenue, rates."""
    need = {"arm", "sends", "opens", "clicks", "conversions", "revenue"}
    if need - set(frame.columns):
        raise MissingColumnsError(need - set(frame.columns), frame.columns, where="campaign table")
    f = frame.assign(sent=frame["sends"] > 0, opened=frame["opens"] > 0, clicked=frame["clicks"] > 0,
                     converted=frame["conversions"] > 0)
    g = f.groupby("arm").agg(customers=("arm", "size"), sent=("sent", "sum"), openers=("opened", "sum"),
                             clickers=("clicked", "sum"), converters=("converted", "sum"),
                             conversions=("conversions", "sum"), revenue=("revenue", "sum"))
    g = g.reindex(["treatment", "control"]).fillna(0)
    n = g["customers"].replace(0, np.nan)
    g["open_rate"] = g["openers"] / n
    g["click_rate"] = g["clickers"] / n
    g["conversion_rate"] = g["converters"] / n
    g["revenue_per_customer"] = g["revenue"] / n
    return g


def results_from_frame(frame: pd.DataFrame, *, name: str = "campaign", holdout_share: float | None = None,
                       cost: float = 0.0, alpha: float = 0.05, bootstrap: bool = True,
                       metrics: Sequence[str] = ("open_rate", "click_rate", "conversion_rate")) -> CampaignResults:
    """Compute :class:`CampaignResults` from one row per customer (arm + outcome columns)."""
    arms = arm_summary(frame)
    n_t, n_c = int(arms.loc["treatment", "customers"]), int(arms.loc["control", "customers"])
    if n_t < 2 or n_c < 2:
        raise InputError(f"campaign {name!r} has {n_t} treated and {n_c} control customers; "
                         "both arms need at least 2 to measure anything")
    share = holdout_share if holdout_share is not None else n_c / (n_t + n_c)
    srm = sample_ratio_check(n_t, n_c, share)
    count_col = {"open_rate": "openers", "click_rate": "clickers", "conversion_rate": "converters"}
    uplifts: dict[str, Uplift] = {}
    for m in metrics:
        # An e-mail's control arm gets no e-mail, so it cannot open one: only rates the control arm can
        # show (conversion always; opens/clicks when measured there, e.g. site visits) get an uplift.
        if m != "conversion_rate" and arms.loc["control", count_col[m]] == 0:
            continue
        uplifts[m] = proportion_uplift(int(arms.loc["treatment", count_col[m]]), n_t,
                                       int(arms.loc["control", count_col[m]]), n_c, alpha=alpha, metric=m)
    is_t = (frame["arm"] == "treatment").to_numpy()
    rev = frame["revenue"].to_numpy(dtype=float)
    uplifts["revenue_per_customer"] = mean_uplift(rev[is_t], rev[~is_t], alpha=alpha)
    boot = None
    if bootstrap and (rev > 0).any():
        boot = bootstrap_diff_ci(rev[is_t], rev[~is_t], alpha=alpha, n_resamples=1000)
    conv, rpc = uplifts["conversion_rate"], uplifts["revenue_per_customer"]
    inc_conv = Estimate(conv.diff * n_t, conv.diff_low * n_t, conv.diff_high * n_t)
    inc_rev = Estimate(rpc.diff * n_t, rpc.diff_low * n_t, rpc.diff_high * n_t)
    if cost > 0:
        roi = Estimate((inc_rev.value - cost) / cost, (inc_rev.low - cost) / cost, (inc_rev.high - cost) / cost)
        converters_t = arms.loc["treatment", "converters"]
        cpc = cost / converters_t if converters_t > 0 else None
        cpic = cost / inc_conv.value if inc_conv.value > 0 else None
    else:
        roi, cpc, cpic = Estimate(None, None, None), None, None
    warnings: list[ResultWarning] = []
    if srm.mismatch:
        warnings.append(ResultWarning(
            "sample_ratio_mismatch", f"sample-ratio mismatch (p = {srm.p_value:.2g}): the arms are not in the planned "
            f"{1 - share:.0%}/{share:.0%} split, so the comparison may be biased; check how the audience was sent",
            p_value=srm.p_value, holdout_share=share))
    missing = int((~frame["has_outcome"]).sum()) if "has_outcome" in frame.columns else 0
    if missing == len(frame):
        warnings.append(ResultWarning("no_outcomes", "no outcomes imported yet: every number below is zero "
                                      "(lookalike campaign outcomes)"))
    res = CampaignResults(name, alpha, arms, uplifts, boot, float(cost), inc_conv, inc_rev, roi, cpc, cpic, srm,
                          missing, "", tuple(warnings))
    return _with_verdict(res)


def _pct(x: float) -> str:
    return f"{x * 100:+.2f} pp"


def verdict_text(r: CampaignResults, lang: str = "en", currency: str | None = None) -> str:
    """The plain verdict of a campaign in ``lang``: conversion (up, down or unclear, with the interval and
    the p-value), incremental revenue, and whether the campaign paid for its cost; numbers and money in
    the locale's format (``currency``: ISO code of the amounts, when known)."""
    t = translator(lang)
    conf = format_percent(1 - r.alpha, lang, 0)
    pp = lambda x: format_points(x, lang)  # noqa: E731
    num = lambda x: format_number(x, lang)  # noqa: E731
    money = lambda x: format_money(x, lang, currency, decimals=0)  # noqa: E731
    c, v = r.uplifts["conversion_rate"], r.uplifts["revenue_per_customer"]
    p = p_clause(c.p_value, lang)
    if c.diff_low > 0:
        inc = r.incremental_conversions
        head = t("verdict_up", diff=pp(c.diff), conf=conf, low=pp(c.diff_low), high=pp(c.diff_high), p=p,
                 extra=num(inc.value), treated=num(r.srm.n_treatment), extra_low=num(inc.low), extra_high=num(inc.high))
    elif c.diff_high < 0:
        head = t("verdict_down", diff=pp(-c.diff).lstrip("+"), conf=conf, low=pp(c.diff_low), high=pp(c.diff_high), p=p)
    else:
        head = t("verdict_none", diff=pp(c.diff), conf=conf, low=pp(c.diff_low), high=pp(c.diff_high), p=p)
    rev = t("verdict_revenue", value=money(r.incremental_revenue.value), conf=conf,
            low=money(r.incremental_revenue.low), high=money(r.incremental_revenue.high))
    few = int(min(r.arms.loc["treatment", "converters"], r.arms.loc["control", "converters"]))
    if few < MIN_CONVERTERS:
        # Welch's interval leans on each arm's variance; with a handful of buyers it is not trustworthy.
        rev += t("verdict_few", few=num(few))
    elif r.cost > 0:
        key = ("verdict_paid" if r.incremental_revenue.low > r.cost else
               "verdict_not_paid" if r.incremental_revenue.high < r.cost else "verdict_uncertain")
        rev += t(key, cost=money(r.cost))
    else:
        rev += t("verdict_no_cost")
    if v.diff_low <= 0 <= v.diff_high and c.diff_low > 0:
        rev += t("verdict_noisy")
    return head + rev


def _with_verdict(r: CampaignResults) -> CampaignResults:
    return CampaignResults(**{**r.__dict__, "verdict": verdict_text(r, "en")})


def campaign_results(engine: sa.Engine, ref: int | str, *, alpha: float = 0.05, bootstrap: bool = True) -> CampaignResults:
    """Results of a stored campaign (by name or id)."""
    from lookalike.campaigns.store import campaign_frame, get_campaign, total_cost

    camp = get_campaign(engine, ref)
    frame = campaign_frame(engine, camp.id)
    return results_from_frame(frame, name=camp.name, holdout_share=camp.holdout_share,
                              cost=total_cost(engine, camp.id), alpha=alpha, bootstrap=bootstrap)


def stored_results(engine: sa.Engine, *, alpha: float = 0.05) -> list[CampaignResults]:
    """The results of every campaign in the store, oldest first."""
    from lookalike.campaigns.store import list_campaigns

    return [campaign_results(engine, int(i), alpha=alpha) for i in sorted(list_campaigns(engine)["id"])]


@dataclass(frozen=True)
class Comparison:
    """Two campaigns (or audiences) side by side and the difference of their conversion uplifts."""

    table: pd.DataFrame
    uplift_difference: Estimate
    p_value: float
    reading: str

    def to_dict(self) -> dict:
        """Plain values."""
        return to_jsonable({"table": self.table.to_dict("records"), "uplift_difference": self.uplift_difference.to_dict(),
                            "p_value": self.p_value, "reading": self.reading}, "comparison")


def compare_results(a: CampaignResults, b: CampaignResults) -> Comparison:
    """Compare the conversion uplift of ``a`` and ``b`` (independent audiences; normal approximation).

    The standard error of each uplift is recovered from its interval width; the difference of two
    independent uplifts has variance ``se_a² + se_b²``. When the campaigns share one control group
    (Hillstrom's two e-mails) the uplifts are positively correlated and this test is conservative.
    """
    z = sps.norm.ppf(1 - a.alpha / 2)
    ua, ub = a.uplifts["conversion_rate"], b.uplifts["conversion_rate"]
    se = math.hypot((ua.diff_high - ua.diff_low) / (2 * z), (ub.diff_high - ub.diff_low) / (2 * z))
    d = ua.diff - ub.diff
    p = float(2 * sps.norm.sf(abs(d) / se)) if se > 0 else 1.0
    est = Estimate(d, d - z * se, d + z * se)
    rows = []
    for r in (a, b):
        rows.append({"campaign": r.name, "treated": r.srm.n_treatment, "control": r.srm.n_control,
                     "conversion_treatment": r.uplifts["conversion_rate"].treatment,
                     "conversion_control": r.uplifts["conversion_rate"].control,
                     "conversion_uplift": r.uplifts["conversion_rate"].diff,
                     "revenue_per_customer_uplift": r.uplifts["revenue_per_customer"].diff,
                     "incremental_revenue": r.incremental_revenue.value, "cost": r.cost,
                     "incremental_roi": r.incremental_roi.value})
    conf = f"{1 - a.alpha:.0%}"
    if est.low > 0 or est.high < 0:
        better, worse = (a, b) if d > 0 else (b, a)
        lo, hi = (est.low, est.high) if d > 0 else (-est.high, -est.low)
        reading = (f"{better.name} produced a larger conversion uplift than {worse.name}: difference "
                   f"{_pct(abs(d))} ({conf} CI {_pct(lo)} to {_pct(hi)}, p = {p:.2g}).")
    else:
        reading = (f"The conversion uplifts of {a.name} and {b.name} cannot be told apart: difference "
                   f"{_pct(d)} ({conf} CI {_pct(est.low)} to {_pct(est.high)}, p = {p:.2g}).")
    return Comparison(pd.DataFrame(rows), est, p, reading)
