"""Comparing audiences: refresh (who entered, who left), overlap, and feature drift between data versions.

Drift is measured with the population stability index (PSI) per feature:
``Σ (p_new − p_old) · ln(p_new / p_old)`` over ten quantile bins of the old data
(categories for categorical features). Reading: below 0.1 stable, 0.1–0.25 a
moderate shift, above 0.25 a large shift — refit before trusting the new audience.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lookalike.errors import ResultWarning
from lookalike.features import to_number

PSI_WARN = 0.25
PSI_WATCH = 0.10


@dataclass(frozen=True)
class RefreshReport:
    """What changed between two versions of an audience."""

    old_size: int
    new_size: int
    stayed: int
    entered: list[str]
    left: list[str]
    jaccard: float
    drift: pd.DataFrame
    warnings: list[ResultWarning]

    def to_dict(self) -> dict:
        return {
            "old_size": self.old_size, "new_size": self.new_size, "stayed": self.stayed,
            "entered": len(self.entered), "left": len(self.left), "jaccard": round(self.jaccard, 4),
            "drift": self.drift.round(4).to_dict(orient="records"), "warnings": self.warnings,
        }


def psi(old: pd.Series, new: pd.Series, bins: int = 10) -> float:
    """Population stability index of one feature between two samples."""
    eps = 1e-6
    if isinstance(old.dtype, pd.CategoricalDtype) or old.dtype == object or pd.api.types.is_string_dtype(old):
        p = old.astype(str).value_counts(normalize=True)
        q = new.astype(str).value_counts(normalize=True)
        cats = p.index.union(q.index)
        p, q = p.reindex(cats, fill_value=0).to_numpy(), q.reindex(cats, fill_value=0).to_numpy()
    else:
        o = to_number(old).dropna().to_numpy(dtype=float)
        nw = to_number(new).dropna().to_numpy(dtype=float)
        if len(o) == 0 or len(nw) == 0:
            return float("nan")
        edges = np.unique(np.quantile(o, np.linspace(0, 1, bins + 1)))
        edges[0], edges[-1] = -np.inf, np.inf
        p = np.histogram(o, edges)[0] / len(o)
        q = np.histogram(nw, edges)[0] / len(nw)
    p, q = np.clip(p, eps, None), np.clip(q, eps, None)
    return float(np.sum((q - p) * np.log(q / p)))


def feature_drift(old: pd.DataFrame, new: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """PSI per feature column present in both tables, largest first."""
    rows = [{"feature": c, "psi": psi(old[c], new[c])} for c in columns if c in old.columns and c in new.columns]
    out = pd.DataFrame(rows, columns=["feature", "psi"]).sort_values("psi", ascending=False, kind="stable")
    out["reading"] = np.select([out.psi > PSI_WARN, out.psi > PSI_WATCH], ["large shift", "moderate shift"], "stable")
    return out.reset_index(drop=True)


def compare_audiences(old: pd.DataFrame, new: pd.DataFrame, *, old_customers: pd.DataFrame | None = None,
                      new_customers: pd.DataFrame | None = None, columns: Sequence[str] = ()) -> RefreshReport:
    """Who entered and left between two audience versions, their overlap, and drift of the data behind them."""
    a, b = pd.Index(old["customer_id"].astype(str)), pd.Index(new["customer_id"].astype(str))
    stayed = a.intersection(b)
    union = a.union(b)
    drift = (feature_drift(old_customers, new_customers, columns)
             if old_customers is not None and new_customers is not None else pd.DataFrame(columns=["feature", "psi", "reading"]))
    warnings = [ResultWarning("feature_drift", f"feature {r.feature} drifted between the data versions "
                              f"(PSI {r.psi:.2f} > {PSI_WARN}); refit the model and review the audience",
                              feature=r.feature, psi=float(r.psi))
                for r in drift.itertuples() if r.psi > PSI_WARN]
    return RefreshReport(
        old_size=len(a), new_size=len(b), stayed=len(stayed),
        entered=sorted(b.difference(a)), left=sorted(a.difference(b)),
        jaccard=len(stayed) / len(union) if len(union) else 1.0, drift=drift, warnings=warnings,
    )


def overlap_matrix(audiences: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Pairwise overlap of several audiences: shared customers and Jaccard index, one row per pair."""
    names = list(audiences)
    ids = {n: pd.Index(audiences[n]["customer_id"].astype(str)) for n in names}
    rows = []
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            shared = len(ids[x].intersection(ids[y]))
            union = len(ids[x].union(ids[y]))
            rows.append({"audience_a": x, "audience_b": y, "size_a": len(ids[x]), "size_b": len(ids[y]),
                         "shared": shared, "jaccard": shared / union if union else 0.0})
    return pd.DataFrame(rows, columns=["audience_a", "audience_b", "size_a", "size_b", "shared", "jaccard"])
