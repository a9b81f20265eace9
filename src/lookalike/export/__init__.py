"""Channel files and ad-platform files of an audience, and the export log.

An *audience* (one row per customer, best first: ``customer_id``, ``rank``,
``similarity``, ``reason`` plus clean-table columns) becomes files a destination
can take, following a declarative profile from ``config/export_profiles.toml``
(:mod:`~lookalike.export.profiles`):

* channel profiles ``email``, ``sms``, ``push``: ``customer_id, rank, similarity,
  reason`` for the members whose ``promo_channel`` is that channel and, when the
  customers table has a ``consent_<channel>`` column, whose consent is True
  (False and unknown ``<NA>`` are dropped). ``none``/``unknown`` are never exported.
* ad profiles ``meta`` and ``google``: contact columns joined from the customers
  table *at export time*, normalised, SHA-256 hashed where the platform asks for
  it (:mod:`~lookalike.export.contacts`); members need ``consent_ads`` True when that
  column exists (without it, ``promo_channel == "none"`` counts as an opt-out). Refused
  with :class:`~lookalike.errors.InputError` when the customers table has neither
  ``email`` nor ``phone``.

:func:`export_audience` (:mod:`~lookalike.export.writer`) writes the files atomically and
appends a record to the export log (:mod:`~lookalike.export.log`). Audience manifests live in
:mod:`lookalike.audience.manifest` and CSV formula escaping in :mod:`lookalike.io`; both are
re-exported here.
"""

from __future__ import annotations

from lookalike.audience.manifest import (
    MANIFEST_KIND,
    MANIFEST_VERSION,
    audience_digest,
    load_manifest,
    write_manifest,
)
from lookalike.export.contacts import (
    NORMALIZERS,
    normalize_country,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_zip,
    sha256_hex,
)
from lookalike.export.log import current_user, log_rewrite
from lookalike.export.profiles import ExportColumn, ExportProfile, load_export_profiles
from lookalike.export.writer import AUDIENCE_COLUMNS, ExportPreview, ExportResult, export_audience, preview_export
from lookalike.io import escape_formula


__all__ = [
    "AUDIENCE_COLUMNS",
    "ExportColumn",
    "ExportPreview",
    "ExportProfile",
    "ExportResult",
    "MANIFEST_KIND",
    "MANIFEST_VERSION",
    "NORMALIZERS",
    "audience_digest",
    "current_user",
    "escape_formula",
    "export_audience",
    "load_export_profiles",
    "load_manifest",
    "log_rewrite",
    "normalize_country",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "normalize_zip",
    "preview_export",
    "sha256_hex",
    "write_manifest",
]
