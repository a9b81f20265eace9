"""The REST API, versioned under ``/api/v1``: datasets, quality, lookalikes, audiences, playbooks,
exports, jobs and campaigns. Every route declares its role (viewer reads, editor builds/exports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path as PathParam, Query, Request, UploadFile
from fastapi.responses import FileResponse

from lookalike.api import campaigns, models as m
from lookalike.api import service
from lookalike.api.auth import editor, viewer
from lookalike.api.users import User
from lookalike.api.workspace import NAME_PATTERN, Workspace, check_name, store_upload
from lookalike.errors import UnknownCustomerError
from lookalike.io import csv_text, read_customers
from lookalike.privacy import forget_customer as forget
from lookalike.report.quality import quality_summary_lines
from lookalike.sources import explain_unknown
from lookalike.synth import generate

router = APIRouter(prefix="/api/v1")
NameParam = Annotated[str, PathParam(pattern=NAME_PATTERN, max_length=64)]
ERRORS = {400: {"model": m.ErrorOut, "description": "bad parameter or input"},
          401: {"model": m.ErrorOut, "description": "no or invalid API key"},
          403: {"model": m.ErrorOut, "description": "role too small"},
          404: {"model": m.ErrorOut, "description": "not found"}}


def ws(request: Request) -> Workspace:
    return request.app.state.workspace


# ------------------------------------------------------------------ me, jobs
@router.get("/me", response_model=m.UserOut, tags=["auth"], responses=ERRORS)
def me(user: User = Depends(viewer)) -> dict:
    """The caller's user name and role."""
    return {"name": user.name, "role": user.role}


@router.get("/jobs", response_model=list[m.JobOut], tags=["jobs"], responses=ERRORS)
def list_jobs(request: Request, user: User = Depends(viewer)) -> list[dict]:
    """Background jobs of this server process, newest first."""
    return [j.to_dict() for j in request.app.state.jobs.list()]


@router.get("/jobs/{job_id}", response_model=m.JobOut, tags=["jobs"], responses=ERRORS)
def get_job(request: Request, job_id: Annotated[str, PathParam(pattern=r"^[0-9a-f]{1,32}$")],
            user: User = Depends(viewer)) -> dict:
    """A job's status and progress (poll until status is done or failed)."""
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"job {job_id!r} does not exist (jobs live as long as the server process)")
    return job.to_dict()


# ------------------------------------------------------------------ datasets
@router.get("/datasets", response_model=list[m.DatasetOut], tags=["datasets"], responses=ERRORS)
def list_datasets(request: Request, user: User = Depends(viewer)) -> list[dict]:
    """Datasets in the workspace, newest first (``ready`` once cleaned and fitted)."""
    return [_dataset_out(d) for d in ws(request).datasets()]


def _dataset_out(info: dict) -> dict:
    return {"name": info["name"], "status": info.get("status", "unknown"), "ready": info["ready"],
            "created": info.get("created"), "customers": info.get("customers"), "rows": info.get("rows"),
            "error": info.get("error"),
            "source": {k: v for k, v in info.items() if k in ("kind", "filename", "path", "query", "n", "seed")}}


@router.get("/datasets/{name}", response_model=m.DatasetOut, tags=["datasets"], responses=ERRORS)
def get_dataset(request: Request, name: NameParam, user: User = Depends(viewer)) -> dict:
    return _dataset_out(ws(request).dataset_info(name))


@router.delete("/datasets/{name}", status_code=204, tags=["datasets"], responses=ERRORS)
def delete_dataset(request: Request, name: NameParam, user: User = Depends(editor)) -> None:
    """Delete a dataset, its clean table and its model (audiences built on it stay)."""
    ws(request).delete_dataset(name)


def _start(request: Request, name: str, kind: str, loader, source: dict, user: User) -> dict:
    workspace = ws(request)
    check_name(name, "dataset name")
    job = request.app.state.jobs.submit(
        kind, user.name, lambda progress: workspace.prepare(name, loader, {"kind": kind, **source}, progress))
    return job.to_dict()


@router.post("/datasets/upload", response_model=m.JobOut, status_code=202, tags=["datasets"], responses=ERRORS)
async def upload_dataset(request: Request, name: Annotated[str, Form(pattern=NAME_PATTERN, max_length=64)],
                         file: Annotated[UploadFile, File(description="CRM export: .xlsx, .csv or .parquet")],
                         user: User = Depends(editor)) -> dict:
    """Upload a CRM export; cleaning and fitting run as a background job (poll ``/jobs/{id}``)."""

    # the request guard refused a body above the limit before it arrived (413); store_upload checks again
    workspace = ws(request)
    target, written = await store_upload(workspace, name, file, request.app.state.settings.max_upload_mb << 20)
    return _start(request, name, "upload", lambda: read_customers(workspace.adopt_upload(name, target)),
                  {"filename": Path(file.filename or "").name, "bytes": written}, user)


@router.post("/datasets/register", response_model=m.JobOut, status_code=202, tags=["datasets"],
             responses={**ERRORS, 403: {"model": m.ErrorOut, "description": "role too small, or a path or "
                                                                             "database the service may not read"}})
def register_dataset(request: Request, body: m.RegisterDataset, user: User = Depends(editor)) -> dict:
    """Register a file in a data folder (``LOOKALIKE_DATA_DIRS``, none by default) or one read-only
    SELECT on a SQLite/PostgreSQL database as a dataset (cleaned + fitted in a job)."""
    from lookalike.api.register import register_loader

    check_name(body.name, "dataset name")
    settings = request.app.state.settings
    loader = register_loader(body.path, body.url, body.query, data_dirs=settings.data_dirs,
                             own_url=settings.database_url(), workspace=ws(request).home)
    source = {"path": body.path} if body.path else {"query": body.query}
    return _start(request, body.name, "register", loader, source, user)


@router.post("/datasets/demo", response_model=m.JobOut, status_code=202, tags=["datasets"], responses=ERRORS)
def demo_dataset(request: Request, body: m.DemoDataset, user: User = Depends(editor)) -> dict:
    """Generate synthetic customers (with fake contact data and consent) as a dataset."""

    return _start(request, body.name, "demo", lambda: generate(body.n, seed=body.seed, contact=True).raw,
                  {"n": body.n, "seed": body.seed}, user)


@router.get("/datasets/{name}/quality", response_model=m.QualityOut, tags=["datasets"], responses=ERRORS)
def quality(request: Request, name: NameParam, user: User = Depends(viewer)) -> dict:
    """The data-quality report: row accounting, per-column counts, what was repaired."""

    report = ws(request).quality(name)
    return {"dataset": name, "summary": quality_summary_lines(report), "report": report}


@router.get("/datasets/{name}/customers/{customer_id}/lookalikes", response_model=m.LookalikesOut,
            tags=["lookalikes"], responses=ERRORS)
def lookalikes(request: Request, name: NameParam, customer_id: Annotated[str, PathParam(max_length=100)],
               k: Annotated[int, Query(ge=1, le=1000)] = 10, user: User = Depends(viewer)) -> dict:
    """The ``k`` customers most similar to one customer, nearest first."""

    workspace = ws(request)
    finder = workspace.finder(name)
    try:
        df = finder.find_lookalikes(customer_id, k=min(k, finder.n_customers_ - 1))
    except UnknownCustomerError as exc:  # a quarantined row: its reason, not "unknown"
        raise explain_unknown(exc, workspace.dataset_dir(name) / "customers.parquet") from None
    return {"dataset": name, "customer_id": customer_id, "k": len(df), "lookalikes": service.records(df)}


# ------------------------------------------------------------------ audiences
@router.post("/datasets/{name}/audiences", response_model=m.AudienceOut, status_code=201, tags=["audiences"],
             responses=ERRORS)
def build_audience(request: Request, name: NameParam, body: m.AudienceRequest, user: User = Depends(editor)) -> dict:
    """Expand a seed set into a ranked, explained audience of an exact size and save it."""
    workspace = ws(request)
    check_name(body.name, "audience name")
    result = service.build(workspace, name, body, contacts=request.app.state.engine)
    with workspace.lock("audience", body.name):  # the answer describes this request's audience
        workspace.save_audience(body.name, result, name, user.name)
        return service.audience_payload(workspace, body.name, result, top=body.top)


@router.post("/datasets/{name}/reach", response_model=m.ReachOut, tags=["audiences"], responses=ERRORS)
def reach(request: Request, name: NameParam, body: m.AudienceOptions, user: User = Depends(viewer)) -> dict:
    """Reach against similarity at one size, without saving (what the UI's size slider shows)."""
    return service.reach_at(ws(request), name, body, contacts=request.app.state.engine)


@router.get("/audiences", response_model=list[m.AudienceOut], tags=["audiences"], responses=ERRORS)
def list_audiences(request: Request, user: User = Depends(viewer)) -> list[dict]:
    """Saved audiences, newest first (summaries; no members)."""
    return ws(request).audiences()


@router.get("/audiences/{name}", response_model=m.AudienceOut, tags=["audiences"], responses=ERRORS)
def get_audience(request: Request, name: NameParam, top: Annotated[int, Query(ge=0, le=1000)] = 20,
                 user: User = Depends(viewer)) -> dict:
    """An audience: counts, parameters, reach, profile against seeds and base, its first members."""
    return service.audience_payload(ws(request), name, top=top)


@router.get("/audiences/{name}/download", tags=["audiences"], responses={**ERRORS, 200: {
    "content": {"text/csv": {}, "application/vnd.apache.parquet": {}}, "description": "the audience file"}})
def download_audience(request: Request, name: NameParam,
                      format: Annotated[str, Query(pattern="^(csv|parquet)$")] = "csv",
                      user: User = Depends(viewer)):
    """The whole audience as CSV or Parquet (ids, rank, similarity, reason and clean columns; no contact data)."""
    workspace = ws(request)
    if format == "parquet":
        workspace.audience_info(name)
        return FileResponse(workspace.audience_path(name), filename=f"{name}.parquet",
                            media_type="application/vnd.apache.parquet")
    from fastapi.responses import Response


    # audiences carry raw CRM text (region, category, reason): formulas are neutralised as in every CSV
    csv = csv_text(workspace.audience_table(name))
    return Response(csv, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.get("/audiences/{name}/versions", tags=["audiences"], responses=ERRORS)
def audience_versions(request: Request, name: NameParam, user: User = Depends(viewer)) -> list[dict]:
    """Every version of an audience, newest first: number, created, who built it, size, who entered and
    left since the version before, and the campaigns created from it (building a name again never overwrites it)."""
    return campaigns.audience_history(ws(request), request.app.state.engine, name)


@router.delete("/audiences/{name}", status_code=204, tags=["audiences"], responses=ERRORS)
def delete_audience(request: Request, name: NameParam, user: User = Depends(editor)) -> None:
    """Delete an audience and its sidecar files (that exact name; its exports stay)."""
    ws(request).delete_audience(name)


# ------------------------------------------------------------------ playbooks
@router.get("/playbooks", response_model=list[m.PlaybookOut], tags=["playbooks"], responses=ERRORS)
def list_playbooks(user: User = Depends(viewer)) -> list[dict]:
    """The campaign playbooks shipped with Lookalike."""
    return service.playbooks()


@router.post("/datasets/{name}/playbooks/{playbook}", response_model=m.AudienceOut, status_code=201,
             tags=["playbooks"], responses=ERRORS)
def run_playbook(request: Request, name: NameParam, playbook: NameParam, body: m.PlaybookRun,
                 user: User = Depends(editor)) -> dict:
    """Run a playbook on a dataset and save its audience."""
    workspace = ws(request)
    check_name(body.name, "audience name")
    result = service.run_playbook(workspace, name, playbook, size=body.size, params=body.params,
                                  contacts=request.app.state.engine,
                                  **{k: getattr(body, k) for k in m.CONTACT_FIELDS})
    with workspace.lock("audience", body.name):
        workspace.save_audience(body.name, result, name, user.name)
        return service.audience_payload(workspace, body.name, result, top=body.top)


# ------------------------------------------------------------------ exports
@router.post("/audiences/{name}/exports", response_model=m.ExportOut, status_code=201, tags=["exports"],
             responses=ERRORS)
def export(request: Request, name: NameParam, body: m.ExportRequest, user: User = Depends(editor)) -> dict:
    """Write the audience's file(s) for one destination (channel lists or hashed ad-platform lists). The
    customers of channel files are recorded as contacted (the contact rules of later audiences read them);
    with ``campaign``, the campaign's control group is left out and its contact rules are checked."""
    res = service.export(ws(request), name, body.profile, user=user.name, engine=request.app.state.engine,
                         exclude_ids=body.exclude_ids, allow_other_data=body.allow_other_data,
                         campaign=body.campaign, allow_over_cap=body.allow_over_cap,
                         **{k: getattr(body, k) for k in m.CONTACT_FIELDS})
    return service.export_payload(res, name)


@router.get("/exports", response_model=list[m.ExportLogEntry], tags=["exports"], responses=ERRORS)
def list_exports(request: Request, user: User = Depends(viewer)) -> list[dict]:
    """The export log, newest first: who exported which audience to which profile, files and hashes."""
    return ws(request).exports()


@router.get("/exports/{audience}/{filename}", tags=["exports"],
            responses={**ERRORS, 200: {"content": {"text/csv": {}}, "description": "the export file"}})
def download_export(request: Request, audience: NameParam, filename: Annotated[str, PathParam(pattern=NAME_PATTERN)],
                    user: User = Depends(editor)):
    """Download an export file (editor only: ad-platform files hold hashed contact data)."""
    return FileResponse(ws(request).export_file(audience, filename), filename=filename, media_type="text/csv")


# ------------------------------------------------------------------ campaigns
@router.get("/campaigns", response_model=list[dict], tags=["campaigns"], responses=ERRORS)
def list_campaigns(request: Request, user: User = Depends(viewer)) -> list[dict]:
    """Campaigns in the database (from the campaigns package)."""

    return campaigns.list_campaigns(request.app.state.engine)


@router.get("/campaigns/{campaign_id}/results", response_model=m.CampaignResultsOut, tags=["campaigns"],
            responses=ERRORS)
def campaign_results(request: Request, campaign_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
                     user: User = Depends(viewer)) -> dict:
    """A campaign's measured results: treatment against control, with confidence intervals."""

    return {"campaign_id": campaign_id, "results": campaigns.results(request.app.state.engine, campaign_id)}


# ------------------------------------------------------------------ erasure on request (issue 10)
@router.post("/customers/{customer_id}/forget", response_model=m.ErasureOut, tags=["privacy"], responses={
    **ERRORS, 500: {"description": "erasure incomplete: the files in `unhandled` still hold the customer (JSON with "
                                   "`detail` and the counts)"}})
def forget_customer(request: Request, customer_id: Annotated[str, PathParam(min_length=1, max_length=100)],
                    user: User = Depends(editor)) -> dict:
    """Erase one customer from every dataset, model, audience and export of the workspace and from the
    campaign store, logged in ``erasure_log`` by SHA-256 key (docs/privacy.md). Idempotent."""

    workspace = ws(request)
    try:
        report = forget(customer_id, home=workspace.home, engine=request.app.state.engine, actor=user.name)
    finally:
        workspace.drop_cached_finders()  # models were refit on disk
    body = {"customer_key": report.customer_key, "log_id": report.log_id, **report.to_dict()}
    if report.unhandled:  # the erasure is not complete: never a 200 (the counts and the files are in the body)
        from fastapi.responses import JSONResponse

        return JSONResponse(status_code=500, content={
            "detail": f"erasure incomplete: {len(report.unhandled)} file(s) still hold the customer and could not "
                      "be rewritten; delete them by hand (listed in unhandled) and run forget again", **body})
    return body
