"""Export profiles: a destination's file format and suppression rules, declared in TOML.

The packaged ``config/export_profiles.toml`` has one table per destination (``email``, ``sms``,
``push``, ``meta``, ``google``); see its header for every key.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from lookalike.config import load_toml
from lookalike.errors import InputError
from lookalike.export.contacts import NORMALIZERS

__all__ = ["ExportColumn", "ExportProfile", "NEVER_EXPORTED_CHANNELS", "load_export_profiles"]

#: promo_channel values that mean "no contact": never a channel profile.
NEVER_EXPORTED_CHANNELS = frozenset({"none", "unknown"})


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
    if channel is not None and str(channel).lower() in NEVER_EXPORTED_CHANNELS:
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
