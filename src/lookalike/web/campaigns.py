"""The campaign pages: from a saved audience to measured results without the command line.

``/campaigns`` lists the campaigns, starts a new one from an audience and keeps the uplift models;
``/campaigns/new`` creates one (name, control share, strata, channel, cost) with a live preview of the
smallest uplift it can detect; ``/campaigns/{id}`` walks the steps: send the treatment group (the
control group is left out of every file), upload the outcomes (all rows or none, every problem listed
next to the form), read the results, and plan the next audience size with an uplift model.

Every action needs the editor role and its form's CSRF token; viewers see the pages without the
actions. The work is done by :mod:`lookalike.api.campaigns` (the same functions the API would use).
"""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lookalike.api import campaigns as svc
from lookalike.api.workspace import check_name, save_upload
from lookalike.audience.options import FILTER_COLUMNS
from lookalike.campaigns.holdout import check_share
from lookalike.campaigns.store import OutcomeFileError, add_cost, get_campaign
from lookalike.campaigns.uplift_models import BASES, LEARNERS, OUTCOMES
from lookalike.errors import CampaignError, LookalikeError, NotFound, ParameterError
from lookalike.export import load_export_profiles
from lookalike.i18n import translator
from lookalike.report.campaigns import campaign_view
from lookalike.web.routes import _error_page, _Forbidden, _run, _ws, export_download, lang_of, render, ui_form, ui_user
from lookalike.web.words import UIError, column_label, error_text, flash, say

router = APIRouter(include_in_schema=False)
#: Holdout shares the form accepts, in percent.
HOLDOUT_MIN, HOLDOUT_MAX = 1.0, 50.0


def _engine(request: Request):
    return request.app.state.engine


def _number(text: object, what: str, *, low: float | None = None, high: float | None = None,
            default: float | None = None) -> float | None:
    """A number typed in a form (a decimal comma too), or a :class:`UIError` naming the field."""
    raw = str(text or "").strip().replace(",", ".")
    if not raw:
        return default
    try:
        x = float(raw)
    except ValueError:
        raise UIError("error_field_number", field=what, value=str(text)) from None
    if not math.isfinite(x) or (low is not None and x < low) or (high is not None and x > high):
        raise UIError("error_field_range", field=what, value=str(text), low=low if low is not None else "–",
                      high=high if high is not None else "–")
    return x


# ------------------------------------------------------------------ the list, uplift models
def _list_page(request: Request, *, uplift_error: str | None = None, values: dict | None = None,
               status_code: int = 200) -> HTMLResponse:
    ws, engine = _ws(request), _engine(request)
    return render(request, "campaigns.html", status_code=status_code, campaigns=svc.list_campaigns(engine),
                  audiences=[a["name"] for a in ws.audiences()], models=ws.uplift_models(),
                  candidates=svc.uplift_candidates(engine), datasets=[d["name"] for d in ws.datasets() if d["ready"]],
                  learners=LEARNERS, bases=BASES, outcomes=OUTCOMES, uplift_error=uplift_error, values=values or {})


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request) -> HTMLResponse:
    ui_user(request)
    return _list_page(request)


@router.post("/uplift/fit")
async def fit_uplift(request: Request) -> Response:
    """Fit an uplift model on past campaigns in a background job (cross-validation takes a while)."""
    lang = lang_of(request)
    try:
        user = ui_user(request, "editor")
        form = await ui_form(request)
    except _Forbidden as exc:
        return _error_page(request, exc)
    values = {k: form.getlist(k) if k == "campaign" else str(form.get(k) or "") for k in form.keys()}
    ws, engine = _ws(request), _engine(request)
    try:
        try:
            name = check_name(str(form.get("name") or ""), "uplift model name")
        except ParameterError:
            raise UIError("error_model_name", name=str(form.get("name") or "")) from None
        ids = [int(x) for x in form.getlist("campaign") if str(x).isdigit()]
        if not ids:
            raise UIError("error_model_campaigns")
        dataset = str(form.get("dataset") or "")
        ws.finder(dataset)  # refuses a dataset that is not ready, before the job starts
        outcome = _pick(form, "outcome", OUTCOMES, "conversions")
        learner = _pick(form, "learner", ("auto", *LEARNERS), "auto")
        base = _pick(form, "base", ("auto", *BASES), "logistic")
    except (UIError, LookalikeError) as exc:
        return _list_page(request, uplift_error=error_text(lang, exc), values=values, status_code=400)
    job = request.app.state.jobs.submit("uplift", user.name, lambda progress: svc.fit_uplift(
        ws, engine, name, ids, dataset, outcome=outcome, learner=learner, base=base, progress=progress))
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _pick(form, key: str, allowed: tuple[str, ...], default: str) -> str:
    value = str(form.get(key) or default)
    if value not in allowed:
        raise UIError("error_field_choice", field=key, value=value)
    return value


# ------------------------------------------------------------------ a new campaign
def _new_page(request: Request, audience: str, *, values: dict | None = None, error: str | None = None,
              status_code: int = 200) -> HTMLResponse:
    lang = lang_of(request)
    ws = _ws(request)
    audiences = [a["name"] for a in ws.audiences()]
    info = ws.audience_info(audience) if audience in audiences else None
    strata = []
    if info and info.get("dataset"):
        customers = ws.finder(info["dataset"]).customers_
        strata = [(c, column_label(lang, c)) for c in FILTER_COLUMNS if c in customers.columns]
    return render(request, "campaign_new.html", status_code=status_code, audiences=audiences, audience=info,
                  strata=strata, channels=[p for p in load_export_profiles()],
                  values=values or {"name": svc.today_name(audience) if info else "", "holdout_pct": "10",
                                    "base_rate_pct": "2"},
                  error=error, holdout_min=HOLDOUT_MIN, holdout_max=HOLDOUT_MAX)


@router.get("/campaigns/new", response_class=HTMLResponse)
def new_campaign_page(request: Request, audience: str = "") -> HTMLResponse:
    ui_user(request)  # viewers may plan (the preview); the form's button is for editors
    return _new_page(request, audience)


@router.get("/ui/campaigns/power", response_class=HTMLResponse)
def power_partial(request: Request, audience: str = "", holdout_pct: str = "10", base_rate_pct: str = "2") -> HTMLResponse:
    """The campaign form's preview: arm sizes and the smallest conversion uplift the campaign can detect."""
    ui_user(request)
    lang = lang_of(request)
    try:
        info = _ws(request).audience_info(check_name(audience, "audience name"))
        share = _number(holdout_pct, say(lang, "holdout_share"), low=HOLDOUT_MIN, high=HOLDOUT_MAX, default=10) / 100
        base = _number(base_rate_pct, say(lang, "base_rate"), low=0.01, high=90, default=2) / 100
        n = int(info["size"])
        n_control = round(n * share)
        plan = svc.detectable_effect(n, share, base)
    except (UIError, LookalikeError) as exc:
        return render(request, "_power.html", error=error_text(lang, exc))
    return render(request, "_power.html", error=None, n=n, n_control=n_control, n_treatment=n - n_control, plan=plan)


@router.post("/campaigns/new")
async def create_campaign(request: Request) -> Response:
    lang = lang_of(request)
    try:
        user = ui_user(request, "editor")
        form = await ui_form(request)
    except _Forbidden as exc:
        return _error_page(request, exc)
    values = {k: str(form.get(k) or "") for k in form.keys() if k != "csrf_token"}
    audience = values.get("audience", "")
    ws, engine = _ws(request), _engine(request)
    try:
        try:
            check_name(audience, "audience name")
            ws.audience_info(audience)
        except (ParameterError, NotFound):
            raise UIError("error_campaign_audience", name=audience) from None
        name = values.get("name", "").strip()
        try:
            check_name(name, "campaign name")
        except ParameterError:
            raise UIError("error_campaign_name", name=name) from None
        if any(c["name"] == name for c in svc.list_campaigns(engine)):
            raise UIError("error_campaign_exists", name=name)
        share = _number(values.get("holdout_pct"), say(lang, "holdout_share"), low=HOLDOUT_MIN, high=HOLDOUT_MAX,
                        default=10) / 100
        cost = _number(values.get("cost"), say(lang, "cost"), low=0)
        stratify = values.get("stratify") or None
        if stratify is not None and stratify not in FILTER_COLUMNS:
            raise UIError("error_field_choice", field=say(lang, "stratify"), value=stratify)
        channel = values.get("channel") or None
        if channel is not None and channel not in load_export_profiles():
            raise UIError("error_field_choice", field=say(lang, "channel"), value=channel)
        created = await _run(svc.create_from_audience, ws, engine, audience, name=name, holdout_share=check_share(share),
                             stratify=stratify, channel=channel, cost=cost, user=user.name)
    except (UIError, LookalikeError) as exc:
        return _new_page(request, audience, values=values, error=error_text(lang, exc), status_code=400)
    c = created.campaign
    flash(request.session, "flash_campaign_created", name=c.name, treatment=c.n_treatment, control=c.n_control)
    for w in created.warnings:
        flash(request.session, f"warning_{w.code}", kind="warn", **_plain(w.params))
    return RedirectResponse(f"/campaigns/{c.id}", status_code=303)


def _plain(params: dict) -> dict:
    """A warning's values as JSON the session cookie can hold (numbers rounded for reading)."""
    return {k: (round(float(v), 3) if isinstance(v, float) else v) for k, v in params.items()
            if isinstance(v, (str, int, float))}


# ------------------------------------------------------------------ one campaign
def _campaign_page(request: Request, campaign_id: int, *, model: str = "", outcome_error: str | None = None,
                   problems: list[str] | None = None, status_code: int = 200) -> HTMLResponse:
    lang = lang_of(request)
    t = translator(lang)
    ws, engine = _ws(request), _engine(request)
    try:
        camp = get_campaign(engine, campaign_id)
    except CampaignError as exc:
        return _error_page(request, exc, 404)
    row = next(c for c in svc.list_campaigns(engine) if c["id"] == camp.id)
    try:
        audience, audience_error = svc.campaign_audience(ws, engine, camp.id), None
    except CampaignError as exc:
        audience, audience_error = None, str(exc)
    view = None
    if row["outcome_rows"]:
        view = campaign_view(svc.results_object(engine, camp.id), t, lang)
    models = ws.uplift_models()
    chosen = model if any(m["name"] == model for m in models) else (models[0]["name"] if models else "")
    plan, plan_error = None, None
    if chosen and audience is not None:
        try:
            plan = _plan_view(svc.plan_for_campaign(ws, engine, camp.id, chosen), lang)
        except LookalikeError as exc:
            plan_error = error_text(lang, exc)
    return render(request, "campaign.html", status_code=status_code, camp=camp.to_dict(), row=row,
                  audience=audience, audience_error=audience_error, view=view,
                  profiles=load_export_profiles(), models=models, model=chosen,
                  model_info=next((m for m in models if m["name"] == chosen), None), plan=plan, plan_error=plan_error,
                  outcome_error=outcome_error, problems=problems or [])


def _plan_view(table, lang: str) -> dict:
    """The uplift plan's rows, and the size with the most incremental conversions for the reading."""
    rows = table.to_dict("records")
    has_rev = "incremental_revenue" in table.columns
    has_conv = "incremental_conversions" in table.columns
    key = "incremental_conversions" if has_conv else "incremental_revenue"
    best = max(rows, key=lambda r: r.get(key) or 0.0) if rows else None
    return {"rows": rows, "revenue": has_rev, "conversions": has_conv, "best": best}


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
async def campaign_page(request: Request, campaign_id: int, model: str = "") -> HTMLResponse:
    ui_user(request)
    return await _run(_campaign_page, request, campaign_id, model=model)


@router.post("/campaigns/{campaign_id}/export/{profile}")
async def export_treatment(request: Request, campaign_id: int, profile: str) -> Response:
    """The treatment group's file(s) for one destination; the control group is never in them."""
    try:
        user = ui_user(request, "editor")
        await ui_form(request)
        camp = get_campaign(_engine(request), campaign_id)
        res = await _run(svc.export_treatment, _ws(request), _engine(request), campaign_id, profile, user=user.name)
    except (LookalikeError, _Forbidden) as exc:
        return _error_page(request, exc)
    return export_download(res, camp.name, profile)


@router.get("/campaigns/{campaign_id}/outcomes-template.csv")
def outcome_template(request: Request, campaign_id: int) -> Response:
    """A CSV to fill in with the campaign's outcomes: every customer of both groups, empty columns."""
    try:
        ui_user(request, "editor")  # the file lists the campaign's customers: the editors' step
        camp = get_campaign(_engine(request), campaign_id)
        text = svc.outcome_template(_engine(request), camp.id)
    except _Forbidden as exc:
        return _error_page(request, exc)
    except LookalikeError as exc:
        return _error_page(request, exc, 404)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{camp.name}_outcomes.csv"'})


@router.post("/campaigns/{campaign_id}/outcomes")
async def upload_outcomes(request: Request, campaign_id: int) -> Response:
    """Import an outcome file: every row or none; the problems are listed next to the form."""
    lang = lang_of(request)
    try:
        ui_user(request, "editor")
        form = await ui_form(request)
        camp = get_campaign(_engine(request), campaign_id)
    except (LookalikeError, _Forbidden) as exc:
        return _error_page(request, exc)
    ws, engine = _ws(request), _engine(request)
    upload = form.get("file")
    replace = form.get("replace") in ("on", "true", "1")
    spool = Path(tempfile.mkdtemp(dir=ws.spool_dir()))
    try:
        if upload is None or not getattr(upload, "filename", ""):
            raise UIError("error_outcomes_no_file")
        row = next(c for c in svc.list_campaigns(engine) if c["id"] == camp.id)
        if row["outcome_rows"] and not replace:
            raise UIError("error_outcomes_exist", rows=int(row["outcome_rows"]))
        suffix = Path(upload.filename).suffix.lower()
        if suffix not in (".csv", ".txt", ".parquet", ".pq"):
            raise UIError("error_outcomes_type", file=Path(upload.filename).name)
        target = spool / f"outcomes{suffix}"
        await save_upload(upload, target, request.app.state.settings.max_upload_mb << 20)
        res = await _run(svc.import_outcome_file, engine, camp.id, target, filename=upload.filename, replace=replace)
    except OutcomeFileError as exc:
        problems = [say(lang, f"problem_{p.code}", count=p.count, lines=", ".join(map(str, p.lines)),
                        column=p.column or "", example=p.example or "") for p in exc.problems]
        return await _run(_campaign_page, request, camp.id, outcome_error=say(lang, "error_outcomes_rows"),
                          problems=problems, status_code=400)
    except (UIError, LookalikeError) as exc:
        message = error_text(lang, exc)
        if not isinstance(exc, UIError):
            message = f"{say(lang, 'error_outcomes_failed')} {ws.redact(message)}"
        return await _run(_campaign_page, request, camp.id, outcome_error=message, status_code=400)
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    flash(request.session, "flash_outcomes_imported", rows=res.rows, missing=res.customers_without_outcome,
          replaced=res.replaced)
    return RedirectResponse(f"/campaigns/{camp.id}#results", status_code=303)


@router.post("/campaigns/{campaign_id}/cost")
async def record_cost(request: Request, campaign_id: int) -> Response:
    lang = lang_of(request)
    try:
        user = ui_user(request, "editor")
        form = await ui_form(request)
        camp = get_campaign(_engine(request), campaign_id)
    except (LookalikeError, _Forbidden) as exc:
        return _error_page(request, exc)
    try:
        amount = _number(form.get("amount"), say(lang, "cost"), low=0)
        if amount is None:
            raise UIError("error_cost_empty")
        total = await _run(add_cost, _engine(request), camp.id, amount, description=f"added in the web UI by {user.name}")
    except (UIError, LookalikeError) as exc:
        return await _run(_campaign_page, request, camp.id, outcome_error=error_text(lang, exc), status_code=400)
    flash(request.session, "flash_cost_added", amount=amount, total=total)
    return RedirectResponse(f"/campaigns/{camp.id}#results", status_code=303)


__all__ = ["router"]
