"""One exception hierarchy for Lookalike.

Every error a user can cause derives from :class:`LookalikeError`, carries a
one-line message saying *what* is wrong, *where* (column, row, file) and *how
to fix it*, and is shown by the CLI without a traceback::

    LookalikeError
    ├── InputError (ValueError)            bad files or tables
    │   ├── EmptyDataError                 no rows / no columns
    │   ├── MissingColumnsError            required columns absent
    │   └── UnsupportedFormatError         extension/content not readable
    ├── ParameterError (ValueError)        bad arguments (k out of range, ...)
    │   └── RecallFloorError               an approximate index misses its recall floor
    ├── UnknownCustomerError (KeyError)    ids not in the fitted table
    └── ModelFormatError                   model directory unreadable/incompatible
"""

from __future__ import annotations

from collections.abc import Iterable


class LookalikeError(Exception):
    """Base class of every error Lookalike raises on purpose."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else self.__class__.__name__


class InputError(LookalikeError, ValueError):
    """The input data cannot be used as given."""


class EmptyDataError(InputError):
    """The input has no rows or no columns."""


class MissingColumnsError(InputError):
    """Required columns are absent from the input."""

    def __init__(self, missing: Iterable[str], available: Iterable[str], where: str = "input"):
        self.missing = sorted(missing)
        self.available = list(available)
        shown = ", ".join(self.available[:12]) + (" ..." if len(self.available) > 12 else "")
        super().__init__(
            f"{where} is missing required column(s) {', '.join(self.missing)}; "
            f"found: {shown or 'no columns'}. Rename the columns or add them to the "
            f"column-name mapping (lookalike/config/columns.toml or --columns FILE)."
        )


class UnsupportedFormatError(InputError):
    """The file type is not one Lookalike reads, or its content does not match."""


class ParameterError(LookalikeError, ValueError):
    """An argument is out of range or of the wrong type."""


class RecallFloorError(ParameterError):
    """An approximate index measured a recall below the configured floor (and no fallback was allowed)."""


class UnknownCustomerError(LookalikeError, KeyError):
    """One or more customer ids are not in the fitted table."""

    def __init__(self, ids: Iterable[str], n_known: int):
        self.ids = list(ids)
        shown = ", ".join(repr(i) for i in self.ids[:5]) + (" ..." if len(self.ids) > 5 else "")
        super().__init__(
            f"unknown customer id(s) {shown} ({len(self.ids)} of them); the fitted table has "
            f"{n_known:,} customers. Check the id (ids are matched after trimming spaces and "
            f"upper-casing) or refit on data that contains it."
        )


class ModelFormatError(LookalikeError):
    """A saved model cannot be loaded (missing files, other format version, tampering)."""
