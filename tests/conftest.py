"""Shared fixtures: a private home for the session, small clean customer tables built in-test."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

# make test: the same examples on every run, so CI is repeatable; make fuzz explores new ones
# (and anything it finds becomes a deterministic regression test); make check, the fast loop, runs a
# fixed quarter of make test's examples
settings.register_profile("default", max_examples=200, deadline=None, derandomize=True)
settings.register_profile("check", max_examples=50, deadline=None, derandomize=True)
settings.register_profile("fuzz", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

#: The user's home as the session found it; no test may write under it (tests/test_isolation.py).
REAL_HOME = Path.home()


@pytest.fixture(scope="session", autouse=True)
def private_home(tmp_path_factory) -> Path:
    """Point HOME, XDG_CACHE_HOME, LOOKALIKE_CACHE_DIR and LOOKALIKE_HOME into a temporary directory for the
    whole session.

    Caches (the clean-table cache, erasure's cache scan), the default campaign store (``lookalike export``
    records contacts in it) and anything else that defaults to the home directory or ``./.lookalike`` then
    land in the test's own files; subprocesses (``lookalike serve``) inherit it.
    """
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("HOME", str(home))
    mp.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    mp.setenv("LOOKALIKE_CACHE_DIR", str(home / ".cache" / "lookalike"))
    mp.setenv("LOOKALIKE_HOME", str(home / ".lookalike"))
    yield home
    mp.undo()


def make_clean_customers(n: int = 500, seed: int = 0) -> pd.DataFrame:
    """A clean customer table with the contract's columns and two planted groups."""
    rng = np.random.default_rng(seed)
    big = rng.random(n) < 0.1
    orders = np.where(big, rng.integers(20, 35, n), rng.integers(2, 12, n))
    spent = orders * np.where(big, rng.lognormal(5.5, 0.2, n), rng.lognormal(3.5, 0.4, n))
    recency = rng.integers(0, 365, n).astype(float)
    never = rng.random(n) < 0.02
    recency[never] = np.nan
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(1, n + 1)],
            "age": pd.array(rng.integers(18, 75, n), dtype="Int64"),
            "gender": pd.Categorical(rng.choice(["F", "M", "Other", "Unknown"], n)),
            "income": np.where(big, rng.normal(70000, 5000, n), rng.normal(30000, 8000, n)).round(0),
            "tenure_months": pd.array(rng.integers(1, 120, n), dtype="Int64"),
            "total_orders": pd.array(orders, dtype="Int64"),
            "days_since_last_purchase": recency,
            "never_purchased": never,
            "pct_reordered": rng.random(n),
            "avg_items_per_order": rng.uniform(1, 14, n),
            "avg_ticket": spent / orders,
            "region": pd.Categorical(rng.choice(["Norte", "Sur", "Este", "Oeste", "Centro"], n)),
            "fav_category": pd.Categorical(np.where(big, "Electronics", rng.choice(["Kids", "Grocery", "Home"], n))),
            "signup_channel": pd.Categorical(rng.choice(["Mobile", "Web", "Store"], n)),
            "signup_date": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D"),
            "total_spent": spent.round(2),
            "vip_score": np.where(big, rng.uniform(0.8, 1, n), rng.uniform(0, 0.6, n)),
            "vip_flag": pd.array((big & (rng.random(n) < 0.3)).astype(int), dtype="Int64"),
            "promo_channel": pd.Categorical(rng.choice(["push", "sms", "email", "none"], n)),
            "promo_level": rng.integers(1, 4, n).astype(float),
            "notes": pd.array([None] * n, dtype="string"),
        }
    )


@pytest.fixture
def clean_table() -> pd.DataFrame:
    return make_clean_customers()
