"""The feature spec for a customer table built from a log."""

from __future__ import annotations

import pandas as pd

from lookalike.features import DEFAULT_BOOLEAN, FeatureSpec

__all__ = ["transaction_feature_spec"]


def transaction_feature_spec(customers: pd.DataFrame, *, base: FeatureSpec | None = None) -> FeatureSpec:
    """The feature spec for a table built from a log: the default spec, plus what a log adds.

    Added: every ``share_*`` column (numeric: the spend mix says what kind of shopper this
    is, which totals do not) and ``preferred_weekday``, ``hour_band`` (categorical: when the
    customer shops). Dropped: default columns a log cannot fill (every value missing or one
    single value, such as ``age``, ``income``, ``signup_channel``), which would only add
    constants. ``first_purchase``/``last_purchase``/``tenure_days`` are not added: they
    repeat tenure and recency.
    """
    base = base or FeatureSpec.default()
    empty = [c for c in base.columns if c in customers.columns and customers[c].nunique(dropna=True) <= 1
             and c not in DEFAULT_BOOLEAN]
    shares = tuple(c for c in customers.columns if c.startswith("share_") and c not in base.columns)
    extra_cat = tuple(c for c in ("preferred_weekday", "hour_band") if c in customers.columns
                      and c not in base.columns)
    spec = base.without(*empty) if empty else base
    groups = {k: tuple(c for c in v if c not in empty) for k, v in spec.groups.items()}
    groups["preferences"] = groups.get("preferences", ()) + shares + extra_cat
    return FeatureSpec(numeric=spec.numeric + shares, log=tuple(c for c in spec.log if c in spec.numeric),
                       categorical=spec.categorical + extra_cat, boolean=spec.boolean,
                       excluded=spec.excluded,
                       sensitive=spec.sensitive, groups=groups)
