"""Holdout assignment: who gets the campaign (treatment) and who is held out (control).

Assignment is a pure function of ``(salt, customer_id)``: ``bucket = int(sha256(f"{salt}:{id}")) % 10000``,
control when ``bucket < holdout_share * 10000``. The same salt always gives the same split, a new salt
(one per campaign) gives an independent one. With ``strata``, customers are ranked by bucket inside
each stratum and the lowest ``round(share * n_stratum)`` go to control, so every stratum holds out the
same share exactly (still deterministic, still driven only by the hash).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from lookalike.errors import InputError, ParameterError

logger = logging.getLogger(__name__)

N_BUCKETS = 10_000
SMD_WARN = 0.1  # the usual balance threshold on absolute standardized mean differences


def new_salt() -> str:
    """A fresh random salt for a new campaign (32 hex characters)."""
    return secrets.token_hex(16)


def hash_buckets(ids: Sequence[str] | pd.Series, salt: str) -> np.ndarray:
    """``int(sha256(f"{salt}:{id}").hexdigest(), 16) % 10000`` for every id, as an int64 array.

    >>> int(hash_buckets(["C1"], "s")[0]) == int(hashlib.sha256(b"s:C1").hexdigest(), 16) % 10000
    True
    """
    ids = pd.Series(ids, dtype=object).astype(str)
    inverse, uniq = pd.factorize(ids.to_numpy(dtype=object))  # object array: iterating Arrow strings is slow
    # hashlib has no array interface: one C call per distinct id; the 256-bit modulo is then vectorized
    # over customers by Horner's rule on the 32 digest bytes (exactly int(hex, 16) % 10000).
    digests = b"".join(hashlib.sha256(f"{salt}:{i}".encode()).digest() for i in uniq.tolist())
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(len(uniq), 32).astype(np.int64)
    r = np.zeros(len(uniq), dtype=np.int64)
    for b in range(32):
        r = (r * 256 + raw[:, b]) % N_BUCKETS
    return r[inverse.reshape(-1)]


def assign_arms(ids: Sequence[str] | pd.Series, salt: str, holdout_share: float = 0.1,
                strata: Sequence | pd.Series | None = None) -> pd.DataFrame:
    """Assign each id to ``treatment`` or ``control``; returns customer_id, bucket, arm, stratum.

    >>> a = assign_arms([f"C{i}" for i in range(1000)], salt="demo", holdout_share=0.2)
    >>> a.equals(assign_arms([f"C{i}" for i in range(1000)], salt="demo", holdout_share=0.2))
    True
    """
    check_share(holdout_share)
    if not isinstance(salt, str) or not salt:
        raise ParameterError("salt must be a non-empty string; leave it out to get a fresh random one")
    s = pd.Series(ids, dtype=object)
    if s.isna().any():
        raise InputError(f"{int(s.isna().sum())} audience row(s) have no customer_id; remove them first")
    s = s.astype(str)
    dup = s.duplicated()
    if dup.any():
        raise InputError(f"customer_id {s[dup].iloc[0]!r} appears more than once in the audience "
                         f"({int(dup.sum())} duplicate row(s)); deduplicate the audience first")
    bucket = hash_buckets(s, salt)
    out = pd.DataFrame({"customer_id": s.to_numpy(), "bucket": bucket})
    if strata is None:
        out["arm"] = np.where(bucket < round(holdout_share * N_BUCKETS), "control", "treatment")
        out["stratum"] = None
        return out
    st = pd.Series(strata, dtype=object).reset_index(drop=True)
    if len(st) != len(out):
        raise ParameterError(f"strata has {len(st)} values for {len(out)} customers; pass one per customer")
    out["stratum"] = st.where(st.notna(), "(missing)").astype(str).to_numpy()
    # Rank inside the stratum by (bucket, id) so ties between equal buckets break deterministically.
    order = out.sort_values(["stratum", "bucket", "customer_id"], kind="stable")
    pos = order.groupby("stratum", sort=False).cumcount().to_numpy()
    size = order.groupby("stratum", sort=False)["customer_id"].transform("size").to_numpy()
    n_ctrl = np.floor(holdout_share * size + 0.5)
    arm = pd.Series(np.where(pos < n_ctrl, "control", "treatment"), index=order.index)
    out["arm"] = arm.reindex(out.index).to_numpy()
    return out


def check_share(share: float) -> float:
    """``share`` if it is a control share strictly between 0 and 1, else a ParameterError."""
    try:
        ok = 0.0 < float(share) < 1.0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ParameterError(f"holdout share must be between 0 and 1 (e.g. 0.1 for 10%), got {share!r}")
    return float(share)


@dataclass(frozen=True)
class SampleRatioCheck:
    """Sample-ratio mismatch test: observed arm sizes against the planned control share."""

    n_treatment: int
    n_control: int
    expected_share: float
    statistic: float
    p_value: float

    @property
    def mismatch(self) -> bool:
        """True when the split is too far from the plan to be chance (p < 0.001, the usual SRM alarm)."""
        return self.p_value < 0.001


def sample_ratio_check(n_treatment: int, n_control: int, holdout_share: float) -> SampleRatioCheck:
    """Chi-square goodness of fit of the arm sizes to the planned split (``scipy.stats.chisquare``)."""
    n = n_treatment + n_control
    if n == 0:
        raise InputError("no customers are assigned; a sample-ratio check needs an audience")
    res = stats.chisquare([n_treatment, n_control], f_exp=[n * (1 - holdout_share), n * holdout_share])
    return SampleRatioCheck(int(n_treatment), int(n_control), float(holdout_share), float(res.statistic),
                            float(res.pvalue))


def balance_table(features: pd.DataFrame, arm: Sequence[str] | pd.Series,
                  columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Standardized mean differences between arms, one row per feature (numeric columns; categories one-hot).

    ``smd = (mean_t - mean_c) / sqrt((var_t + var_c) / 2)``; ``unbalanced`` when ``|smd| > 0.1``.
    Returns columns feature, mean_treatment, mean_control, smd, unbalanced.
    """
    arm = pd.Series(arm).to_numpy()
    if len(arm) != len(features):
        raise ParameterError(f"{len(arm)} arm labels for {len(features)} feature rows")
    cols = list(columns) if columns is not None else [c for c in features.columns if c != "customer_id"]
    frame = features[cols]
    num = frame.select_dtypes(include=["number", "bool"]).astype(float)
    cat = frame.drop(columns=num.columns)
    small = [c for c in cat.columns if cat[c].nunique(dropna=True) <= 20]
    parts = [num]
    if small:
        parts.append(pd.get_dummies(cat[small].astype("string"), prefix_sep="=", dtype=float))
    X = pd.concat(parts, axis=1)
    if X.shape[1] == 0:
        return pd.DataFrame(columns=["feature", "mean_treatment", "mean_control", "smd", "unbalanced"])
    t, c = X[arm == "treatment"], X[arm == "control"]
    mt, mc = t.mean(), c.mean()
    pooled = np.sqrt((t.var() + c.var()) / 2)
    smd = (mt - mc) / pooled.replace(0, np.nan)
    out = pd.DataFrame({"feature": X.columns, "mean_treatment": mt.to_numpy(), "mean_control": mc.to_numpy(),
                        "smd": smd.fillna(0.0).to_numpy()})
    out["unbalanced"] = out["smd"].abs() > SMD_WARN
    return out.reset_index(drop=True)
