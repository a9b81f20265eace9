"""The customer segments of the synthetic base, as data: ``config/synth_segments.toml``.

Each segment is a row of numbers (share, age, income, orders, tenure, recency, ticket, ...) and
probability tables over the vocabulary's labels; :func:`segment_arrays` turns the table into
arrays indexed by segment number, so the generator draws every customer's behaviour with array
indexing, never with code per segment.

>>> [s.name for s in SEGMENTS][:3], round(sum(s.share for s in SEGMENTS), 6)
(['high_value_loyal', 'loyal', 'regular'], 1.0)
"""

from __future__ import annotations

import math
import os
from dataclasses import MISSING, dataclass, fields
from typing import Any

import numpy as np

from lookalike.config import load_toml
from lookalike.errors import InputError
from lookalike.synth.vocabulary import CATEGORIES, CHANNELS, PROMO_CHANNELS, REGIONS

__all__ = ["SEGMENTS", "Segment", "load_segments", "segment_arrays"]


@dataclass(frozen=True)
class Segment:
    """One behavioural customer segment of the synthetic base.

    Numeric behaviour is drawn per customer around the segment's values and tied
    together by a latent *engagement* factor, so that within a segment more orders
    go with a higher ticket, income and re-order ratio and a shorter recency.

    Attributes:
        name: segment key (``segment`` column of the truth).
        share: expected share of customers (the shares of :data:`SEGMENTS` sum to 1).
        description: one line for humans.
        age: ``(mean, sd, min, max)`` in years.
        income: ``(median, max)`` yearly income; log-normal, never below 5,000.
        orders: ``(min, max)`` lifetime orders, inclusive.
        tenure: ``(min, max)`` months since signup, inclusive.
        recency: ``(min, max, skew)``: days since last purchase are
            ``min + (max - min) * u ** skew``; ``skew > 1`` pulls towards ``min``.
        reorder: typical share of orders that were re-orders.
        ticket: median average ticket (log-normal, in the export's currency).
        items: median items per order.
        never: probability of no recorded purchase (recency "never").
        vip: probability of carrying the business VIP label (``vip_flag``).
        categories: probabilities over :data:`CATEGORIES` (favourite category).
        channels: probabilities over :data:`CHANNELS` (signup channel).
        regions: probabilities over :data:`REGIONS`.
        promos: probabilities over :data:`PROMO_CHANNELS` (stated contact preference).
        vip_like: its customers without the VIP label are the lookalike target (truth ``vip_like``).
        cooling: share of its buyers who are cooling down: late for their next purchase by 1.6-3
            of their own purchase intervals, not lapsed yet.
    """

    name: str
    share: float
    description: str
    age: tuple[float, float, int, int]
    income: tuple[float, float]
    orders: tuple[int, int]
    tenure: tuple[int, int]
    recency: tuple[int, int, float]
    reorder: float
    ticket: float
    items: float
    never: float
    vip: float
    categories: tuple[float, ...]
    channels: tuple[float, ...]
    regions: tuple[float, ...]
    promos: tuple[float, ...]
    vip_like: bool = False
    cooling: float = 0.0


#: Probability tables of a segment and the labels they are over, in this order.
_TABLES: dict[str, tuple[str, ...]] = {
    "categories": CATEGORIES, "channels": CHANNELS, "regions": REGIONS, "promos": PROMO_CHANNELS,
}
_RANGES = {"age": 4, "income": 2, "orders": 2, "tenure": 2, "recency": 3}


def load_segments(path: str | os.PathLike[str] | None = None) -> tuple[Segment, ...]:
    """Segments from ``path`` or the packaged ``config/synth_segments.toml`` (one ``[[segment]]`` each).

    Each probability table must name every label of its vocabulary once and sum to 1; the shares
    must sum to 1. A bad file raises :class:`~lookalike.errors.InputError` naming the segment and key.
    """
    where = str(path) if path is not None else "synth_segments.toml"
    rows = load_toml(path, "synth_segments.toml", "segment table").get("segment")
    if not isinstance(rows, list) or not rows:
        raise InputError(f"segment table {where} has no [[segment]] entries; see the packaged synth_segments.toml")
    names = {f.name for f in fields(Segment)}
    required = {f.name for f in fields(Segment) if f.default is MISSING}
    segments = []
    for i, row in enumerate(rows, 1):
        label = row.get("name", f"number {i}") if isinstance(row, dict) else f"number {i}"

        def bad(msg: str) -> InputError:
            return InputError(f"segment {label} in {where}: {msg}")

        if not isinstance(row, dict) or set(row) - names or required - set(row):
            raise bad(f"needs the keys {', '.join(sorted(required))} (optional: vip_like, cooling), "
                      f"got {', '.join(sorted(row)) if isinstance(row, dict) else row!r}")
        spec: dict[str, Any] = dict(row)
        for key, size in _RANGES.items():
            if not isinstance(spec[key], list) or len(spec[key]) != size:
                raise bad(f"{key} must be a list of {size} numbers, got {spec[key]!r}")
            spec[key] = tuple(spec[key])
        for key, labels in _TABLES.items():
            table = spec[key]
            if not isinstance(table, dict) or set(table) != set(labels):
                raise bad(f"{key} must give a probability for each of {', '.join(labels)}, got {table!r}")
            probs = tuple(table[label] for label in labels)
            if not math.isclose(sum(probs), 1.0, abs_tol=1e-9) or min(probs) < 0:
                raise bad(f"{key} probabilities must be >= 0 and sum to 1, got sum {sum(probs)!r}")
            spec[key] = probs
        segments.append(Segment(**spec))
    total = sum(s.share for s in segments)
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise InputError(f"segment table {where}: the shares must sum to 1, got {total!r}")
    return tuple(segments)


SEGMENTS: tuple[Segment, ...] = load_segments()
"""The customer segments: share and behaviour (see :class:`Segment` and ``config/synth_segments.toml``).

VIP labels (about 0.6% of all customers) come from high_value_loyal (expected 90%) and loyal;
the unlabelled high_value_loyal customers are the ``vip_like`` audience a lookalike model should find.
"""


def segment_arrays(segments: tuple[Segment, ...]) -> dict[str, np.ndarray]:
    """The segment table as arrays indexed by segment number (one row per segment)."""
    return {f.name: np.array([getattr(s, f.name) for s in segments], dtype=bool if f.name == "vip_like" else float)
            for f in fields(Segment) if f.name not in ("name", "description")}
