"""Contact pressure: who was contacted recently, and who is already at the contact cap.

The campaign store records every contact (a customer in an exported channel file; see
docs/campaigns.md) in its ``contacts`` table. Two audience options read it:

* ``exclude_contacted_within="14d"``: customers with a contact in the 14 days before ``as_of``
  are left out;
* ``max_contacts="3/30d"``: customers with 3 or more contacts in the 30 days before ``as_of``
  (they are at the cap: one more would be the 4th) are left out.

The history comes as an engine of the campaign store (read with :func:`read_contacts`) or as a
frame of ``customer_id, contacted_at`` (one row per contact). :func:`contact_exclusions` turns it
into one mask per rule over the customers; the expansion applies them after scoring, as filters,
so a customer's rank among the others does not depend on the contact history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lookalike.audience.options import parse_cap, parse_duration
from lookalike.cleaning.ids import canonical_ids
from lookalike.errors import MissingColumnsError, ParameterError

if TYPE_CHECKING:  # pragma: no cover
    import sqlalchemy as sa

__all__ = ["CONTACT_COLUMNS", "ContactRules", "contact_exclusions", "contacted_ids", "read_contacts",
           "require_history", "utc_timestamp"]

CONTACT_COLUMNS = ("customer_id", "contacted_at")


@dataclass(frozen=True)
class ContactRules:
    """The contact rules of an audience: a recent-contact window and a cap (either may be None).

    >>> r = ContactRules.parse("14d", "3/30d")
    >>> r.labels()
    ['excluded: contacted in the last 14d', 'excluded: at the contact cap (3 in 30d)']
    >>> r.since(pd.Timestamp("2026-03-31", tz="UTC")).date()
    datetime.date(2026, 3, 1)
    """

    within: str | None = None
    max_contacts: str | None = None

    @classmethod
    def parse(cls, within: object = None, max_contacts: object = None) -> "ContactRules":
        """Rules from the options' texts (checked; None leaves a rule out)."""
        if within is not None:
            parse_duration(within)
        if max_contacts is not None:
            parse_cap(max_contacts)
        return cls(within.strip() if isinstance(within, str) else None,
                   max_contacts.replace(" ", "") if isinstance(max_contacts, str) else None)

    def __bool__(self) -> bool:
        return self.within is not None or self.max_contacts is not None

    def windows(self) -> list[timedelta]:
        """The windows the rules look back over."""
        return [w for w in (parse_duration(self.within) if self.within else None,
                            parse_cap(self.max_contacts)[1] if self.max_contacts else None) if w is not None]

    def since(self, as_of: datetime) -> pd.Timestamp:
        """The oldest contact time any rule looks at."""
        return utc_timestamp(as_of) - max(self.windows(), default=timedelta(0))

    def labels(self) -> list[str]:
        """The funnel labels of the rules, in the order they are applied."""
        out = []
        if self.within:
            out.append(f"excluded: contacted in the last {self.within}")
        if self.max_contacts:
            n, _ = parse_cap(self.max_contacts)
            out.append(f"excluded: at the contact cap ({n} in {self.max_contacts.split('/', 1)[1]})")
        return out

    def to_dict(self) -> dict[str, str | None]:
        """The rules as the audience options name them."""
        return {"exclude_contacted_within": self.within, "max_contacts": self.max_contacts}


def utc_timestamp(value: object) -> pd.Timestamp:
    """A time as a UTC timestamp (a naive time is read as UTC)."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def read_contacts(engine: "sa.Engine", since: datetime, *, exclude_campaign: int | None = None) -> pd.DataFrame:
    """Contacts recorded in the campaign store at or after ``since``: ``customer_id, contacted_at``.

    ``exclude_campaign`` leaves out one campaign's own contacts (its re-export does not count against it).
    """
    import sqlalchemy as sa  # lazy: SQLAlchemy only when the history comes from a database

    from lookalike.database import contacts  # lazy: the database stack (SQLAlchemy) on the same condition

    q = sa.select(contacts.c.customer_id, contacts.c.contacted_at).where(
        contacts.c.contacted_at >= utc_timestamp(since).to_pydatetime())
    if exclude_campaign is not None:
        q = q.where(sa.or_(contacts.c.campaign_id.is_(None), contacts.c.campaign_id != int(exclude_campaign)))
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(q).all(), columns=list(CONTACT_COLUMNS))
    # SQLite gives naive datetimes: the store writes UTC
    return frame.assign(customer_id=frame["customer_id"].astype(object),
                        contacted_at=pd.to_datetime(frame["contacted_at"], utc=True))


def _history(contacts: object, since: pd.Timestamp) -> pd.DataFrame:
    """The contact frame behind ``contacts`` (an engine or a frame), from ``since`` on."""
    if isinstance(contacts, pd.DataFrame):
        missing = set(CONTACT_COLUMNS) - set(contacts.columns)
        if missing:
            raise MissingColumnsError(missing, contacts.columns, where="contact history")
        at = pd.to_datetime(contacts["contacted_at"], errors="coerce")
        at = at.dt.tz_localize("UTC") if at.dt.tz is None else at.dt.tz_convert("UTC")
        keep = (at >= since).to_numpy(dtype=bool, na_value=False)
        return pd.DataFrame({"customer_id": contacts["customer_id"].to_numpy(dtype=object)[keep],
                             "contacted_at": at[keep].reset_index(drop=True)})
    if hasattr(contacts, "connect") and hasattr(contacts, "dialect"):  # a SQLAlchemy engine
        return read_contacts(contacts, since)
    raise ParameterError(f"contacts must be an engine of the campaign store or a frame of customer_id, contacted_at; "
                         f"got {type(contacts).__name__}")


def require_history(rules: ContactRules, contacts: object) -> None:
    """Refuse contact rules without a contact history (one line naming the rules and the fix)."""
    if rules and contacts is None:
        raise ParameterError(f"{' and '.join(k for k, v in rules.to_dict().items() if v)} need the contact history: "
                             "pass contacts= (an engine of the campaign store, or a frame of customer_id, "
                             "contacted_at); on the command line, --db or LOOKALIKE_DB_URL names the store")


def contacted_ids(contacts: object, rules: ContactRules, as_of: datetime | None = None) -> list[tuple[str, pd.Index]]:
    """One ``(label, ids)`` per rule: the canonical ids of the customers each rule leaves out.

    ``contacts``: an engine of the campaign store or a frame of ``customer_id, contacted_at`` (naive
    times are UTC). A contact counts when it is at or after ``as_of`` minus the rule's window (later
    ones too); ``as_of`` defaults to now.
    """
    as_of_ts = utc_timestamp(as_of if as_of is not None else datetime.now(timezone.utc))
    if not rules:
        return []
    history = _history(contacts, rules.since(as_of_ts))
    who = pd.Index(canonical_ids(history["customer_id"]))
    at = pd.DatetimeIndex(history["contacted_at"])
    labels = iter(rules.labels())
    out = []
    if rules.within:
        out.append((next(labels), who[at >= as_of_ts - parse_duration(rules.within)].unique()))
    if rules.max_contacts:
        n, window = parse_cap(rules.max_contacts)
        per_customer = who[at >= as_of_ts - window].value_counts()
        out.append((next(labels), pd.Index(per_customer.index[per_customer.to_numpy() >= n])))
    return out


def contact_exclusions(ids: Iterable[str], contacts: object, rules: ContactRules,
                       as_of: datetime | None = None) -> list[tuple[str, np.ndarray]]:
    """One ``(label, mask)`` per rule: which of ``ids`` (canonical customer ids) each rule leaves out
    (:func:`contacted_ids` as masks over ``ids``).

    >>> h = pd.DataFrame({"customer_id": ["A", "A", "A", "B", "C"],
    ...                   "contacted_at": pd.to_datetime(["2026-03-29", "2026-03-20", "2026-03-10",
    ...                                                   "2026-02-01", "2026-03-25"])})
    >>> [(label, m.tolist()) for label, m in contact_exclusions(["A", "B", "C", "D"], h,
    ...     ContactRules.parse("7d", "3/30d"), as_of=pd.Timestamp("2026-03-31"))]
    [('excluded: contacted in the last 7d', [True, False, True, False]), ('excluded: at the contact cap (3 in 30d)', [True, False, False, False])]
    """
    index = pd.Index(list(ids) if not isinstance(ids, (pd.Index, pd.Series, np.ndarray)) else ids)
    return [(label, index.isin(who)) for label, who in contacted_ids(contacts, rules, as_of)]
