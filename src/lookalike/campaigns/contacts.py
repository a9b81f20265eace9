"""The contact history of the campaign store: recording exports, and campaign exports within the caps.

**What counts as a contact**: a customer in a channel file that Lookalike exports for a channel tool
(the ``email``, ``sms`` and ``push`` profiles, and any profile with a ``channel``), whether the export
is a campaign's (``lookalike campaign export``, the API's export with ``campaign``) or a plain
audience export (``lookalike export``, the API and the UI). One row per customer and file: the
customer, the campaign (None for a plain export, which names its audience), the channel and the time.
Not contacts: the control group (never in a file), customers a profile leaves out (other channel, no
consent, excluded), and ad-platform lists (``meta``, ``google``: the platform decides who sees an ad,
and most of a list never does). The same campaign (or audience) exported again to the same channel on
the same day (UTC) records nobody twice: a re-run is not a second message.

The audience options ``exclude_contacted_within`` and ``max_contacts`` read this history
(:mod:`lookalike.audience.contacts`); :func:`check_campaign_export` applies them again when a
campaign is exported, because other campaigns may have reached its customers since the audience was
built.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from lookalike.audience.contacts import ContactRules, contact_exclusions, read_contacts, utc_timestamp
from lookalike.audience.manifest import audience_digest
from lookalike.campaigns.store import (Campaign, _bulk_insert, audience_version, control_ids, get_campaign,
                                       write_transaction)
from lookalike.cleaning.ids import normalize_ids
import lookalike.database as db
from lookalike.errors import CampaignError, InputError, ParameterError, ResultWarning
from lookalike.export import ExportResult, export_audience

__all__ = ["CampaignExport", "check_campaign_export", "contact_history", "export_recorded", "record_contacts"]

logger = logging.getLogger(__name__)


def record_contacts(engine: sa.Engine, customer_ids: Iterable[object], channel: str, *,
                    campaign_id: int | None = None, audience: str | None = None,
                    at: datetime | None = None) -> int:
    """Store one contact per customer (in one transaction) and return how many rows were added.

    Ids are stored canonical. A customer already recorded for the same campaign (or, without one,
    the same audience) and channel on the same UTC day is not recorded again.
    """
    ids = pd.unique(pd.Series(normalize_ids(list(customer_ids)), dtype=object).dropna())
    if not len(ids):
        return 0
    when = utc_timestamp(at if at is not None else db.utcnow())
    day = when.normalize()
    c = db.contacts
    same = (c.c.campaign_id == int(campaign_id)) if campaign_id is not None else \
        sa.and_(c.c.campaign_id.is_(None), c.c.audience == audience)

    def work(conn: sa.Connection) -> int:
        done = set(conn.execute(sa.select(c.c.customer_id).where(
            same, c.c.channel == channel, c.c.contacted_at >= day.to_pydatetime(),
            c.c.contacted_at < (day + pd.Timedelta(days=1)).to_pydatetime())).scalars())
        new = ids[~pd.Index(ids).isin(list(done))] if done else ids
        if len(new):
            _bulk_insert(conn, c, pd.DataFrame({
                "customer_id": new, "campaign_id": campaign_id, "audience": audience, "channel": channel,
                "contacted_at": when.to_pydatetime()}))
        return len(new)

    return write_transaction(engine, work)


def contact_history(engine: sa.Engine, customer_id: object | None = None) -> pd.DataFrame:
    """The stored contacts, newest first: customer_id, campaign (name or None), audience, channel,
    contacted_at; with ``customer_id``, that customer's only."""
    c, k = db.contacts, db.campaigns
    q = (sa.select(c.c.customer_id, k.c.name.label("campaign"), c.c.audience, c.c.channel, c.c.contacted_at)
         .select_from(c.outerjoin(k, k.c.id == c.c.campaign_id)).order_by(c.c.contacted_at.desc(), c.c.id.desc()))
    if customer_id is not None:
        q = q.where(c.c.customer_id == normalize_ids([customer_id])[0])
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    out = pd.DataFrame(rows, columns=["customer_id", "campaign", "audience", "channel", "contacted_at"])
    out["contacted_at"] = pd.to_datetime(out["contacted_at"], utc=True)
    return out


def export_recorded(engine: sa.Engine | None, audience: pd.DataFrame, customers: pd.DataFrame | None,
                    profile: str, out_dir: str | Path, *, name: str, campaign_id: int | None = None,
                    **export: object) -> ExportResult:
    """:func:`lookalike.export.export_audience`, then the customers of its files recorded as contacts
    (channel profiles only; see the module docstring) in the campaign store ``engine`` (None only for
    ad-platform profiles). When they cannot be recorded, the files just written are removed and the
    error is raised: a file sent without its contacts would slip past the contact rules.
    """
    res = export_audience(audience, customers, profile, out_dir, name=name, **export)
    if res.channel is None:
        return res
    try:
        if engine is None:
            raise ParameterError(f"profile {profile!r} writes a channel file, whose customers are recorded as "
                                 "contacted: it needs the campaign store (--db or LOOKALIKE_DB_URL)")
        record_contacts(engine, res.customer_ids, res.channel, campaign_id=campaign_id,
                        audience=None if campaign_id is not None else name)
    except BaseException:
        for p in res.paths:
            p.unlink(missing_ok=True)
        logger.error("export %s/%s: the contacts could not be recorded; its files were removed", name, profile)
        raise
    return res


@dataclass(frozen=True)
class CampaignExport:
    """What a campaign export may write: the campaign, the ids to leave out (its control group), the
    contact rules checked and how many treated customers break each, and the warnings to show."""

    campaign: Campaign
    exclude_ids: list[str]
    rules: ContactRules
    over: dict[str, int] = field(default_factory=dict)
    warnings: tuple[ResultWarning, ...] = ()


def check_campaign_export(engine: sa.Engine, ref: int | str, audience: pd.DataFrame, *,
                          exclude_contacted_within: str | None = None, max_contacts: str | None = None,
                          allow_over_cap: bool = False, as_of: datetime | None = None,
                          where: str = "this audience") -> CampaignExport:
    """Check a campaign export before any file is written, and say what to leave out.

    ``audience`` (named ``where`` in messages) must be the one the campaign was created from (same
    SHA-256). The contact rules are
    the arguments, else the ones the audience was built with (its stored manifest); contacts by this
    campaign itself do not count. Treated customers that break a rule are refused
    (:class:`~lookalike.errors.CampaignError` with the counts), unless ``allow_over_cap``: then
    they are exported, with a warning. They are never dropped silently: dropping treated customers
    after the split would leave the control group with customers the treated group no longer has,
    and the measured uplift would be biased.
    """
    camp = get_campaign(engine, ref)
    stored = audience_version(engine, camp.id)
    if audience_digest(audience) != stored["audience_hash"]:
        raise InputError(f"{where} is not the audience campaign {camp.name!r} was created from (its SHA-256 differs "
                         f"from the stored version, source {stored['source']}); export that one")
    built = (stored["manifest"] or {}).get("parameters") or {}
    rules = ContactRules.parse(
        exclude_contacted_within if exclude_contacted_within is not None else built.get("exclude_contacted_within"),
        max_contacts if max_contacts is not None else built.get("max_contacts"))
    control = control_ids(engine, camp.id)
    if not rules:
        return CampaignExport(camp, control, rules)
    when = utc_timestamp(as_of if as_of is not None else db.utcnow())
    ids = pd.Index(normalize_ids(audience["customer_id"]))
    treated = ~ids.isin(control)
    history = read_contacts(engine, rules.since(when), exclude_campaign=camp.id)
    masks = contact_exclusions(ids, history, rules, when)
    over = {label: int((mask & treated).sum()) for label, mask in masks}
    n_over = int(np.logical_or.reduce([mask & treated for _, mask in masks]).sum())
    if not n_over:
        return CampaignExport(camp, control, rules, over)
    detail = "; ".join(f"{label.removeprefix('excluded: ')}: {n:,}" for label, n in over.items() if n)
    if not allow_over_cap:
        raise CampaignError(f"{n_over:,} of the {int(treated.sum()):,} treated customers of campaign {camp.name!r} "
                            f"break its contact rules ({detail}); nothing was exported. Build the audience again "
                            "and create a new campaign, or pass --allow-over-cap (allow_over_cap) to send to them "
                            "anyway")
    warning = ResultWarning("over_contact_cap", f"{n_over:,} treated customers break the contact rules ({detail}) "
                            "and are exported anyway (--allow-over-cap)", customers=n_over, rules=dict(over))
    logger.warning("campaign %s: %s", camp.name, warning)
    return CampaignExport(camp, control, rules, over, (warning,))
