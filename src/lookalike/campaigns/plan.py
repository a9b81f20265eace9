"""Planning a campaign: how many customers are needed, or what effect a given audience can detect.

Power for two proportions with statsmodels: Cohen's ``h = proportion_effectsize(p1, p0)`` and
``NormalIndPower().solve_power(h, nobs1=n_treatment, ratio=n_control / n_treatment)``. Fix the horizon
from this before launch: looking at a fixed-horizon test every day inflates false positives.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from scipy import optimize
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from lookalike.campaigns.holdout import check_share
from lookalike.errors import ParameterError


@dataclass(frozen=True)
class Plan:
    """A power calculation: sizes per arm, the detectable effect and the assumptions behind them."""

    base_rate: float
    mde: float
    relative_mde: float
    holdout_share: float
    alpha: float
    power: float
    n_treatment: int
    n_control: int

    @property
    def n_total(self) -> int:
        """Customers needed in the audience (both arms)."""
        return self.n_treatment + self.n_control

    def to_dict(self) -> dict:
        """Plain values, JSON-ready (with n_total)."""
        return {**asdict(self), "n_total": self.n_total}


def _checks(base_rate: float, alpha: float, power: float, holdout_share: float) -> None:
    if not 0 < base_rate < 1:
        raise ParameterError(f"base rate must be a share between 0 and 1 (e.g. 0.02 for 2%), got {base_rate!r}")
    if not 0 < alpha < 0.5:
        raise ParameterError(f"alpha must be between 0 and 0.5 (usually 0.05), got {alpha!r}")
    if not 0 < power < 1:
        raise ParameterError(f"power must be between 0 and 1 (usually 0.8), got {power!r}")
    check_share(holdout_share)


def sample_size(base_rate: float, mde: float, *, holdout_share: float = 0.1, alpha: float = 0.05,
                power: float = 0.8, relative: bool = False) -> Plan:
    """Customers per arm to detect an uplift of ``mde`` (absolute, or relative when ``relative=True``).

    >>> p = sample_size(0.02, 0.1, relative=True, holdout_share=0.5)
    >>> 75_000 < p.n_treatment == p.n_control < 85_000
    True
    """
    _checks(base_rate, alpha, power, holdout_share)
    abs_mde = mde * base_rate if relative else mde
    if abs_mde <= 0 or base_rate + abs_mde >= 1:
        raise ParameterError(f"minimum detectable effect must be > 0 and keep the rate below 1; got {mde!r} "
                             f"({'relative' if relative else 'absolute'}) on a base rate of {base_rate}")
    h = abs(proportion_effectsize(base_rate + abs_mde, base_rate))
    ratio = holdout_share / (1 - holdout_share)
    n_t = NormalIndPower().solve_power(effect_size=h, nobs1=None, alpha=alpha, power=power, ratio=ratio)
    n_t = math.ceil(n_t)
    return Plan(base_rate, abs_mde, abs_mde / base_rate, holdout_share, alpha, power, n_t,
                math.ceil(n_t * ratio))


def minimum_detectable_effect(base_rate: float, n_total: int, *, holdout_share: float = 0.1, alpha: float = 0.05,
                              power: float = 0.8) -> Plan:
    """The smallest absolute uplift an audience of ``n_total`` customers detects with the given power."""
    _checks(base_rate, alpha, power, holdout_share)
    n_c = round(n_total * holdout_share)
    n_t = n_total - n_c
    if n_c < 2 or n_t < 2:
        raise ParameterError(f"an audience of {n_total} with holdout {holdout_share} leaves {n_c} in control; "
                             "it needs at least 2 customers per arm")
    h = NormalIndPower().solve_power(effect_size=None, nobs1=n_t, alpha=alpha, power=power, ratio=n_c / n_t)
    top = 1 - 1e-9 - base_rate
    if abs(proportion_effectsize(base_rate + top, base_rate)) < h:
        raise ParameterError(f"no uplift up to a rate of 100% is detectable with {n_total} customers; "
                             "use a larger audience or holdout")
    # Cohen's h is monotone in the treated rate: invert it numerically.
    mde = optimize.brentq(lambda d: abs(proportion_effectsize(base_rate + d, base_rate)) - h, 1e-12, top)
    return Plan(base_rate, float(mde), float(mde) / base_rate, holdout_share, alpha, power, int(n_t), int(n_c))


#: Audience sizes of an uplift plan, as shares of the customers scored.
PLAN_SHARES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def uplift_plan(model, customers, shares=PLAN_SHARES, *, n_resamples: int = 1000, alpha: float = 0.05,
                random_state: int = 0):
    """Expected incremental conversions and revenue for audiences of the best 10%…100% of ``customers``.

    ``customers`` are ranked by the model's predicted uplift. The incremental outcome per customer of
    the best ``share`` is measured on the model's own training campaign(s): the treated-minus-control
    rate among its training customers ranked by their *out-of-fold* predictions (so the model is never
    judged on customers it was fitted to), with a percentile bootstrap over those customers; it is
    multiplied by the audience size. This assumes the customers resemble the training campaign's and
    the message is the same. ``predicted_incremental`` is the model's own sum over the audience, in
    its outcome's units, for comparison (uplift models are often miscalibrated, the measured rows are
    the ones to plan with). Returns one row per share.
    """
    import numpy as np
    import pandas as pd

    from lookalike.campaigns.uplift import uplift_at_shares

    model._check_fitted()
    pred = model.predict(customers)
    n = len(pred)
    if n == 0:
        raise ParameterError("no customers to plan for; give the customer table the audience is drawn from")
    tr = model.training_
    t = tr["_treatment"].to_numpy()
    oof = tr["_oof"].to_numpy()
    shares = np.asarray(shares, dtype=float)
    sizes = np.maximum(1, np.round(shares * n)).astype(int)
    out = pd.DataFrame({"share": shares, "customers": sizes})
    outcomes = {"conversions": "_conversions" if "_conversions" in tr else ("_y" if model.outcome == "conversions"
                                                                             else None),
                "revenue": "_revenue" if "_revenue" in tr else ("_y" if model.outcome == "revenue" else None)}
    for label, col in outcomes.items():
        if col is None:
            continue
        y = tr[col].to_numpy(dtype=float)
        if label == "conversions":
            y = (y > 0).astype(float)  # customers converting, as in the campaign report
        u = uplift_at_shares(y, oof, t, shares, n_resamples=n_resamples, alpha=alpha, random_state=random_state)
        out[f"incremental_{label}"] = u["uplift"].to_numpy() * sizes
        out[f"{label}_low"] = u["ci_low"].to_numpy() * sizes
        out[f"{label}_high"] = u["ci_high"].to_numpy() * sizes
    ranked = np.sort(pred)[::-1]
    out["predicted_incremental"] = np.cumsum(ranked)[sizes - 1]
    return out
