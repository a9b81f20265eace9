"""Feature relevance that can reach zero: pure-noise columns must not move the default.

The synthetic VIP-like task with 20 pure-noise categorical and 10 pure-noise numeric columns
appended to its table and features: the default's precision@N (same splits, same seeds) drops by
less than 2 points, because the noise gets (almost) no weight.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import lookalike as lk
from lookalike.audience.scoring import feature_groups, learned_weights
from lookalike.evaluation.backtest import _feature_matrix, backtest
from lookalike.evaluation.tasks import synthetic_task
from lookalike.synth import generate


def with_noise(task, n_numeric: int = 10, n_categorical: int = 20, random_state: int = 99):
    rng = np.random.default_rng(random_state)
    c = task.customers.copy()
    num = [f"noise_num{j}" for j in range(n_numeric)]
    cat = [f"noise_cat{j}" for j in range(n_categorical)]
    for col in num:
        c[col] = rng.standard_normal(len(c))
    for col in cat:
        c[col] = rng.choice([f"v{i}" for i in range(int(rng.integers(2, 9)))], len(c))
    spec = dataclasses.replace(task.spec, numeric=task.spec.numeric + tuple(num),
                               categorical=task.spec.categorical + tuple(cat))
    return dataclasses.replace(task, customers=c, spec=spec)


@pytest.fixture(scope="module")
def tasks():
    data = generate(20_000, seed=5)
    clean = synthetic_task(lk.clean_customers(data.raw).customers, data.customers)
    return clean, with_noise(clean)


def test_noise_columns_get_almost_no_weight(tasks):
    _, noisy = tasks
    X, names = _feature_matrix(noisy)
    groups, idx = feature_groups(names, noisy.spec.categorical)
    seeds = np.flatnonzero(noisy.seeds)
    w = learned_weights(X, seeds, idx, is_categorical=np.array([g in noisy.spec.categorical for g in groups]))
    per_group = {g: float(w[idx == i][0]) for i, g in enumerate(groups)}
    noise = [v for g, v in per_group.items() if g.startswith("noise_")]
    real = [per_group[g] for g in ("total_spent", "total_orders", "avg_ticket")]
    assert sum(v == 0 for v in noise) >= 27          # at most a few slip through by chance…
    assert max(noise) < 0.5 * min(real)               # …and then with a small weight


@pytest.mark.slow
def test_the_default_drops_less_than_2_points_with_30_noise_columns(tasks):
    clean, noisy = tasks
    kw = dict(n_splits=4, scorers=("auto",), baselines=(), customer_resamples=0)
    a = backtest(clean, **kw).splits.set_index("split")["precision@N"]
    b = backtest(noisy, **kw).splits.set_index("split")["precision@N"]
    assert (a - b).mean() < 0.02, f"clean {a.mean():.3f}, with noise {b.mean():.3f}"
