"""Channel files, ad-platform files and audience manifests.

An *audience* (one row per customer, best first: ``customer_id``, ``rank``,
``similarity``, ``reason`` plus clean-table columns) becomes files a destination
can take, following a declarative profile from ``config/export_profiles.toml``:

* channel profiles ``email``, ``sms``, ``push``: ``customer_id, rank, similarity,
  reason`` for the members whose ``promo_channel`` is that channel and, when the
  customers table has a ``consent_<channel>`` column, whose consent is True
  (False and unknown ``<NA>`` are dropped). ``none``/``unknown`` are never exported.
* ad profiles ``meta`` and ``google``: contact columns joined from the customers
  table *at export time*, normalised, SHA-256 hashed where the platform asks for
  it; members need ``consent_ads`` True when that column exists (without it,
  ``promo_channel == "none"`` counts as an opt-out). Refused with
  :class:`~lookalike.errors.InputError` when the customers table has neither
  ``email`` nor ``phone``.

Order of work in :func:`export_audience` (each step's remaining rows are counted
in ``ExportResult.counts``): audience (in rank order) -> channel -> consent ->
exclusions (holdout / suppression ids) -> rows with a usable identifier (ad
profiles) -> CSV text cells neutralised against formula injection -> files
(``<name>_<profile>.csv``, or ``_001``, ``_002`` ... above ``chunk_rows``) written
atomically -> one JSON line appended to the export log (who, when, what, file
hashes; never personal data).

Normalisation rules (check the vendor's current documentation before relying on them):

* email: NFC, trimmed, lower-cased; anything not shaped ``local@domain.tld`` is NA.
* phone: parsed by ``phonenumbers`` with the customer's country (else a default
  region, "ES"), valid numbers only, formatted E.164 (``+34612345678``); Meta's
  form drops the ``+``.
* name (Meta ``fn``/``ln``): NFKD, accents dropped, lower-cased, everything that is
  not a letter removed (spaces, punctuation, digits): "José-Luis O'Neill" ->
  "joseluisoneill". Meta's SDK keeps ``[a-z]`` only; letters of other scripts are
  kept here as UTF-8, as Meta's docs allow.
* text_lower (Google names): NFC, trimmed, lower-cased, inner whitespace collapsed.
* zip: lower-cased, all whitespace removed; a US ZIP+4 keeps its first five digits.
* country: two-letter ISO code, lower-case (``country_upper`` for Google's unhashed column);
  anything else is NA (map country names to codes when cleaning).
* hash: lowercase hex SHA-256 of the UTF-8 bytes, no salt; NA stays NA.
"""

from __future__ import annotations

import codecs
import getpass
import hashlib
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lookalike.cleaning.text import normalize_id
from lookalike.config import load_toml
from lookalike.errors import InputError, MissingColumnsError, ParameterError
from lookalike.io import atomic_path, file_digest, to_jsonable, write_text

__all__ = [
    "ExportColumn",
    "ExportProfile",
    "ExportResult",
    "NORMALIZERS",
    "audience_digest",
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
    "sha256_hex",
    "write_manifest",
]

logger = logging.getLogger(__name__)

MANIFEST_KIND = "lookalike.audience_manifest"
MANIFEST_VERSION = 1
NORMALIZERS: tuple[str, ...] = (
    "id", "int", "score", "text", "text_lower", "email", "phone_e164", "phone_digits",
    "name", "zip", "country", "country_upper",
)
AUDIENCE_COLUMNS = frozenset({"customer_id", "rank", "similarity", "reason"})  # taken from the audience
_NEVER_EXPORTED_CHANNELS = frozenset({"none", "unknown"})
_TRUE_TOKENS = ("true", "1", "yes", "y", "si", "sí", "t")

# Python-backed strings: .str methods use Python's Unicode-aware ``re`` whatever pandas' default backend.
_STR = pd.StringDtype("python")
# OWASP CSV injection: = + - @ (also after leading whitespace, and their full-width forms), TAB, CR.
_FORMULA = re.compile("^(?:[\t\r]|\\s*[=+\\-@\uff1d\uff0b\uff0d\uff20])")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_NAME_DROP = re.compile(r"[\W\d_]+")  # everything that is not a letter (Unicode-aware)
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_WHOLE_FLOAT_TEXT = re.compile(r"^([+-]?\d+)\.0+$")


# --------------------------------------------------------------------------- text helpers


def _map_unique(series: pd.Series, func: Callable[[Any], str | None]) -> pd.Series:
    """Apply ``func`` to each distinct non-missing value once and map back (NA stays NA)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([func(u) for u in uniques] + [None], dtype=object)  # code -1 -> None
    return pd.Series(mapped[codes], index=series.index, name=series.name, dtype=_STR)


def _as_text(series: pd.Series) -> pd.Series:
    """Values as text (``string`` dtype, NA for missing); whole floats lose ``.0`` (Excel codes)."""
    s = series.astype(object) if isinstance(series.dtype, pd.CategoricalDtype) else series
    out = s.astype(_STR)
    if pd.api.types.is_float_dtype(s.dtype) or (
        pd.api.types.is_object_dtype(s.dtype)
        and pd.api.types.infer_dtype(s, skipna=True) not in ("string", "empty", "integer", "boolean")
    ):
        out = out.str.replace(_WHOLE_FLOAT_TEXT, r"\1", regex=True)
    return out


def _blank_to_na(s: pd.Series) -> pd.Series:
    return s.mask(s == "")


def escape_formula(series: pd.Series) -> pd.Series:
    """Neutralise spreadsheet formulas in text cells (OWASP CSV injection) with a leading ``'``.

    A text cell is prefixed when it starts with ``=``, ``+``, ``-`` or ``@`` (also after
    leading whitespace, and their full-width forms) or with a TAB or CR. Numbers —
    numeric columns and non-text cells of mixed columns — are not altered.

    >>> escape_formula(pd.Series(["=SUM(A1)", "Ana", -1.5], dtype=object)).tolist()
    ["'=SUM(A1)", 'Ana', -1.5]
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    if not (pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)):
        return series
    mask = series.str.contains(_FORMULA, regex=True, na=False).astype(bool)
    if not mask.any():
        return series
    out = series.copy()
    out[mask] = "'" + series[mask].astype(str)
    return out


# --------------------------------------------------------------------------- normalisation


def normalize_email(series: pd.Series) -> pd.Series:
    """Trimmed, lower-cased e-mail addresses; values not shaped ``local@domain.tld`` become NA.

    >>> normalize_email(pd.Series([" John.Doe@Example.COM ", "not an email", None])).tolist()
    ['john.doe@example.com', <NA>, <NA>]
    """
    s = _as_text(series).str.normalize("NFC").str.strip().str.lower()
    return s.where(s.str.fullmatch(_EMAIL, na=False).astype(bool))


def _e164(key: str, default_region: str) -> str | None:
    import phonenumbers

    text, _, region = key.partition("\x1f")
    try:
        number = phonenumbers.parse(text, region or default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(series: pd.Series, default_region: str = "ES", *,
                    regions: pd.Series | None = None) -> pd.Series:
    """Phone numbers in E.164 (``+34612345678``) via ``phonenumbers``; invalid numbers become NA.

    Numbers without a country code are read in the row's ``regions`` value (a country
    column; two-letter ISO codes) or else in ``default_region``. Each distinct
    (number, region) pair is parsed once.

    >>> normalize_phone(pd.Series(["+34 612 345 678", "612345678", "0034 612-345-678", "12"])).tolist()
    ['+34612345678', '+34612345678', '+34612345678', <NA>]
    """
    import phonenumbers

    default = str(default_region).upper()
    if default not in phonenumbers.SUPPORTED_REGIONS:
        raise ParameterError(f"default_region {default_region!r} is not a region phonenumbers knows; "
                             "use a two-letter ISO country code such as 'ES'")
    text = _blank_to_na(_as_text(series).str.strip())
    if regions is None:
        key = text
    else:
        region = normalize_country(regions).str.upper()
        region = region.where(region.isin(phonenumbers.SUPPORTED_REGIONS).astype(bool)).fillna("")
        key = text + "\x1f" + region.reindex(text.index)
    return _map_unique(key, lambda k: _e164(str(k), default))


def normalize_name(series: pd.Series) -> pd.Series:
    """Names for Meta ``fn``/``ln``: accents dropped, lower case, letters only (see module docstring).

    >>> normalize_name(pd.Series(["  José-Luis ", "O'Neill", "123"])).tolist()
    ['joseluis', 'oneill', <NA>]
    """
    s = _as_text(series).str.normalize("NFKD").str.lower().str.replace(_NAME_DROP, "", regex=True)
    return _blank_to_na(s.str.normalize("NFC"))


def _text_lower(series: pd.Series) -> pd.Series:
    s = _as_text(series).str.normalize("NFC").str.strip().str.lower().str.replace(r"\s+", " ", regex=True)
    return _blank_to_na(s)


def normalize_zip(series: pd.Series) -> pd.Series:
    """Postal codes: lower case, no whitespace; a US ZIP+4 keeps its first five digits.

    >>> normalize_zip(pd.Series([" SW1A 1AA", "28001", "94105-1234"])).tolist()
    ['sw1a1aa', '28001', '94105']
    """
    s = _as_text(series).str.lower().str.replace(r"\s+", "", regex=True)
    s = s.str.replace(r"^(\d{5})-\d{4}$", r"\1", regex=True)
    return _blank_to_na(s)


def normalize_country(series: pd.Series) -> pd.Series:
    """Two-letter ISO country codes in lower case; anything else (names, 3-letter codes) is NA.

    >>> normalize_country(pd.Series([" ES", "fr", "Spain"])).tolist()
    ['es', 'fr', <NA>]
    """
    s = _as_text(series).str.strip().str.lower()
    return s.where(s.str.fullmatch(r"[a-z]{2}", na=False).astype(bool))


def sha256_hex(series: pd.Series) -> pd.Series:
    """Lowercase hex SHA-256 of each value's UTF-8 text (each distinct value hashed once); NA stays NA.

    >>> sha256_hex(pd.Series(["adsapi", None])).str.slice(0, 8).tolist()
    ['49e0be2a', <NA>]
    """
    return _map_unique(_as_text(series), lambda v: hashlib.sha256(str(v).encode("utf-8")).hexdigest())


def _normalize(kind: str, series: pd.Series, *, regions: pd.Series | None, default_region: str) -> pd.Series:
    if kind == "id" or kind == "text":
        return _as_text(series)
    if kind == "int":
        return pd.to_numeric(series, errors="coerce").round().astype("Int64")
    if kind == "score":
        return pd.to_numeric(series, errors="coerce").astype(float).round(6)
    if kind in ("phone_e164", "phone_digits"):
        e164 = normalize_phone(series, default_region, regions=regions)
        return e164 if kind == "phone_e164" else e164.str.removeprefix("+")
    funcs: dict[str, Callable[[pd.Series], pd.Series]] = {
        "text_lower": _text_lower,
        "email": normalize_email,
        "name": normalize_name,
        "zip": normalize_zip,
        "country": normalize_country,
        "country_upper": lambda s: normalize_country(s).str.upper(),
    }
    return funcs[kind](series)


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class ExportColumn:
    """One column of an export file: its header, the source column, normalisation and hashing."""

    header: str
    source: str
    normalize: str = "text"
    hash: bool = False


@dataclass(frozen=True)
class ExportProfile:
    """A destination's file format and suppression rules (one table of ``export_profiles.toml``).

    ``channel`` set -> a channel profile (rows whose ``promo_channel`` equals it);
    otherwise an ad profile. See the TOML file's header for every key.
    """

    name: str
    columns: tuple[ExportColumn, ...]
    description: str = ""
    channel: str | None = None
    consent: str | None = None
    contact_any: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    encoding: str = "utf-8"
    min_rows: int = 1
    chunk_rows: int = 1_000_000

    @property
    def headers(self) -> tuple[str, ...]:
        """File headers in order."""
        return tuple(c.header for c in self.columns)


_PROFILE_KEYS = frozenset({"description", "channel", "consent", "contact_any", "identifiers", "encoding",
                           "min_rows", "chunk_rows", "columns"})
_COLUMN_KEYS = frozenset({"header", "source", "normalize", "hash"})


def load_export_profiles(path: str | Path | None = None) -> dict[str, ExportProfile]:
    """Export profiles by name, from ``path`` or the packaged ``config/export_profiles.toml``.

    >>> sorted(load_export_profiles())
    ['email', 'google', 'meta', 'push', 'sms']
    """
    where = str(path) if path is not None else "export_profiles.toml"
    data = load_toml(path, "export_profiles.toml", "export profiles")
    tables = data.get("profiles")
    if not isinstance(tables, dict) or not tables:
        raise InputError(f"export profiles {where} define no [profiles.NAME] table; see the packaged example")
    return {name: _parse_profile(name, spec, where) for name, spec in tables.items()}


def _parse_profile(name: str, spec: dict, where: str) -> ExportProfile:
    def bad(msg: str) -> InputError:
        return InputError(f"export profile '{name}' in {where}: {msg}")

    unknown = set(spec) - _PROFILE_KEYS
    if unknown:
        raise bad(f"unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(_PROFILE_KEYS))}")
    raw_cols = spec.get("columns") or []
    columns = []
    for i, col in enumerate(raw_cols):
        if not isinstance(col, dict) or {"header", "source"} - set(col) or set(col) - _COLUMN_KEYS:
            raise bad(f"column {i + 1} needs exactly the keys header, source and optionally normalize, hash")
        norm = col.get("normalize", "text")
        if norm not in NORMALIZERS:
            raise bad(f"column '{col['header']}' has unknown normalize '{norm}'; use one of {', '.join(NORMALIZERS)}")
        columns.append(ExportColumn(str(col["header"]), str(col["source"]), norm, bool(col.get("hash", False))))
    if not columns:
        raise bad("no columns; add columns = [{ header = ..., source = ... }, ...]")
    headers = [c.header for c in columns]
    if len(set(headers)) != len(headers):
        raise bad("headers repeat; each header must be unique")
    identifiers = tuple(spec.get("identifiers", ()))
    if set(identifiers) - set(headers):
        raise bad(f"identifiers {', '.join(sorted(set(identifiers) - set(headers)))} are not headers of the profile")
    channel = spec.get("channel")
    if channel is not None and str(channel).lower() in _NEVER_EXPORTED_CHANNELS:
        raise bad(f"channel '{channel}' means no contact and is never exported")
    encoding = str(spec.get("encoding", "utf-8"))
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise bad(f"unknown encoding '{encoding}'; use utf-8") from exc
    min_rows, chunk_rows = spec.get("min_rows", 1), spec.get("chunk_rows", 1_000_000)
    if not (isinstance(min_rows, int) and min_rows >= 0 and isinstance(chunk_rows, int) and chunk_rows >= 1):
        raise bad(f"min_rows must be an integer >= 0 and chunk_rows >= 1, got {min_rows!r} and {chunk_rows!r}")
    return ExportProfile(
        name=name, columns=tuple(columns), description=str(spec.get("description", "")),
        channel=str(channel).lower() if channel is not None else None, consent=spec.get("consent"),
        contact_any=tuple(spec.get("contact_any", ())), identifiers=identifiers, encoding=encoding,
        min_rows=min_rows, chunk_rows=chunk_rows,
    )


# --------------------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_audience` wrote.

    counts: rows remaining after each step, in order, e.g. ``{"audience": 5000,
    "channel=email": 2100, "consent": 1900, "excluded (holdout/suppression)": 1700}``
    (ad profiles end with ``"no usable identifier"``: rows left once those without any
    are dropped). sha256: file name -> hex digest of the written bytes.
    """

    profile: str
    name: str
    paths: tuple[Path, ...]
    rows_written: int
    counts: dict[str, int]
    warnings: tuple[str, ...]
    sha256: dict[str, str]
    log_path: Path


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
    table = profiles if isinstance(profiles, Mapping) else load_export_profiles(profiles)
    if profile not in table:
        raise ParameterError(f"unknown export profile {profile!r}; valid profiles: {', '.join(sorted(table))}")
    spec = table[profile]
    if not isinstance(name, str) or not _SAFE_NAME.fullmatch(name):
        raise ParameterError(f"audience name {name!r} cannot be used in file names; use letters, digits, "
                             "'.', '_' or '-' (at most 100 characters, starting with a letter or digit)")
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
            warnings.append(f"no {spec.consent} column: customers with promo_channel 'none' were treated "
                            "as opted out and everyone else as consenting; add consent flags to the export")
        else:
            warnings.append(f"no {spec.consent} column: promo_channel was taken as the customer's stated "
                            "preference; add consent flags to the export")
        counts["consent"] = int(keep.sum())
    if exclude_ids is not None:
        keep &= ~_normalized_ids(aud["customer_id"]).isin(_normalized_ids(exclude_ids)).to_numpy(dtype=bool)
    counts["excluded (holdout/suppression)"] = int(keep.sum())

    out = _build_frame(spec, lookup, keep, phone_region, warnings)
    if spec.identifiers:
        out = out[out[list(spec.identifiers)].notna().any(axis=1).to_numpy()]
        counts["no usable identifier"] = int(len(out))
    if len(out) < spec.min_rows:
        warnings.append(f"only {len(out)} row(s) to write for profile '{profile}', below its minimum of "
                        f"{spec.min_rows}; the destination may reject or not use such a small list")
    for col in out.columns:
        out[col] = escape_formula(out[col])

    paths, digests, rows = _write_chunks(out, spec, Path(out_dir), name)
    warnings.extend(_stale_files(Path(out_dir), name, profile, paths))
    for w in warnings:
        logger.warning("export %s/%s: %s", name, profile, w)
    log = Path(log_path) if log_path is not None else Path(out_dir) / "export_log.jsonl"
    _append_log(log, {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "user": user if user is not None else _current_user(),
        "audience": name,
        "profile": profile,
        "rows": int(len(out)),
        "files": [{"file": p.name, "rows": r, "sha256": digests[p.name]} for p, r in zip(paths, rows)],
        "counts": counts,
        "warnings": warnings,
    })
    return ExportResult(profile=profile, name=name, paths=tuple(paths), rows_written=int(len(out)),
                        counts=counts, warnings=tuple(warnings), sha256=digests, log_path=log)


def _index_customers(customers: pd.DataFrame | None) -> pd.DataFrame:
    if customers is None:
        return pd.DataFrame(index=pd.Index([], dtype=object, name="customer_id"))
    if "customer_id" not in customers.columns:
        raise MissingColumnsError(["customer_id"], customers.columns, where="customers")
    cust = customers.set_index(_as_text(customers["customer_id"]).rename("customer_id"))
    if not cust.index.is_unique:
        dup = cust.index[cust.index.duplicated()].unique()
        raise InputError(f"customers has {len(dup)} repeated customer_id value(s) (e.g. {dup[0]!r}); "
                         "pass the clean table, which has one row per customer")
    return cust


def _in_rank_order(audience: pd.DataFrame, warnings: list[str]) -> pd.DataFrame:
    aud = audience
    if "rank" in aud.columns:
        aud = aud.sort_values("rank", kind="stable")
    dup = _as_text(aud["customer_id"]).duplicated().to_numpy()
    if dup.any():
        warnings.append(f"{int(dup.sum())} repeated customer_id row(s) in the audience were dropped "
                        "(the best-ranked row is kept)")
        aud = aud[~dup]
    return aud.reset_index(drop=True)


class _Lookup:
    """Columns aligned with the audience rows: scores from the audience, customer
    attributes (channel, consent, contact) from the customers table, else the audience."""

    def __init__(self, aud: pd.DataFrame, cust: pd.DataFrame):
        self.aud, self.cust = aud, cust
        self.ids = _as_text(aud["customer_id"])

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
        return None if s is None else _as_text(s).str.strip().str.lower()


def _consent_true(consent: pd.Series) -> np.ndarray:
    """True only where consent is explicitly given; False, unknown and unreadable values are False."""
    if pd.api.types.is_bool_dtype(consent.dtype) or str(consent.dtype) == "boolean":
        return consent.astype("boolean").to_numpy(dtype=bool, na_value=False)
    text = _as_text(consent).str.strip().str.lower()
    return text.isin(_TRUE_TOKENS).to_numpy(dtype=bool, na_value=False)


def _normalized_ids(ids: Iterable[str]) -> pd.Series:
    s = ids if isinstance(ids, pd.Series) else pd.Series(list(ids), dtype=object)
    return normalize_id(s.reset_index(drop=True)).values


def _build_frame(spec: ExportProfile, lookup: _Lookup, keep: np.ndarray, phone_region: str,
                 warnings: list[str]) -> pd.DataFrame:
    rows = np.flatnonzero(keep)
    country = lookup.get("country")
    regions = country.iloc[rows].reset_index(drop=True) if country is not None else None
    data: dict[str, pd.Series] = {}
    absent: list[str] = []
    for col in spec.columns:
        src = lookup.get(col.source)
        if src is None:
            absent.append(col.source)
            data[col.header] = pd.Series(pd.NA, index=pd.RangeIndex(len(rows)), dtype=_STR)
            continue
        values = _normalize(col.normalize, src.iloc[rows].reset_index(drop=True),
                            regions=regions, default_region=phone_region)
        data[col.header] = sha256_hex(values) if col.hash else values
    if absent:
        warnings.append(f"no {', '.join(absent)} column(s): written empty; add them to the CRM export "
                        "to improve matching")
    return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


def _write_chunks(out: pd.DataFrame, spec: ExportProfile, out_dir: Path,
                  name: str) -> tuple[list[Path], dict[str, str], list[int]]:
    n_files = max(1, math.ceil(len(out) / spec.chunk_rows))
    width = max(3, len(str(n_files)))
    paths, digests, rows = [], {}, []
    for i in range(n_files):
        part = out.iloc[i * spec.chunk_rows:(i + 1) * spec.chunk_rows]
        fname = f"{name}_{spec.name}.csv" if n_files == 1 else f"{name}_{spec.name}_{i + 1:0{width}d}.csv"
        try:
            data = part.to_csv(index=False, lineterminator="\n").encode(spec.encoding)
        except UnicodeEncodeError as exc:
            raise InputError(f"profile '{spec.name}' writes {spec.encoding}, which cannot encode a value "
                             f"({exc.reason}); set encoding = \"utf-8\" in the profile") from exc
        path = out_dir / fname
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
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
    return [f"older file(s) {', '.join(stale)} from a previous export of this audience are still in "
            f"{out_dir}; delete them before uploading the folder"]


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers)
        return "unknown"


def _append_log(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line)


def log_rewrite(path: str | Path, audience: str, files: Sequence[Mapping[str, Any]], *, user: str | None = None,
                reason: str = "erasure") -> None:
    """Append a record to an export log saying that exported files of ``audience`` were rewritten.

    ``files`` are ``{"file", "rows", "rows_removed", "sha256"}`` entries: the new checksums supersede
    those of the earlier export records. The record has the fields of an export record (``profile`` is
    the ``reason``) plus ``"event": reason``, and no personal data (an erasure is logged by key in the
    database's ``erasure_log``). Files already uploaded to a destination are not affected.
    """
    removed = int(sum(int(f.get("rows_removed", 0)) for f in files))
    _append_log(Path(path), {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "user": user if user is not None else _current_user(),
        "event": reason,
        "audience": audience,
        "profile": reason,
        "rows": int(sum(int(f.get("rows", 0)) for f in files)),
        "files": [dict(f) for f in files],
        "counts": {"rows_removed": removed},
        "warnings": [],
    })


# --------------------------------------------------------------------------- manifests


def audience_digest(audience: pd.DataFrame) -> str:
    """SHA-256 of an audience's ``customer_id<TAB>rank`` lines (one per row, in rank order, UTF-8).

    Without a ``rank`` column the rows' order gives ranks 1..n.

    >>> d = audience_digest(pd.DataFrame({"customer_id": ["C2", "C1"], "rank": [2, 1]}))
    >>> d == hashlib.sha256(b"C1\\t1\\nC2\\t2\\n").hexdigest()
    True
    """
    if "customer_id" not in audience.columns:
        raise MissingColumnsError(["customer_id"], audience.columns, where="audience")
    if "rank" in audience.columns:
        aud = audience.sort_values("rank", kind="stable")
        rank = _as_text(pd.to_numeric(aud["rank"], errors="coerce").astype("Int64"))
    else:
        aud = audience
        rank = pd.Series(np.arange(1, len(aud) + 1), index=aud.index).astype(_STR)
    lines = _as_text(aud["customer_id"]).fillna("") + "\t" + rank.fillna("") + "\n"
    return hashlib.sha256("".join(lines.tolist()).encode("utf-8")).hexdigest()


def write_manifest(
    path: str | Path,
    *,
    audience: pd.DataFrame,
    seeds: Iterable[str] | str | Mapping[str, Any],
    parameters: dict,
    model_version: str,
    data_fingerprint: str,
    counts: dict,
    created: str | None = None,
    files: Mapping[str, str] | None = None,
) -> Path:
    """Write an audience manifest (JSON, keys sorted, 2-space indent) atomically and return its path.

    ``files`` maps file names next to the manifest to their SHA-256, so a reader can
    refuse a modified or corrupt audience file (:func:`lookalike.audience.store.load_audience`).

    ``seeds`` is the list of seed ids, or a description (``"VIP customers"``) or a mapping
    such as ``{"description": "VIP customers", "count": 600}``. The manifest records the
    audience's size and :func:`audience_digest`, so a list can be traced and reproduced.

    >>> import tempfile, os
    >>> p = write_manifest(os.path.join(tempfile.mkdtemp(), "m.json"),
    ...                    audience=pd.DataFrame({"customer_id": ["C1"], "rank": [1]}), seeds=["C9"],
    ...                    parameters={"size": 1}, model_version="0.1.0", data_fingerprint="abc",
    ...                    counts={"audience": 1}, created="2025-01-01T00:00:00+00:00")
    >>> load_manifest(p)["seeds"]
    {'count': 1, 'ids': ['C9']}
    """
    if isinstance(seeds, str):
        seeds_entry: dict[str, Any] = {"description": seeds}
    elif isinstance(seeds, Mapping):
        seeds_entry = dict(seeds)
    else:
        ids = pd.Series(list(seeds), dtype=object)
        seeds_entry = {"ids": _as_text(ids).fillna("").tolist(), "count": int(len(ids))}
    doc = {
        "kind": MANIFEST_KIND,
        "format_version": MANIFEST_VERSION,
        "created": created or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "audience": {"rows": int(len(audience)), "sha256": audience_digest(audience),
                     "sha256_of": "customer_id<TAB>rank lines in rank order, UTF-8"},
        "seeds": to_jsonable(seeds_entry, "seeds"),
        "parameters": to_jsonable(parameters, "parameters"),
        "model_version": str(model_version),
        "data_fingerprint": str(data_fingerprint),
        "counts": to_jsonable(counts, "counts"),
    }
    if files:
        doc["files"] = {str(k): str(v) for k, v in files.items()}
    text = json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return write_text(path, text)


def load_manifest(path: str | Path) -> dict:
    """Read an audience manifest written by :func:`write_manifest`.

    Raises :class:`~lookalike.errors.InputError` when the file is missing, is not JSON
    or is not an audience manifest.
    """
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"cannot read manifest {p}: the file does not exist; check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read manifest {p}: {exc}; pass a manifest written by write_manifest") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{p} is not an audience manifest: not valid JSON (line {exc.lineno}); "
                         "pass a manifest written by write_manifest") from exc
    if not isinstance(doc, dict) or doc.get("kind") != MANIFEST_KIND:
        raise InputError(f"{p} is not an audience manifest (no \"kind\": \"{MANIFEST_KIND}\"); "
                         "pass a manifest written by write_manifest")
    version = doc.get("format_version")
    if not isinstance(version, int) or version > MANIFEST_VERSION:
        raise InputError(f"{p} has manifest format version {version!r}; this Lookalike reads up to "
                         f"{MANIFEST_VERSION}; upgrade Lookalike")
    return doc
