"""Campaigns for the API and the UI, from the campaigns package (issue 7, issue 18 item 2, issue 19 item 4).

Listing and results (``lookalike.campaigns.store.list_campaigns``, ``campaign_results``), and what the
UI's campaign flow does on top of the workspace: create a campaign from a saved audience (one of its
versions), export its treatment group, import an outcome file, fit an uplift model on past campaigns
and plan audience sizes with it. The campaign remembers the audience *version* it was made from (its
digest), so building the audience again later never changes what the campaign sends or measures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from fastapi import HTTPException

from lookalike.api import service
from lookalike.api.workspace import Workspace, check_name
from lookalike.audience.store import audience_manifest
from lookalike.campaigns.plan import Plan, minimum_detectable_effect, uplift_plan
from lookalike.campaigns.report import campaign_results
from lookalike.campaigns.store import (CreatedCampaign, OutcomeImport, assignments_frame, audience_version,
                                       create_campaign, get_campaign, import_outcomes, read_outcomes)
from lookalike.campaigns.store import list_campaigns as listed
from lookalike.campaigns.uplift_models import UpliftModel, campaign_training_data
from lookalike.database import audience_versions, campaigns
from lookalike.errors import CampaignError, ParameterError
from lookalike.io import csv_text, to_jsonable

#: Columns of an outcome file, in the order of the template the UI offers.
TEMPLATE_COLUMNS = ("customer_id", "arm", "sends", "opens", "clicks", "conversions", "revenue")
#: Bootstrap resamples of the UI's uplift plan (the CLI's default is 1,000; 400 keeps the page quick and
#: moves the interval ends by well under their own width).
PLAN_RESAMPLES = 400


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


# ------------------------------------------------------------------ audience versions and the campaigns using them
def campaigns_by_digest(engine: sa.Engine) -> dict[str, list[dict]]:
    """Audience digest → the campaigns created from an audience with that digest (id, name, status), oldest first."""
    q = (sa.select(audience_versions.c.audience_hash, campaigns.c.id, campaigns.c.name, campaigns.c.status)
         .join(campaigns, campaigns.c.id == audience_versions.c.campaign_id).order_by(campaigns.c.id))
    out: dict[str, list[dict]] = {}
    with engine.connect() as conn:
        for digest, cid, name, status in conn.execute(q).all():
            out.setdefault(digest, []).append({"id": int(cid), "name": name, "status": status})
    return out


def audience_history(ws: Workspace, engine: sa.Engine, name: str) -> list[dict]:
    """Every version of an audience (:meth:`Workspace.audience_versions`: who built it, who entered and
    left) with the campaigns created from it, newest first."""
    used = campaigns_by_digest(engine)
    return [{**v, "campaigns": used.get(v["sha256"], [])} for v in reversed(ws.audience_versions(name))]


@dataclass(frozen=True)
class CampaignAudience:
    """The workspace audience version a campaign was created from."""

    name: str
    version: int
    dataset: str | None


def campaign_audience(ws: Workspace, engine: sa.Engine, campaign_id: int) -> CampaignAudience:
    """The audience version a campaign was made from, found by its digest among the versions of the
    audience it names; a :class:`CampaignError` when the workspace no longer has it (deleted, or a
    campaign created from a file with the CLI)."""
    camp = get_campaign(engine, campaign_id)
    stored = audience_version(engine, camp.id)
    name = stored.get("label") or ""
    try:
        versions = ws.audience_versions(check_name(name, "audience name"))
    except (ParameterError, CampaignError):
        versions = []
    for v in versions:
        if v["sha256"] == stored["audience_hash"]:
            info = ws.audience_info(name, v["version"])
            return CampaignAudience(name, v["version"], info.get("dataset"))
    raise CampaignError(f"the audience campaign {camp.name!r} was created from ({name or stored.get('source')}) is "
                        "not in the workspace any more; export it with lookalike campaign export and the audience file")


def create_from_audience(ws: Workspace, engine: sa.Engine, audience: str, *, name: str, holdout_share: float,
                         stratify: str | None = None, channel: str | None = None, cost: float | None = None,
                         user: str | None = None) -> CreatedCampaign:
    """Create a campaign from the current version of a saved audience: its manifest is stored with the
    campaign, the dataset's customers give the strata and the balance check. The campaign's name goes
    into its export files, so it follows the workspace's naming rule."""
    check_name(name, "campaign name")
    with ws.lock("audience", audience):
        info = ws.audience_info(audience)
        table = ws.audience_table(audience)
        manifest = audience_manifest(ws.audience_path(audience))
    customers = ws.finder(info["dataset"]).customers_ if info.get("dataset") else None
    return create_campaign(engine, name, table, holdout_share=holdout_share, stratify=stratify or None,
                           customers=customers, manifest=manifest, label=audience,
                           source=f"workspace audience {audience} version {info['version']}", channel=channel or None,
                           description=f"created in the web UI by {user}" if user else None,
                           cost=cost if cost else None)


def detectable_effect(n_total: int, holdout_share: float, base_rate: float) -> Plan:
    """The smallest conversion uplift a campaign of ``n_total`` customers detects (80% power, 5% two-sided),
    for the campaign form's preview."""
    return minimum_detectable_effect(base_rate, n_total, holdout_share=holdout_share)


def export_treatment(ws: Workspace, engine: sa.Engine, campaign_id: int, profile: str, *, user: str):
    """The campaign's files for one destination: its audience version with the control group left out,
    named after the campaign and logged like every export."""
    camp = get_campaign(engine, campaign_id)
    aud = campaign_audience(ws, engine, campaign_id)
    # as the campaign's export: control group left out, contact caps checked, contacts recorded
    return service.export(ws, aud.name, profile, user=user, engine=engine, campaign=camp.id,
                          version=aud.version, file_name=camp.name)


def outcome_template(engine: sa.Engine, campaign_id: int) -> str:
    """A CSV to fill in: every customer of the campaign (both arms) with empty outcome columns."""
    a = assignments_frame(engine, campaign_id)
    frame = pd.DataFrame({"customer_id": a["customer_id"], "arm": a["arm"]})
    for col in TEMPLATE_COLUMNS[2:]:
        frame[col] = ""
    return csv_text(frame)


def import_outcome_file(engine: sa.Engine, campaign_id: int, path: Path, *, filename: str,
                        replace: bool = False) -> OutcomeImport:
    """Read an outcome file (CSV or Parquet) and import it in one transaction: all rows or none
    (:class:`~lookalike.campaigns.store.OutcomeFileError` lists every kind of bad row)."""
    suffix = Path(filename).suffix.lower()
    if suffix not in (".csv", ".txt", ".parquet", ".pq"):
        raise ParameterError(f"outcome file {filename!r}: upload a .csv or .parquet file")
    return import_outcomes(engine, campaign_id, read_outcomes(path), replace=replace, where=Path(filename).name)


# ------------------------------------------------------------------ uplift models from past campaigns
def uplift_candidates(engine: sa.Engine) -> list[dict]:
    """Campaigns an uplift model can learn from: with a control group and imported outcomes."""
    df = listed(engine)
    ok = df[(df["n_control"] > 0) & (df["n_treatment"] > 0) & (df["outcome_rows"] > 0)]
    return to_jsonable(ok[["id", "name", "n_treatment", "n_control", "outcome_rows"]].to_dict("records"), "campaigns")


def fit_uplift(ws: Workspace, engine: sa.Engine, name: str, campaign_ids: list[int], dataset: str, *,
               outcome: str = "conversions", learner: str = "auto", base: str = "logistic",
               progress: Callable[[float, str], None] = lambda share, message: None) -> dict:
    """Fit an uplift model on past campaigns' treatment and control outcomes, with the dataset's
    features (the finder's feature spec), and save it in the workspace as ``name``."""
    check_name(name, "uplift model name")
    if not campaign_ids:
        raise ParameterError("choose at least one campaign with a control group and imported outcomes")
    progress(0.05, "reading the campaigns")
    finder = ws.finder(dataset)
    td = campaign_training_data(engine, list(campaign_ids), finder.customers_)
    progress(0.2, "cross-validating the learners")
    model = UpliftModel(learner, base, spec=finder.spec_, outcome=outcome).fit(
        td.customers, td.treatment, td.outcome(outcome), outcomes=td.outcomes,
        source={"campaigns": td.campaigns, "dataset": dataset})
    progress(0.9, "saving the model")
    ws.save_uplift_model(name, model)
    return {"uplift_model": name, "customers": int(len(td.treatment)), "not_found": td.not_found,
            **to_jsonable(model.describe(), "model")}


def plan_for_campaign(ws: Workspace, engine: sa.Engine, campaign_id: int, model_name: str) -> pd.DataFrame:
    """The uplift plan (:func:`lookalike.campaigns.plan.uplift_plan`) of a campaign's audience: expected
    incremental conversions and revenue, with intervals, when sending to its best 10%…100% by predicted uplift."""
    aud = campaign_audience(ws, engine, campaign_id)
    if not aud.dataset:
        raise CampaignError(f"the audience of campaign {campaign_id} names no dataset; an uplift plan needs its customers")
    members = ws.audience_table(aud.name, aud.version)["customer_id"].astype(str)
    customers = ws.finder(aud.dataset).customers_
    rows = customers[customers["customer_id"].astype(str).isin(members)]
    return uplift_plan(ws.uplift_model(model_name), rows, n_resamples=PLAN_RESAMPLES)


def today_name(audience: str) -> str:
    """A campaign name suggested for an audience: ``<audience>-<yyyymmdd>`` (within the 64 characters a
    workspace name may have).

    >>> today_name("spring") == "spring-" + __import__("datetime").date.today().strftime("%Y%m%d")
    True
    """
    return f"{audience[:55]}-{dt.date.today():%Y%m%d}"


__all__ = ["CampaignAudience", "PLAN_RESAMPLES", "TEMPLATE_COLUMNS", "audience_history", "campaign_audience",
           "campaigns_by_digest", "create_from_audience", "detectable_effect", "export_treatment", "fit_uplift",
           "import_outcome_file", "list_campaigns", "outcome_template", "plan_for_campaign", "results",
           "results_object", "today_name", "uplift_candidates"]
