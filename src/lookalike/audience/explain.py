"""Why was this customer picked? Per-feature contributions to the distance to the seeds.

For a customer ``x`` and its ``k`` nearest seeds ``s_1..s_k``, the distance used
for explanations is the mean squared distance ``D(x) = mean_i ||x − s_i||²``.
It splits exactly over input features: ``D(x) = Σ_f C_f(x)`` with
``C_f(x) = mean_i Σ_{j∈f} (x_j − s_ij)²`` (one-hot columns of a categorical
feature summed into that feature). A feature *explains* the pick when the
customer is much closer to the seeds on it than a typical customer is:
``gain_f(x) = median_pop C_f − C_f(x)``; the reason names the 2–3 largest gains.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lookalike.audience.scoring import nearest_seeds


#: rows explained at a time: the rows × k × columns differences of a block stay around 100 MB
_BLOCK = 40_000


def contributions(X: np.ndarray, seed_pos: np.ndarray, rows: np.ndarray, group_idx: np.ndarray,
                  n_groups: int, k: int = 10) -> np.ndarray:
    """``C_f`` for each of ``rows`` (shape rows × input features); rows sum to ``D(x)``."""
    _, pos = nearest_seeds(X, seed_pos, rows, k)
    out = np.zeros((len(rows), n_groups))
    for start in range(0, len(rows), _BLOCK):  # blocks of rows: 500k rows at once held gigabytes
        block = slice(start, start + _BLOCK)
        diff2 = (X[rows[block]][:, None, :].astype(np.float64) - X[pos[block]].astype(np.float64)) ** 2
        per_col = diff2.mean(axis=1)  # rows × k × columns -> rows × columns
        np.add.at(out[block].T, group_idx, per_col.T)
    return out


def explain(X: np.ndarray, seed_pos: np.ndarray, rows: np.ndarray, group_names: list[str],
            group_idx: np.ndarray, *, k: int = 10, top: int = 3, population: int = 2000,
            random_state: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Contributions table for ``rows`` and a reason string per row.

    Returns (DataFrame rows × features of ``C_f`` with a ``distance2`` total column,
    array of reasons like ``"close to the seeds on total_spent, avg_ticket, fav_category"``).
    """
    n_groups = len(group_names)
    contrib = contributions(X, seed_pos, rows, group_idx, n_groups, k)
    rng = np.random.default_rng(random_state)
    pop_rows = rng.choice(X.shape[0], size=min(population, X.shape[0]), replace=False)
    pop = np.median(contributions(X, seed_pos, pop_rows, group_idx, n_groups, k), axis=0)
    gain = pop[None, :] - contrib
    order = np.argsort(-gain, axis=1, kind="stable")[:, :top]
    names = np.asarray(group_names, dtype=object)[order]
    positive = np.take_along_axis(gain, order, 1) > 0
    names = np.where(positive, names, "")
    reasons = names[:, 0].copy()
    for j in range(1, names.shape[1]):  # loops over the (≤ 3) reason slots, not customers
        sep = np.where((reasons != "") & (names[:, j] != ""), ", ", "")
        reasons = reasons + sep + names[:, j]
    reasons = np.where(reasons == "", "similar overall profile", "close to the seeds on " + reasons.astype(str))
    table = pd.DataFrame(contrib, columns=group_names)
    table["distance2"] = contrib.sum(axis=1)
    return table, reasons
