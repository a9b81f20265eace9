"""Simulated campaigns with a known true uplift: the demo's end-to-end flow and the coverage check.

Outcomes are drawn per customer: conversion ~ Bernoulli(base_rate + uplift) in treatment and
Bernoulli(base_rate) in control, revenue = conversion × Gamma(shape 2, mean ``order_value``).
The truth is therefore known: the conversion uplift is ``uplift`` and the revenue-per-customer uplift
is ``uplift × order_value``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from lookalike.campaigns.holdout import assign_arms, check_share
from lookalike.campaigns.report import CampaignResults, campaign_results
from lookalike.campaigns.store import add_cost, assignments_frame, create_campaign, import_outcomes
from lookalike.database import open_database
from lookalike.errors import ParameterError
from lookalike.features import FeatureSpec


def simulate_outcomes(assignments: pd.DataFrame, *, base_rate: float = 0.04, uplift: float = 0.01,
                      order_value: float = 60.0, open_rate: float = 0.3, random_state: int = 0) -> pd.DataFrame:
    """Outcome rows (customer_id, sends, opens, clicks, conversions, revenue) for assigned customers."""
    if not (0 <= base_rate < 1 and 0 <= base_rate + uplift <= 1):
        raise ParameterError(f"base_rate {base_rate} with uplift {uplift} is not a valid pair of probabilities")
    rng = np.random.default_rng(random_state)
    t = (assignments["arm"] == "treatment").to_numpy()
    n = len(t)
    conv = rng.random(n) < np.where(t, base_rate + uplift, base_rate)
    opens = t & (rng.random(n) < open_rate)
    clicks = opens & (rng.random(n) < 0.3)
    revenue = np.where(conv, rng.gamma(2.0, order_value / 2.0, n), 0.0).round(2)
    return pd.DataFrame({"customer_id": assignments["customer_id"].to_numpy(), "sends": t.astype(int),
                         "opens": opens.astype(int), "clicks": clicks.astype(int), "conversions": conv.astype(int),
                         "revenue": revenue})


def run_simulated_campaign(engine: sa.Engine, audience: pd.DataFrame, *, name: str = "simulated",
                           customers: pd.DataFrame | None = None, holdout_share: float = 0.1,
                           base_rate: float = 0.04, uplift: float = 0.01, order_value: float = 60.0,
                           cost_per_send: float = 0.05, salt: str | None = None, random_state: int = 0):
    """Create a campaign from ``audience``, simulate outcomes with a known uplift, import them, report.

    Returns ``(CreatedCampaign, CampaignResults)``; used by ``lookalike demo``.
    """
    created = create_campaign(engine, name, audience, holdout_share=holdout_share, salt=salt or f"sim-{random_state}",
                              customers=customers, channel="email", label="lookalike",
                              description=f"simulated: base rate {base_rate}, true uplift {uplift}")
    outcomes = simulate_outcomes(assignments_frame(engine, created.campaign.id), base_rate=base_rate, uplift=uplift,
                                 order_value=order_value, random_state=random_state)
    import_outcomes(engine, created.campaign.id, outcomes)
    add_cost(engine, created.campaign.id, cost_per_send * created.campaign.n_treatment, description="sends")
    return created, campaign_results(engine, created.campaign.id)


@dataclass(frozen=True)
class Coverage:
    """How often the intervals of many simulated campaigns covered the true uplift."""

    n_campaigns: int
    covered_conversion: int
    covered_revenue: int
    nominal: float
    bound: tuple[int, int]

    @property
    def rates(self) -> tuple[float, float]:
        """Observed coverage of the conversion and revenue intervals."""
        return self.covered_conversion / self.n_campaigns, self.covered_revenue / self.n_campaigns

    @property
    def within_bound(self) -> bool:
        """True when both coverage counts are inside the binomial bound around the nominal level."""
        lo, hi = self.bound
        return lo <= self.covered_conversion <= hi and lo <= self.covered_revenue <= hi


def coverage_study(n_campaigns: int = 200, n_customers: int = 4000, *, holdout_share: float = 0.2,
                   base_rate: float = 0.05, uplift: float = 0.02, order_value: float = 60.0, alpha: float = 0.05,
                   bound_level: float = 0.999, random_state: int = 0) -> Coverage:
    """Simulate ``n_campaigns`` campaigns at once (arrays, not loops) and count CI coverage.

    Each campaign uses a fresh salt for the sha256 assignment, then the same interval methods as
    the report: Newcombe for the conversion difference (statsmodels), Welch for revenue per customer.
    The bound is the central ``bound_level`` binomial interval of the covered count at ``1 - alpha``.
    """
    check_share(holdout_share)
    rng = np.random.default_rng(random_state)
    ids = pd.Series([f"C{i:07d}" for i in range(n_customers)])
    # One salt per campaign; the arms come from the real assignment function.
    ctrl = np.stack([(assign_arms(ids, f"cov-{random_state}-{j}", holdout_share)["arm"] == "control").to_numpy()
                     for j in range(n_campaigns)])
    p = np.where(ctrl, base_rate, base_rate + uplift)
    conv = rng.random(p.shape) < p
    rev = np.where(conv, rng.gamma(2.0, order_value / 2.0, p.shape), 0.0)
    n_c = ctrl.sum(axis=1)
    n_t = n_customers - n_c
    c_c = (conv & ctrl).sum(axis=1)
    c_t = (conv & ~ctrl).sum(axis=1)
    lo, hi = confint_proportions_2indep(c_t, n_t, c_c, n_c, compare="diff", method="newcomb", alpha=alpha)
    cov_conv = int(((lo <= uplift) & (uplift <= hi)).sum())
    # Welch per campaign in one scipy call: each row is a campaign, the other arm's customers are NaN.
    welch = stats.ttest_ind(np.where(ctrl, np.nan, rev), np.where(ctrl, rev, np.nan), axis=1, equal_var=False,
                            nan_policy="omit").confidence_interval(1 - alpha)
    true_rev = uplift * order_value
    cov_rev = int(((welch.low <= true_rev) & (true_rev <= welch.high)).sum())
    tail = (1 - bound_level) / 2
    bound = (int(stats.binom.ppf(tail, n_campaigns, 1 - alpha)), int(stats.binom.ppf(1 - tail, n_campaigns, 1 - alpha)))
    return Coverage(n_campaigns, cov_conv, cov_rev, 1 - alpha, bound)


def demo_campaign(audience: pd.DataFrame, customers: pd.DataFrame | None, out_dir, *, true_uplift: float = 0.02,
                  base_rate: float = 0.04, random_state: int = 0) -> tuple[Path, CampaignResults, str]:
    """The demo's campaign step: audience → campaign with a 10% holdout → simulated outcomes with a
    known uplift → results. Writes ``campaigns.db`` (fresh) into ``out_dir``; returns its path, the
    results (the caller draws the report) and a one-line summary that says whether the interval
    recovered the truth.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    db_path = out / "campaigns.db"
    db_path.unlink(missing_ok=True)  # the demo's own store: start clean on every run
    engine = open_database(f"sqlite:///{db_path}")
    try:
        _, results = run_simulated_campaign(engine, audience, name="demo-vip-lookalikes", customers=customers,
                                            holdout_share=0.1, base_rate=base_rate, uplift=true_uplift,
                                            random_state=random_state)
    finally:
        engine.dispose()
    u = results.uplifts["conversion_rate"]
    hit = "inside" if u.diff_low <= true_uplift <= u.diff_high else "OUTSIDE"
    summary = (f"campaign (simulated, true uplift {true_uplift * 100:+.2f} pp): estimated {u.diff * 100:+.2f} pp, "
               f"95% CI {u.diff_low * 100:+.2f} to {u.diff_high * 100:+.2f} pp — the truth is {hit} the interval. "
               + results.verdict)
    return db_path, results, summary


#: The four uplift segments of a simulated campaign: conversion rate without and with the message.
UPLIFT_SEGMENTS: dict[str, tuple[float, float]] = {
    "persuadable": (0.02, 0.25),      # buys only when contacted
    "sure_thing": (0.60, 0.60),       # buys anyway
    "lost_cause": (0.01, 0.01),       # never buys
    "do_not_disturb": (0.60, 0.35),   # contacting puts them off
}


@dataclass(frozen=True)
class UpliftSimulation:
    """Customers of a randomized campaign with a known heterogeneous effect."""

    customers: pd.DataFrame      # customer_id, engagement, affinity, tenure_months, region
    spec: object                 # the FeatureSpec of those columns
    segment: np.ndarray          # one of UPLIFT_SEGMENTS per customer
    true_uplift: np.ndarray      # P(convert | contacted) - P(convert | not contacted)
    treatment: np.ndarray        # 1 treated, 0 control (randomized, ``treated_share``)
    converted: np.ndarray        # 0/1 outcome
    revenue: np.ndarray          # converted × Gamma(2, order_value / 2)


def simulate_uplift_customers(n: int = 20_000, *, treated_share: float = 0.5, order_value: float = 60.0,
                              random_state: int = 0) -> UpliftSimulation:
    """A randomized campaign whose effect depends on two features (the four classic uplift segments).

    ``engagement > 0`` and ``affinity > 0`` (both standard normal): sure things; engagement high but
    affinity low: persuadables; engagement low but affinity high: do-not-disturbs; both low: lost
    causes (a quarter each). A response model ranks the sure things and do-not-disturbs first (they
    convert most when contacted); only an uplift model finds the persuadables.
    """
    check_share(1 - treated_share)
    rng = np.random.default_rng(random_state)
    engagement, affinity = rng.standard_normal(n), rng.standard_normal(n)
    names = np.array(list(UPLIFT_SEGMENTS))
    rates = np.array(list(UPLIFT_SEGMENTS.values()))  # (segment, [without, with])
    # (engaged, affine) -> sure_thing; engaged only -> persuadable; affine only -> do_not_disturb; else lost_cause
    idx = np.select([(engagement > 0) & (affinity > 0), engagement > 0, affinity > 0], [1, 0, 3], 2)
    seg, p0, p1 = names[idx], rates[idx, 0], rates[idx, 1]
    t = (rng.random(n) < treated_share).astype(int)
    converted = (rng.random(n) < np.where(t == 1, p1, p0)).astype(int)
    revenue = np.where(converted == 1, rng.gamma(2.0, order_value / 2.0, n), 0.0).round(2)
    customers = pd.DataFrame({"customer_id": [f"U{i:07d}" for i in range(n)], "engagement": engagement,
                              "affinity": affinity, "tenure_months": rng.integers(1, 120, n),
                              "region": rng.choice(["Norte", "Sur", "Este", "Oeste"], n)})
    spec = FeatureSpec(numeric=("engagement", "affinity", "tenure_months"), log=(), boolean=(),
                       categorical=("region",), groups={})
    return UpliftSimulation(customers, spec, seg, p1 - p0, t, converted, revenue)
