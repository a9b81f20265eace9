"""Writing an audience as a destination's file(s), following its export profile.

Order of work in :func:`export_audience` (each step's remaining rows are counted in
``ExportResult.counts``): audience (in rank order) -> channel -> consent -> exclusions
(holdout / suppression ids) -> rows with a usable identifier (ad profiles) -> CSV text cells
neutralised against formula injection -> files (``<name>_<profile>.csv``, or ``_001``,
``_002`` ... above ``chunk_rows``) written atomically -> one JSON line appended to the export
log (who, when, what, file hashes; never personal data).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from lookalike.audience.seeds import check_id_list
from lookalike.cleaning.ids import normalize_ids
from lookalike.errors import InputError, MissingColumnsError, ParameterError, ResultWarning
from lookalike.export.contacts import normalize, sha256_hex
from lookalike.export.log import append_log, check_log, current_user
from lookalike.export.profiles import ExportProfile, load_export_profiles
from lookalike.io import TEXT_DTYPE, as_text, file_digest, write_csv

__all__ = ["AUDIENCE_COLUMNS", "ExportPreview", "ExportResult", "export_audience", "preview_export"]

logger = logging.getLogger(__name__)

AUDIENCE_COLUMNS = frozenset({"customer_id", "rank", "similarity", "reason"})  # taken from the audience
_TRUE_TOKENS = ("true", "1", "yes", "y", "si", "sí", "t")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_CONTACT_NORMALIZERS = frozenset({"email", "phone_e164", "phone_digits", "zip", "country", "country_upper"})


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_audience` wrote.

    counts: rows remaining after each step, in order, e.g. ``{"audience": 5000,
    "channel=email": 2100, "consent": 1900, "excluded (holdout/suppression)": 1700}``
    (ad profiles end with ``"no usable identifier"``: rows left once those without any
    are dropped). sha256: file name -> hex digest of the written bytes. customer_ids: the
    customers in the files, in file order; channel: the profile's message channel (None for
    ad-platform lists), which tells the campaign store whether the rows are contacts.
    """

    profile: str
    name: str
    paths: tuple[Path, ...]
    rows_written: int
    counts: dict[str, int]
    warnings: tuple[str, ...]
    sha256: dict[str, str]
    log_path: Path
    customer_ids: tuple[str, ...] = ()
    channel: str | None = None


def export_audience(
    audience: pd.DataFrame,
    customers: pd.DataFrame | None,
    profile: str,
    out_dir: str | Path,
    *,
    name: str,
    exclude_ids: Iterable[str] | None = None,
    user: str | None = None,
    log_path: str | Path | None = None,
    profiles: Mapping[str, ExportProfile] | str | Path | None = None,
    phone_region: str = "ES",
) -> ExportResult:
    """Write an audience as the file(s) of one destination profile and log the export.

    ``customers`` (the clean table) supplies ``promo_channel``, consent and contact
    columns (falling back to the audience's own columns); ``exclude_ids`` (a holdout
    group, a suppression list) are removed before writing; ``profiles`` replaces the
    packaged profile table (a mapping or a TOML path); ``phone_region`` reads phone
    numbers without a country code when the customer has no ``country``.

    >>> aud = pd.DataFrame({"customer_id": ["C1", "C2"], "rank": [1, 2], "similarity": [0.9, 0.8],
    ...                     "reason": ["close on region", "close on total_spent"], "promo_channel": ["email", "sms"]})
    >>> import tempfile; d = tempfile.mkdtemp()
    >>> res = export_audience(aud, None, "email", d, name="spring", user="doc")
    >>> [p.name for p in res.paths], res.counts["channel=email"]
    (['spring_email.csv'], 1)
    """
    selection = preview_export(audience, customers, profile, exclude_ids=exclude_ids, profiles=profiles,
                               phone_region=phone_region)
    spec, out, counts, warnings = selection.spec, selection.rows, selection.counts, list(selection.warnings)
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name):
        raise ParameterError(f"audience name {name!r} cannot be used in file names; use letters, digits, "
                             "'.', '_' or '-' (at most 100 characters, starting with a letter or digit)")

    log = Path(log_path) if log_path is not None else Path(out_dir) / "export_log.jsonl"
    check_log(log)  # an export nobody can trace is not written: the log must take a line first
    paths, digests, rows = _write_chunks(out, spec, Path(out_dir), name)
    warnings.extend(_stale_files(Path(out_dir), name, profile, paths))
    for w in warnings:
        logger.warning("export %s/%s: %s", name, profile, w)
    record = {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "user": user if user is not None else current_user(),
        "audience": name,
        "profile": profile,
        "rows": int(len(out)),
        "files": [{"file": p.name, "rows": r, "sha256": digests[p.name]} for p, r in zip(paths, rows)],
        "counts": counts,
        "warnings": warnings,
    }
    try:
        append_log(log, record)
    except OSError:
        for p in paths:  # the files would have no record: the export fails as a whole
            p.unlink(missing_ok=True)
        raise
    return ExportResult(profile=profile, name=name, paths=tuple(paths), rows_written=int(len(out)),
                        counts=counts, warnings=tuple(warnings), sha256=digests, log_path=log,
                        customer_ids=selection.customer_ids, channel=spec.channel)


@dataclass(frozen=True)
class ExportPreview:
    """What an export of one profile would write, before any file is: the rows, the count after each
    step (``counts``, as in :class:`ExportResult`), the warnings and the file's headers."""

    spec: ExportProfile
    rows: pd.DataFrame
    counts: dict[str, int]
    warnings: tuple[str, ...]
    customer_ids: tuple[str, ...] = ()  # the customers of the rows, in file order

    @property
    def headers(self) -> tuple[str, ...]:
        return self.spec.headers


def preview_export(audience: pd.DataFrame, customers: pd.DataFrame | None, profile: str, *,
                   exclude_ids: Iterable[str] | None = None,
                   profiles: Mapping[str, ExportProfile] | str | Path | None = None,
                   phone_region: str = "ES") -> ExportPreview:
    """The rows and counts :func:`export_audience` would write for ``profile``, without writing or
    logging anything (the UI shows this funnel before the download).

    >>> aud = pd.DataFrame({"customer_id": ["C1", "C2"], "rank": [1, 2], "similarity": [0.9, 0.8],
    ...                     "reason": ["a", "b"], "promo_channel": ["email", "sms"]})
    >>> preview_export(aud, None, "push").counts
    {'audience': 2, 'channel=push': 0, 'consent': 0, 'excluded (holdout/suppression)': 0}
    """
    table = profiles if isinstance(profiles, Mapping) else load_export_profiles(profiles)
    if profile not in table:
        raise ParameterError(f"unknown export profile {profile!r}; valid profiles: {', '.join(sorted(table))}")
    spec = table[profile]
    if not isinstance(audience, pd.DataFrame):
        raise ParameterError(f"audience must be a pandas DataFrame, got {type(audience).__name__}")
    if customers is not None and not isinstance(customers, pd.DataFrame):
        raise ParameterError(f"customers must be a pandas DataFrame or None, got {type(customers).__name__}")
    needed = {c.source for c in spec.columns if c.source in AUDIENCE_COLUMNS} | {"customer_id"}
    if needed - set(audience.columns):
        raise MissingColumnsError(needed - set(audience.columns), audience.columns, where="audience")
    cust = _index_customers(customers)
    if spec.contact_any and not set(spec.contact_any) & set(cust.columns):
        raise InputError(
            f"cannot export profile '{profile}': the customers table has none of the contact column(s) "
            f"{', '.join(spec.contact_any)}; add {' or '.join(spec.contact_any)} to the CRM export "
            "(mapped in columns.toml) and clean it again, or export a channel profile (email, sms, push)"
        )

    warnings: list[str] = []
    aud = _in_rank_order(audience, warnings)
    lookup = _Lookup(aud, cust)
    keep = np.ones(len(aud), dtype=bool)
    counts: dict[str, int] = {"audience": int(len(aud))}

    channel = lookup.text("promo_channel")
    if spec.channel is not None:
        if channel is None:
            raise MissingColumnsError(["promo_channel"], list(aud.columns) + list(cust.columns),
                                      where="audience and customers")
        keep &= (channel == spec.channel).to_numpy(dtype=bool, na_value=False)
        counts[f"channel={spec.channel}"] = int(keep.sum())
    if spec.consent is not None:
        consent = lookup.get(spec.consent)
        if consent is not None:
            keep &= _consent_true(consent)
        elif spec.channel is None and channel is not None:
            keep &= ~(channel == "none").to_numpy(dtype=bool, na_value=False)
            warnings.append(ResultWarning(
                "export_no_consent_column", f"no {spec.consent} column: customers with promo_channel 'none' were "
                "treated as opted out and everyone else as consenting; add consent flags to the export",
                column=spec.consent))
        else:
            warnings.append(ResultWarning(
                "export_no_consent_column", f"no {spec.consent} column: promo_channel was taken as the customer's "
                "stated preference; add consent flags to the export", column=spec.consent))
        counts["consent"] = int(keep.sum())
    if exclude_ids is not None:
        excluded = normalize_ids(exclude_ids)
        keep &= ~pd.Series(normalize_ids(aud["customer_id"])).isin(excluded).to_numpy(dtype=bool)
        # the list is checked against every customer (an exclusion list is not only about this audience)
        known = cust.index if customers is not None else normalize_ids(aud["customer_id"])
        if (w := check_id_list(excluded, known, what="exclusion list", known_canonical=True)) is not None:
            warnings.append(w)
    counts["excluded (holdout/suppression)"] = int(keep.sum())

    out = _build_frame(spec, lookup, keep, phone_region, warnings)
    sources = {c.header: c.source for c in spec.columns}
    if spec.identifiers and any(lookup.get(sources[h]) is not None for h in spec.identifiers):
        out = out[out[list(spec.identifiers)].notna().any(axis=1).to_numpy()]
        counts["no usable identifier"] = int(len(out))
    if len(out) < spec.min_rows:
        warnings.append(ResultWarning(
            "export_below_minimum", f"only {len(out)} row(s) to write for profile '{profile}', below its minimum "
            f"of {spec.min_rows}; the destination may reject or not use such a small list",
            rows=int(len(out)), minimum=spec.min_rows))

    written = lookup.ids.to_numpy(dtype=object)[np.flatnonzero(keep)[out.index.to_numpy()]]
    return ExportPreview(spec, out.reset_index(drop=True), counts, tuple(warnings), tuple(written.tolist()))


def _index_customers(customers: pd.DataFrame | None) -> pd.DataFrame:
    if customers is None:
        return pd.DataFrame(index=pd.Index([], dtype=object, name="customer_id"))
    if "customer_id" not in customers.columns:
        raise MissingColumnsError(["customer_id"], customers.columns, where="customers")
    cust = customers.set_index(as_text(customers["customer_id"]).rename("customer_id"))
    if not cust.index.is_unique:
        dup = cust.index[cust.index.duplicated()].unique()
        raise InputError(f"customers has {len(dup)} repeated customer_id value(s) (e.g. {dup[0]!r}); "
                         "pass the clean table, which has one row per customer")
    return cust


def _in_rank_order(audience: pd.DataFrame, warnings: list[str]) -> pd.DataFrame:
    aud = audience
    if "rank" in aud.columns:
        aud = aud.sort_values("rank", kind="stable")
    dup = as_text(aud["customer_id"]).duplicated().to_numpy()
    if dup.any():
        warnings.append(ResultWarning("export_repeated_ids", f"{int(dup.sum())} repeated customer_id row(s) in the "
                                      "audience were dropped (the best-ranked row is kept)", rows=int(dup.sum())))
        aud = aud[~dup]
    return aud.reset_index(drop=True)


class _Lookup:
    """Columns aligned with the audience rows: scores from the audience, customer
    attributes (channel, consent, contact) from the customers table, else the audience."""

    def __init__(self, aud: pd.DataFrame, cust: pd.DataFrame):
        self.aud, self.cust = aud, cust
        self.ids = as_text(aud["customer_id"])

    def get(self, column: str) -> pd.Series | None:
        if column in AUDIENCE_COLUMNS and column in self.aud.columns:
            return self.aud[column]
        if column in self.cust.columns:
            return self.cust[column].reindex(self.ids.to_numpy()).set_axis(self.aud.index)
        if column in self.aud.columns:
            return self.aud[column]
        return None

    def text(self, column: str) -> pd.Series | None:
        s = self.get(column)
        return None if s is None else as_text(s).str.strip().str.lower()


def _consent_true(consent: pd.Series) -> np.ndarray:
    """True only where consent is explicitly given; False, unknown and unreadable values are False."""
    if pd.api.types.is_bool_dtype(consent.dtype) or str(consent.dtype) == "boolean":
        return consent.astype("boolean").to_numpy(dtype=bool, na_value=False)
    text = as_text(consent).str.strip().str.lower()
    return text.isin(_TRUE_TOKENS).to_numpy(dtype=bool, na_value=False)


def _build_frame(spec: ExportProfile, lookup: _Lookup, keep: np.ndarray, phone_region: str,
                 warnings: list[str]) -> pd.DataFrame:
    rows = np.flatnonzero(keep)
    country = lookup.get("country")
    regions = country.iloc[rows].reset_index(drop=True) if country is not None else None
    data: dict[str, pd.Series] = {}
    absent: list[str] = []
    unusable: list[str] = []
    for col in spec.columns:
        src = lookup.get(col.source)
        if src is None:
            absent.append(col.source)
            data[col.header] = pd.Series(pd.NA, index=pd.RangeIndex(len(rows)), dtype=TEXT_DTYPE)
            continue
        raw = src.iloc[rows].reset_index(drop=True)
        values = normalize(col.normalize, raw, regions=regions, default_region=phone_region)
        if col.normalize in _CONTACT_NORMALIZERS:  # a value given but not usable: counted, never hashed as is
            lost = int((as_text(raw).str.strip().fillna("").ne("") & values.isna()).sum())
            if lost:
                unusable.append(f"{col.header} {lost:,}")
        data[col.header] = sha256_hex(values) if col.hash else values
    if absent:
        warnings.append(ResultWarning("export_absent_columns", f"no {', '.join(absent)} column(s): written empty; "
                                      "add them to the CRM export to improve matching", columns=absent))
    if unusable:
        warnings.append(ResultWarning(
            "export_unusable_values", f"values that are not a valid e-mail, phone, postcode or country were left "
            f"empty: {', '.join(unusable)}; correct them in the CRM export to improve matching", values=unusable))
    return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


def _write_chunks(out: pd.DataFrame, spec: ExportProfile, out_dir: Path,
                  name: str) -> tuple[list[Path], dict[str, str], list[int]]:
    n_files = max(1, math.ceil(len(out) / spec.chunk_rows))
    width = max(3, len(str(n_files)))
    paths, digests, rows = [], {}, []
    for i in range(n_files):
        part = out.iloc[i * spec.chunk_rows:(i + 1) * spec.chunk_rows]
        fname = f"{name}_{spec.name}.csv" if n_files == 1 else f"{name}_{spec.name}_{i + 1:0{width}d}.csv"
        path = out_dir / fname
        try:  # text cells neutralised against formula injection (write_csv escapes)
            write_csv(part, path, encoding=spec.encoding, lineterminator="\n")
        except UnicodeEncodeError as exc:
            raise InputError(f"profile '{spec.name}' writes {spec.encoding}, which cannot encode a value "
                             f"({exc.reason}); set encoding = \"utf-8\" in the profile") from exc
        paths.append(path)
        digests[fname] = file_digest(path, "sha256")
        rows.append(int(len(part)))
    return paths, digests, rows


def _stale_files(out_dir: Path, name: str, profile: str, written: Sequence[Path]) -> list[str]:
    pattern = re.compile(rf"{re.escape(name)}_{re.escape(profile)}(?:_\d+)?\.csv")
    keep = {p.name for p in written}
    stale = sorted(p.name for p in out_dir.glob(f"{name}_{profile}*.csv")
                   if pattern.fullmatch(p.name) and p.name not in keep)
    if not stale:
        return []
    return [ResultWarning("export_stale_files", f"older file(s) {', '.join(stale)} from a previous export of this "
                          f"audience are still in {out_dir}; delete them before uploading the folder", files=stale)]
