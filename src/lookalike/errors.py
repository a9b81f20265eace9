"""One exception hierarchy for Lookalike, and the typed warnings results carry.

Every error a user can cause derives from :class:`LookalikeError`, carries a
one-line message saying *what* is wrong, *where* (column, row, file) and *how
to fix it*, and is shown by the CLI without a traceback. Each class says how
the faces report it: ``exit_code`` for the CLI, ``http_status`` for the API
(one mapping, read by both; no isinstance ladders)::

    class                                  exit  HTTP  meaning
    LookalikeError                            2   400  base class
    ├── InputError (ValueError)               3   400  bad files or tables
    │   ├── EmptyDataError                    3   400  no rows / no columns
    │   ├── MissingColumnsError               3   400  required columns absent
    │   ├── UnsupportedFormatError            3   400  extension/content not readable
    │   └── InputTooLarge                     3   413  above a size limit (workbook rows, columns, XML)
    │       └── UploadTooLarge                3   413  an upload above the size limit
    ├── ParameterError (ValueError)           2   400  bad arguments (k out of range, ...)
    │   ├── RecallFloorError                  2   400  an approximate index misses its recall floor
    │   └── NotFound                          2   404  no dataset / audience / export of that name
    ├── UnknownCustomerError (KeyError)       2   404  ids not in the fitted table
    │   └── QuarantinedCustomerError          2   404  ... because their rows were quarantined when cleaning
    ├── ModelFormatError                      3   400  model directory unreadable/incompatible
    ├── AccessDenied                          2   403  a server path or database the service may not read
    ├── CampaignError                         2   400  no such campaign, or the operation does not fit its state
    └── DatabaseError                         4   503  the database cannot be opened or migrated
        └── DatabaseBusyError (CampaignError) 4   503  a write found the database busy for too long

Exit codes: 0 ok, 1 unexpected failure (a bug), 2 bad argument, 3 bad input
data, 4 the database is unavailable (bad URL, server down, busy): retry or fix
the connection, the command itself was fine.

Warnings are :class:`ResultWarning` objects: a string (the message, printed as
is) with a ``code`` to test and the ``params`` it was built from.

>>> w = ResultWarning("too_few_candidates", "only 3 customers qualify", candidates=3)
>>> w.code, w.params["candidates"], str(w)
('too_few_candidates', 3, 'only 3 customers qualify')
>>> NotFound("no dataset 'x'").http_status, DatabaseError("server down").exit_code
(404, 4)

An error a face says in its reader's language carries a ``code`` and the ``params`` of its sentence
(``err_{code}`` in the catalogue), its message staying the English one:

>>> e = InputError("the seed set is empty", code="seeds_empty")
>>> e.code, str(e)
('seeds_empty', 'the seed set is empty')
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

EXIT_OK = 0
EXIT_FAILURE = 1  # unexpected: a bug (or a file system error), never a user's mistake in the arguments
EXIT_ARGUMENT = 2
EXIT_INPUT = 3
EXIT_UNAVAILABLE = 4


class LookalikeError(Exception):
    """Base class of every error Lookalike raises on purpose."""

    exit_code: ClassVar[int] = EXIT_ARGUMENT
    http_status: ClassVar[int] = 400
    #: What the error is, for a face that says it in its reader's language (``err_{code}`` in the
    #: catalogue, filled with ``params``); empty: the message is said as written.
    code: str = ""
    params: dict[str, Any]

    def __init__(self, *args: object, code: str = "", **params: Any) -> None:
        super().__init__(*args)
        self.code, self.params = code, params

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else self.__class__.__name__


class InputError(LookalikeError, ValueError):
    """The input data cannot be used as given."""

    exit_code = EXIT_INPUT


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


class InputTooLarge(InputError):
    """An input above a configured size limit (a workbook that expands to too many rows, an upload)."""

    http_status = 413


class UploadTooLarge(InputTooLarge):
    """An upload above the configured size limit."""


class ParameterError(LookalikeError, ValueError):
    """An argument is out of range or of the wrong type."""


class RecallFloorError(ParameterError):
    """An approximate index measured a recall below the configured floor (and no fallback was allowed)."""


class NotFound(ParameterError):
    """A named dataset, audience or export does not exist in the workspace."""

    http_status = 404


class UnknownCustomerError(LookalikeError, KeyError):
    """One or more customer ids are not in the fitted table."""

    http_status = 404

    def __init__(self, ids: Iterable[str], n_known: int):
        self.ids = list(ids)
        self.n_known = n_known
        shown = ", ".join(repr(i) for i in self.ids[:5]) + (" ..." if len(self.ids) > 5 else "")
        super().__init__(
            f"unknown customer id(s) {shown} ({len(self.ids)} of them); the fitted table has "
            f"{n_known:,} customers. Check the id (ids are matched after trimming spaces and "
            f"upper-casing) or refit on data that contains it."
        )


class QuarantinedCustomerError(UnknownCustomerError):
    """Ids asked for that are not in the table because their rows were quarantined when cleaning."""

    def __init__(self, reasons: dict[str, str], unknown: Iterable[str], n_known: int):
        self.reasons = dict(reasons)
        self.ids = [*self.reasons, *unknown]
        self.n_known = n_known
        first, why = next(iter(self.reasons.items()))
        more = f" ({len(self.reasons) - 1} more quarantined)" if len(self.reasons) > 1 else ""
        rest = list(unknown)
        also = f"; unknown too: {', '.join(repr(i) for i in rest[:5])}" if rest else ""
        LookalikeError.__init__(self, f"customer {first!r} was quarantined when the export was cleaned: {why}{more}"
                                f"{also}. Fix the row in the CRM export and clean it again (quarantine.csv lists "
                                f"the rows); the table has {n_known:,} customers")


class ModelFormatError(LookalikeError):
    """A saved model cannot be loaded (missing files, other format version, tampering)."""

    exit_code = EXIT_INPUT


class AccessDenied(LookalikeError):
    """A server file or database outside what the service may read (data folders, its own database)."""

    http_status = 403


class CampaignError(LookalikeError):
    """A campaign cannot be found or the operation does not fit its state."""


class DatabaseError(LookalikeError):
    """The database cannot be opened or migrated (bad URL, server down, unknown revision)."""

    exit_code = EXIT_UNAVAILABLE
    http_status = 503


class DatabaseBusyError(CampaignError, DatabaseError):
    """A campaign write found the database busy (locked) for longer than its retry budget."""

    exit_code = EXIT_UNAVAILABLE
    http_status = 503


class ResultWarning(str):
    """A warning on a result: the message itself (so it prints, compares and serialises as
    today's text), with a ``code`` to test instead of the wording, and its ``params``."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, message: str, **params: Any) -> "ResultWarning":
        self = super().__new__(cls, message)
        self.code = code
        self.params = params
        return self

    @property
    def message(self) -> str:
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"ResultWarning({self.code!r}, {self.message!r})"

    def __getnewargs_ex__(self) -> tuple[tuple[str, str], dict[str, Any]]:  # pickle and deepcopy
        return (self.code, self.message), dict(self.params)


__all__ = [
    "EXIT_ARGUMENT", "EXIT_FAILURE", "EXIT_INPUT", "EXIT_OK", "EXIT_UNAVAILABLE",
    "AccessDenied", "CampaignError", "DatabaseBusyError", "DatabaseError", "EmptyDataError", "InputError",
    "InputTooLarge", "LookalikeError", "MissingColumnsError", "ModelFormatError", "NotFound", "ParameterError",
    "QuarantinedCustomerError", "RecallFloorError", "ResultWarning",
    "UnknownCustomerError", "UnsupportedFormatError", "UploadTooLarge",
]
