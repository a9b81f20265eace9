"""Campaigns for the API and the UI, from the campaigns package (issue 7):
``lookalike.campaigns.store.list_campaigns`` and ``lookalike.campaigns.report.campaign_results``."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import HTTPException

from lookalike.campaigns.report import campaign_results
from lookalike.campaigns.store import list_campaigns as listed
from lookalike.database import campaigns
from lookalike.io import to_jsonable


def list_campaigns(engine: sa.Engine) -> list[dict]:
    """Every campaign with arm sizes, outcome rows and cost, newest first."""

    return to_jsonable(listed(engine).to_dict(orient="records"), "campaigns")


def results_object(engine: sa.Engine, campaign_id: int):
    """The ``CampaignResults`` of a stored campaign; 404 when there is no such campaign."""

    with engine.connect() as conn:
        if conn.execute(sa.select(campaigns.c.id).where(campaigns.c.id == campaign_id)).first() is None:
            raise HTTPException(404, f"campaign {campaign_id} does not exist; GET /api/v1/campaigns lists them")
    return campaign_results(engine, campaign_id)


def results(engine: sa.Engine, campaign_id: int) -> dict:
    """A campaign's results as JSON-ready values (arms, uplifts with intervals, value, verdict)."""
    return results_object(engine, campaign_id).to_dict()
