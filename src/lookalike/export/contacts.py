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
* zip: lower-cased, all whitespace removed; a US ZIP+4 keeps its first five digits. Where the
  row's country has a known format (:data:`POSTCODE_FORMATS`: ES five digits with a province
  prefix 01-52, FR, DE, IT, US, ...) the postcode is validated: digits that lost their leading
  zero in a spreadsheet (``8001`` for Barcelona's ``08001``) get it back, anything else that
  does not fit is NA (never hashed as garbage). Other countries' postcodes are kept as they are.
* country: ISO 3166-1 alpha-2, lower-case (``country_upper`` for Google's unhashed column), read
  from codes (``ES``, ``ESP``) and English or Spanish names (``Spain``, ``España``), from
  ``pycountry``'s ISO tables and their translations; anything else is NA.
* hash: lowercase hex SHA-256 of the UTF-8 bytes, no salt; NA stays NA.
"""

from __future__ import annotations

import gettext
import hashlib
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from lookalike.errors import ParameterError
from lookalike.io import TEXT_DTYPE, as_text

__all__ = [
    "NORMALIZERS",
    "POSTCODE_FORMATS",
    "country_code",
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


#: Postcode formats of common countries, as regular expressions on the normalised text (lower case,
#: no spaces), and the length all-digit codes have: a shorter run of digits lost its leading zeros
#: in a spreadsheet. Countries not listed keep their postcodes unvalidated.
POSTCODE_FORMATS: dict[str, tuple[str, int | None]] = {
    "es": (r"(?:0[1-9]|[1-4]\d|5[0-2])\d{3}", 5),  # 01-52: the provinces
    "fr": (r"\d{5}", 5),
    "de": (r"\d{5}", 5),
    "it": (r"\d{5}", 5),
    "us": (r"\d{5}", 5),
    "mx": (r"\d{5}", 5),
    "pt": (r"\d{4}-?\d{3}", None),
    "gb": (r"[a-z]{1,2}\d[a-z\d]?\d[a-z]{2}", None),
    "nl": (r"[1-9]\d{3}[a-z]{2}", None),
    "be": (r"[1-9]\d{3}", None),
    "ch": (r"[1-9]\d{3}", None),
    "at": (r"[1-9]\d{3}", None),
}
#: Country spellings that are not in the ISO tables but common in CRM exports.
_COUNTRY_ALIASES = {"uk": "gb", "eeuu": "us", "eua": "us", "inglaterra": "gb", "holanda": "nl"}


def _country_key(text: str) -> str:
    """Accents, case, spaces and punctuation removed: "  España " and "ESPANA" meet."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").casefold()
    return re.sub(r"[^a-z0-9]", "", folded)


@lru_cache(maxsize=1)
def _country_table() -> dict[str, str]:
    """Normalised code or name -> alpha-2 (lower case): ISO codes, English and Spanish names."""
    import pycountry

    spanish = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["es"], fallback=True).gettext
    table: dict[str, str] = {}
    for c in pycountry.countries:
        code = c.alpha_2.lower()
        names = [c.name, getattr(c, "common_name", None), getattr(c, "official_name", None)]
        for text in (*names, *(spanish(n) for n in names if n)):
            if text:
                table.setdefault(_country_key(text), code)
        for text in (c.alpha_2, c.alpha_3):  # codes win over names
            table[_country_key(text)] = code
    for alias, code in _COUNTRY_ALIASES.items():
        table.setdefault(alias, code)
    return table


def country_code(value: object) -> str | None:
    """ISO 3166-1 alpha-2 (lower case) of a country code or English/Spanish name; None if unknown.

    >>> [country_code(v) for v in ("ES", "esp", "España", "Spain", "Alemania", "UK", "Narnia")]
    ['es', 'es', 'es', 'es', 'de', 'gb', None]
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    return _country_table().get(_country_key(str(value)))


def normalize_zip(series: pd.Series, countries: pd.Series | None = None) -> pd.Series:
    """Postal codes: lower case, no whitespace; a US ZIP+4 keeps its first five digits.

    With ``countries`` (the rows' countries, any spelling :func:`country_code` reads), postcodes of
    the countries in :data:`POSTCODE_FORMATS` are validated: all-digit codes shorter than the
    country's length get their lost leading zeros back, codes that do not fit become NA.

    >>> normalize_zip(pd.Series([" SW1A 1AA", "28001", "94105-1234"])).tolist()
    ['sw1a1aa', '28001', '94105']
    >>> normalize_zip(pd.Series(["8001", "28001", "99999", "1000", "1000"]),
    ...               pd.Series(["ES", "España", "es", "BE", None])).tolist()
    ['08001', '28001', <NA>, '1000', '1000']
    """
    s = as_text(series).str.lower().str.replace(r"\s+", "", regex=True)
    s = _blank_to_na(s.str.replace(r"^(\d{5})-\d{4}$", r"\1", regex=True))
    if countries is None:
        return s
    country = normalize_country(countries).reindex(s.index)
    for code, (pattern, digits) in POSTCODE_FORMATS.items():
        rows = (country == code).to_numpy(dtype=bool, na_value=False) & s.notna().to_numpy()
        if not rows.any():
            continue
        values = s[rows]
        if digits is not None:  # a number cell: "8001" was "08001"
            short = values.str.fullmatch(rf"\d{{1,{digits - 1}}}", na=False).astype(bool)
            values = values.where(~short, values.str.zfill(digits))
        s.loc[rows] = values.where(values.str.fullmatch(pattern, na=False).astype(bool))
    return s


def normalize_country(series: pd.Series) -> pd.Series:
    """ISO 3166-1 alpha-2 codes in lower case, from codes and English or Spanish names; unknown is NA.

    >>> normalize_country(pd.Series([" ES", "fr", "Spain", "ESP", "España", "Narnia"])).tolist()
    ['es', 'fr', 'es', 'es', 'es', <NA>]
    """
    return _map_unique(as_text(series), country_code)


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
        "zip": lambda s: normalize_zip(s, regions),
        "country": normalize_country,
        "country_upper": lambda s: normalize_country(s).str.upper(),
    }
    return funcs[kind](series)
