"""Contact columns for ad platforms: e-mail, phone, name, zip and country normalised, then hashed.

Rules (check the vendor's current documentation before relying on them):

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

import hashlib
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from lookalike.errors import ParameterError
from lookalike.io import TEXT_DTYPE, as_text

__all__ = [
    "NORMALIZERS",
    "normalize",
    "normalize_country",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
    "normalize_zip",
    "sha256_hex",
]

#: The ``normalize`` values an export profile column may name.
NORMALIZERS: tuple[str, ...] = (
    "id", "int", "score", "text", "text_lower", "email", "phone_e164", "phone_digits",
    "name", "zip", "country", "country_upper",
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_NAME_DROP = re.compile(r"[\W\d_]+")  # everything that is not a letter (Unicode-aware)


def _map_unique(series: pd.Series, func: Callable[[Any], str | None]) -> pd.Series:
    """Apply ``func`` to each distinct non-missing value once and map back (NA stays NA)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([func(u) for u in uniques] + [None], dtype=object)  # code -1 -> None
    return pd.Series(mapped[codes], index=series.index, name=series.name, dtype=TEXT_DTYPE)


def _blank_to_na(s: pd.Series) -> pd.Series:
    return s.mask(s == "")


def normalize_email(series: pd.Series) -> pd.Series:
    """Trimmed, lower-cased e-mail addresses; values not shaped ``local@domain.tld`` become NA.

    >>> normalize_email(pd.Series([" John.Doe@Example.COM ", "not an email", None])).tolist()
    ['john.doe@example.com', <NA>, <NA>]
    """
    s = as_text(series).str.normalize("NFC").str.strip().str.lower()
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
    text = _blank_to_na(as_text(series).str.strip())
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
    s = as_text(series).str.normalize("NFKD").str.lower().str.replace(_NAME_DROP, "", regex=True)
    return _blank_to_na(s.str.normalize("NFC"))


def _text_lower(series: pd.Series) -> pd.Series:
    s = as_text(series).str.normalize("NFC").str.strip().str.lower().str.replace(r"\s+", " ", regex=True)
    return _blank_to_na(s)


def normalize_zip(series: pd.Series) -> pd.Series:
    """Postal codes: lower case, no whitespace; a US ZIP+4 keeps its first five digits.

    >>> normalize_zip(pd.Series([" SW1A 1AA", "28001", "94105-1234"])).tolist()
    ['sw1a1aa', '28001', '94105']
    """
    s = as_text(series).str.lower().str.replace(r"\s+", "", regex=True)
    s = s.str.replace(r"^(\d{5})-\d{4}$", r"\1", regex=True)
    return _blank_to_na(s)


def normalize_country(series: pd.Series) -> pd.Series:
    """Two-letter ISO country codes in lower case; anything else (names, 3-letter codes) is NA.

    >>> normalize_country(pd.Series([" ES", "fr", "Spain"])).tolist()
    ['es', 'fr', <NA>]
    """
    s = as_text(series).str.strip().str.lower()
    return s.where(s.str.fullmatch(r"[a-z]{2}", na=False).astype(bool))


def sha256_hex(series: pd.Series) -> pd.Series:
    """Lowercase hex SHA-256 of each value's UTF-8 text (each distinct value hashed once); NA stays NA.

    >>> sha256_hex(pd.Series(["adsapi", None])).str.slice(0, 8).tolist()
    ['49e0be2a', <NA>]
    """
    return _map_unique(as_text(series), lambda v: hashlib.sha256(str(v).encode("utf-8")).hexdigest())


def normalize(kind: str, series: pd.Series, *, regions: pd.Series | None, default_region: str) -> pd.Series:
    """``series`` normalised as ``kind`` (one of :data:`NORMALIZERS`), as an export profile column asks."""
    if kind == "id" or kind == "text":
        return as_text(series)
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
