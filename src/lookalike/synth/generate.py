"""One-shot generation: ``n`` customers sampled and rendered as a dirty export, with their truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from lookalike.synth.render import render_arrays, render_options, row_truth
from lookalike.synth.truth import check_n, check_seed, id_width, sample_arrays, truth_frame

__all__ = ["SynthData", "generate"]


@dataclass(frozen=True, eq=False)
class SynthData:
    """A synthetic export and its ground truth (see :func:`generate`).

    Attributes:
        raw: the dirty export (:func:`render_dirty`), one row per raw row.
        row_truth: the truth row of each raw row (same index as ``raw``).
        recoverable: bool mask, same shape as ``raw``.
        customers: the clean truth, one row per customer (:func:`sample_customers`).
    """

    raw: pd.DataFrame
    row_truth: pd.DataFrame
    recoverable: pd.DataFrame
    customers: pd.DataFrame


def generate(n: int, seed: int = 1, **render_kwargs: Any) -> SynthData:
    """Sample ``n`` customers and render them as a dirty export.

    ``render_kwargs`` go to :func:`render_dirty` (``dirt_rate``, ``unrecoverable``,
    ``contact``, ``duplicate_rate``, ``currency``). Deterministic by ``(n, seed)``.
    This is chunk 0 of :func:`write_synthetic`, so ``write_synthetic(path, n, seed)``
    writes exactly ``generate(n, seed).raw`` when ``n <= chunk_size``.

    Example:
        >>> data = generate(300, seed=5)
        >>> data.raw.shape[1], len(data.customers)
        (22, 300)
    """
    n = check_n(n)
    seed = check_seed(seed)
    opts = render_options(render_kwargs)
    arrays = sample_arrays(n, seed, 0, 0, id_width(n))
    customers = truth_frame(arrays)
    rendered = render_arrays(arrays, seed, 0, **opts)
    assert rendered.recoverable is not None
    return SynthData(raw=rendered.raw, row_truth=row_truth(customers, rendered),
                     recoverable=rendered.recoverable, customers=customers)
