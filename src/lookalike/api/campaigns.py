"""Campaigns for the API and UI: the list comes from the ``campaigns`` table of
:mod:`lookalike.database`; results come from the campaigns package
(``lookalike.campaigns.report.campaign_results``)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import HTTPException

from lookalike.io import to_jsonable


def list_campaigns(engine: sa.Engine) -> list[dict]:
    """Every campaign (id, name, channel, holdout share, status, created), newest first."""
    from lookalike.database import campaigns

    cols = [c for c in ("id", "name", "description", "channel", "holdout_share", "status", "created_at")
            if c in campaigns.c]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*[campaigns.c[c] for c in cols]).order_by(campaigns.c.id.desc())).mappings().all()
    return to_jsonable([dict(r) for r in rows], "campaigns")


def results(engine: sa.Engine, campaign_id: int) -> dict:
    """A campaign's results as a dict (404 when unknown, 501 while the campaigns package is missing)."""
    try:
        from lookalike.campaigns.report import campaign_results
    except ImportError:
        raise HTTPException(501, "campaign results are not available in this installation "
                                 "(the lookalike.campaigns package is missing)") from None
    from lookalike.database import campaigns

    with engine.connect() as conn:
        if conn.execute(sa.select(campaigns.c.id).where(campaigns.c.id == campaign_id)).first() is None:
            raise HTTPException(404, f"campaign {campaign_id} does not exist; GET /api/v1/campaigns lists them")
    res = campaign_results(engine, campaign_id)
    return to_jsonable(res.to_dict() if hasattr(res, "to_dict") else res, "campaign results")
