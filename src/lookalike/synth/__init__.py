"""Synthetic CRM exports: the demo's default data and the ground truth of the tests.

The generator has two layers, both vectorized and deterministic by seed:

1. :func:`sample_customers` draws the *truth*: one clean row per customer, from a
   mixture of behavioural :data:`SEGMENTS`, with every column of the clean schema
   (contract section 2) plus ``segment``, ``vip_like`` and the optional
   contact/consent columns.
2. :func:`render_dirty` renders a truth table as a raw CRM export: the 22 contract
   columns of section 1 (plus contact/consent columns on request), with the kinds
   of dirt real exports carry, duplicated customers, the truth row behind every
   raw row and a mask saying which cells a contract-following parser can recover.

:func:`generate` does both; :func:`write_synthetic` streams exports of any size to
``.parquet``, ``.csv`` or ``.xlsx`` chunk by chunk.

Modules: :mod:`~lookalike.synth.segments` (the segments, as data in
``config/synth_segments.toml``), :mod:`~lookalike.synth.vocabulary` (columns, value sets,
names, notes and the dirty spellings), :mod:`~lookalike.synth.truth` (sampling),
:mod:`~lookalike.synth.render` (the dirt), :mod:`~lookalike.synth.generate` and
:mod:`~lookalike.synth.write` (files).

Randomness. Nothing global: chunk ``i`` of seed ``s`` draws its customers from
``SeedSequence([s, i, 0])``, renders raw column ``j`` from its own stream
``SeedSequence([s, i, 1, j])`` (duplicate rows: ``[s, i, 2, j]``; which customers
are duplicated and where they go: ``[s, i, 3]``). The public one-shot functions
are chunk 0. Every stream draws the same numbers whatever the options, so
``unrecoverable=False`` changes exactly the cells that were unrecoverable,
``currency="EUR"`` only the money-like columns, and ``contact=True`` only adds
columns.

Example:
    >>> import lookalike.synth as synth
    >>> data = synth.generate(200, seed=7)
    >>> list(data.raw.columns) == list(synth.RAW_COLUMNS)
    True
    >>> bool(data.customers["customer_id"].is_unique)
    True
"""


from __future__ import annotations

from lookalike.synth.generate import SynthData, generate
from lookalike.synth.render import render_dirty
from lookalike.synth.segments import SEGMENTS, Segment, load_segments
from lookalike.synth.truth import sample_customers
from lookalike.synth.vocabulary import (
    CATEGORIES,
    CATEGORY_VARIANTS,
    CHANNEL_VARIANTS,
    CHANNELS,
    CONSENT_VARIANTS,
    CONTACT_COLUMNS,
    GENDER_VARIANTS,
    GENDERS,
    NEVER_CODES,
    NOTES,
    PROMO_CHANNELS,
    RAW_COLUMNS,
    REFERENCE_DATE,
    REGION_ENGLISH,
    REGION_TYPOS,
    REGIONS,
    TRUTH_COLUMNS,
)
from lookalike.synth.write import XLSX_MAX_ROWS, write_synthetic

__all__ = [
    "CATEGORIES",
    "CATEGORY_VARIANTS",
    "CHANNELS",
    "CHANNEL_VARIANTS",
    "CONSENT_VARIANTS",
    "CONTACT_COLUMNS",
    "GENDERS",
    "GENDER_VARIANTS",
    "NEVER_CODES",
    "NOTES",
    "PROMO_CHANNELS",
    "RAW_COLUMNS",
    "REFERENCE_DATE",
    "REGIONS",
    "REGION_ENGLISH",
    "REGION_TYPOS",
    "SEGMENTS",
    "TRUTH_COLUMNS",
    "XLSX_MAX_ROWS",
    "Segment",
    "SynthData",
    "generate",
    "load_segments",
    "render_dirty",
    "sample_customers",
    "write_synthetic",
]
