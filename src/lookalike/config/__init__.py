"""Configuration loaded from TOML files shipped in this package (no module-level state)."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from lookalike.errors import InputError

if TYPE_CHECKING:  # annotations only: importing the settings must not load pandas
    import pandas as pd


def load_toml(path: str | Path | None, packaged: str, what: str) -> dict:
    """Parse ``path``, or the TOML file ``packaged`` shipped in ``lookalike/config``.

    ``what`` names the file's role in error messages ("column mapping", "vocabulary", ...).
    """
    where = str(path) if path is not None else packaged
    try:
        if path is None:
            text = resources.files("lookalike.config").joinpath(packaged).read_text("utf-8")
        else:
            text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {what} {where}: {exc.strerror}; pass an existing TOML file") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{what} {where} is not valid TOML: {exc}") from exc


def normalize_name(name: object) -> str:
    """Normalise a column name for matching: lower case, no accents, ``_`` between words."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[\s\-\./]+", "_", text.strip().lower()).strip("_")


@dataclass(frozen=True)
class ColumnMapping:
    """Which raw column names map to which canonical column of the contract."""

    aliases: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    any_of: tuple[tuple[str, ...], ...]

    @classmethod
    def load(cls, path: str | Path | None = None) -> "ColumnMapping":
        """Load the mapping from ``path`` or from the packaged ``columns.toml``."""
        data = load_toml(path, "columns.toml", "column mapping")
        cols = data.get("columns", {})
        req = data.get("required", {})
        return cls(
            aliases={k: tuple(v) for k, v in cols.items()},
            required=tuple(req.get("columns", ["customer_id"])),
            any_of=tuple(tuple(g) for g in req.get("any_of", [])),
        )

    def lookup(self) -> dict[str, str]:
        """Normalised raw name -> canonical name (canonical names map to themselves)."""
        table: dict[str, str] = {}
        for canonical, aliases in self.aliases.items():
            for alias in aliases:
                table.setdefault(normalize_name(alias), canonical)
        for canonical in self.aliases:  # a canonical name always wins over an alias
            table[normalize_name(canonical)] = canonical
        return table

    def apply(self, df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
        """Rename ``df``'s columns to canonical names.

        Returns the renamed frame and ``{raw name: canonical name}`` for the columns
        that were renamed. Columns that match nothing keep their (stripped) name.
        When two raw columns map to the same canonical name, the first keeps it and
        the later ones keep their raw name, so nothing is lost silently.
        """
        table = self.lookup()
        renamed: dict[str, str] = {}
        new_names: list[str] = []
        # a column already named canonically keeps the name; aliases only fill free names
        taken: set[str] = {str(raw).strip() for raw in df.columns if str(raw).strip() in self.aliases}
        for raw in df.columns:
            name = str(raw).strip()
            canonical = table.get(normalize_name(raw))
            if canonical is not None and canonical != name and canonical not in taken:
                renamed[str(raw)] = canonical
                name = canonical
                taken.add(canonical)
            new_names.append(name)
        out = df.copy(deep=False)
        out.columns = new_names
        return out, renamed
