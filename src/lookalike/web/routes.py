"""Pages of the web UI. Every page except the login page needs a login session.

A login is a server-side session (:func:`lookalike.api.users.start_session`): the signed cookie holds
its random id and the language, and a CSRF token that every form carries back (:func:`ui_form`).
The request guard (:mod:`lookalike.api.guard`) has checked the session, the origin and the body size
of every POST before it reaches these routes.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import secrets
import tempfile
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from lookalike._version import __version__
from lookalike.api import campaigns, service
from lookalike.api.models import AudienceOptions, DemoDataset, SeedSpec
from lookalike.api.routes import _start
from lookalike.api.users import User, authenticate, end_session, key_prefix, session_user, start_session
from lookalike.api.workspace import check_name, store_upload
from lookalike.audience.seeds import read_id_file
from lookalike.errors import LookalikeError, ParameterError
from lookalike.export import load_export_profiles, load_manifest
from lookalike.i18n import LANGUAGES, pick_language, translator
from lookalike.io import read_customers, write_text
from lookalike.report.campaigns import campaign_view
from lookalike.report.templating import environment
from lookalike.synth import generate

router = APIRouter(include_in_schema=False)
SIZE_MIN, SIZE_MAX, SIZE_STEP = 0.5, 20.0, 0.5


class LoginRequired(Exception):
    """Raised by a page when nobody is logged in: the handler redirects to the login page."""

    def __init__(self, next_url: str = "/"):
        self.next_url = next_url


async def login_redirect(request: Request, exc: LoginRequired) -> Response:
    return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)


def lang_of(request: Request) -> str:
    return pick_language(request.session.get("lang"), request.headers.get("accept-language"),
                         request.app.state.settings.default_lang)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    user = getattr(request.state, "user", None)
    html = environment().get_template(template).render(
        t=translator(lang), lang=lang, languages=LANGUAGES, user=user, path=request.url.path,
        version=__version__, csrf_token=csrf_token(request), **context)
    return HTMLResponse(html, status_code=status_code)


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use): every form posts it back as ``csrf_token``."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def ui_form(request: Request):
    """The posted form, once its CSRF token matches the session's (else :class:`_Forbidden`, 403).

    Together with the guard's Origin check this stops another site from submitting a form with
    the user's cookie: it can make the browser send the cookie, not read the token.
    """
    form = await request.form()
    sent, expected = str(form.get("csrf_token") or ""), request.session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise _Forbidden("csrf")
    return form


def ui_user(request: Request, role: str = "viewer") -> User:
    user = getattr(request.state, "ui_user", None) or session_user(request.app.state.engine,
                                                                   request.session.get("sid"))
    if user is None:
        request.session.pop("sid", None)
        raise LoginRequired(request.url.path)
    request.state.user = user
    if not user.can(role):
        raise _Forbidden()
    return user


class _Forbidden(Exception):
    """A logged-in user without the role for this page, or a form without a valid CSRF token."""


def _ws(request: Request):
    return request.app.state.workspace


async def _run(func, *args, **kwargs):
    """Library work off the event loop, so one slow build does not stall every other page."""
    return await asyncio.to_thread(func, *args, **kwargs)


def _error_page(request: Request, exc: Exception, status: int = 400) -> HTMLResponse:
    t = translator(lang_of(request))
    if isinstance(exc, _Forbidden):
        message = t("form_expired") if exc.args == ("csrf",) else t("not_allowed")
    else:
        message = _ws(request).redact(str(exc))
    return render(request, "error.html", status_code=403 if isinstance(exc, _Forbidden) else status, message=message)


# ------------------------------------------------------------------ login, language
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next), failed=False)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    try:
        form = await ui_form(request)
    except _Forbidden as exc:
        return _error_page(request, exc)
    key = str(form.get("api_key", ""))
    next_url = _safe_next(str(form.get("next", "/")))
    # failures are counted per client address and per key prefix (the user the guess aims at)
    names = [f"ip:{request.client.host if request.client else '?'}"]
    if key_prefix(key):
        names.append(f"key:{key_prefix(key)}")
    throttle = request.app.state.login_throttle
    wait = throttle.retry_after(*names)
    if wait:
        response = render(request, "login.html", status_code=429, next=next_url, failed=False, wait=wait)
        response.headers["Retry-After"] = str(wait)
        return response
    engine = request.app.state.engine
    user = authenticate(engine, key)
    if user is None:
        throttle.fail(*names)
        return render(request, "login.html", status_code=401, next=next_url, failed=True)
    end_session(engine, request.session.get("sid"))
    lang = request.session.get("lang")
    request.session.clear()  # a new session id and CSRF token: nothing from before the login carries over
    if lang:
        request.session["lang"] = lang
    request.session["sid"] = await _run(start_session, engine, user)
    return RedirectResponse(next_url, status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    try:
        await ui_form(request)
    except _Forbidden as exc:
        return _error_page(request, exc)
    end_session(request.app.state.engine, request.session.get("sid"))  # a copied cookie stops working too
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{code}")
def set_language(request: Request, code: str, next: str = "/") -> Response:
    if code in LANGUAGES:
        request.session["lang"] = code
    return RedirectResponse(_safe_next(next), status_code=303)


def _safe_next(url: str) -> str:
    # only local paths: an open redirect to another site after login would help phishing
    return url if url.startswith("/") and not url.startswith("//") and "\\" not in url else "/"


# ------------------------------------------------------------------ datasets
@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    ui_user(request)
    return render(request, "home.html", datasets=_ws(request).datasets(), jobs=request.app.state.jobs.list()[:5])


@router.post("/datasets/demo")
async def demo(request: Request) -> Response:
    try:
        user = ui_user(request, "editor")
        form = await ui_form(request)

        body = DemoDataset(name=str(form.get("name") or "demo"), n=int(form.get("n") or 3000), seed=1)
        job = _start(request, body.name, "demo", lambda: generate(body.n, seed=body.seed, contact=True).raw,
                     {"n": body.n, "seed": body.seed}, user)
    except (LookalikeError, _Forbidden, ValueError) as exc:
        return _error_page(request, exc)
    return RedirectResponse(f"/jobs/{job['id']}", status_code=303)


@router.post("/datasets/upload")
async def upload(request: Request) -> Response:
    try:
        user = ui_user(request, "editor")
        form = await ui_form(request)
        name = check_name(str(form.get("name") or ""), "dataset name")
        file = form.get("file")
        if file is None or not getattr(file, "filename", ""):
            raise ParameterError("choose a file to upload")

        ws = _ws(request)
        target, _ = await store_upload(ws, name, file, request.app.state.settings.max_upload_mb << 20)
        job = _start(request, name, "upload", lambda: read_customers(ws.adopt_upload(name, target)),
                     {"filename": Path(file.filename).name}, user)
    except (LookalikeError, _Forbidden) as exc:
        return _error_page(request, exc)
    return RedirectResponse(f"/jobs/{job['id']}", status_code=303)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str) -> HTMLResponse:
    ui_user(request)
    job = request.app.state.jobs.get(job_id)
    if job is None:
        return _error_page(request, ParameterError(f"job {job_id!r} does not exist"), 404)
    return render(request, "job.html", job=job)


@router.get("/ui/jobs/{job_id}", response_class=HTMLResponse)
def job_status(request: Request, job_id: str) -> HTMLResponse:
    ui_user(request)
    job = request.app.state.jobs.get(job_id)
    if job is None:
        return HTMLResponse("", status_code=404)
    return render(request, "_job_status.html", job=job)


@router.get("/datasets/{name}", response_class=HTMLResponse)
async def dataset_page(request: Request, name: str) -> HTMLResponse:
    ui_user(request)
    try:
        ws = _ws(request)
        info = ws.dataset_info(name)
        report = ws.quality(name)
        svg = await _run(_cached_svg, ws.dataset_dir(name) / "distributions.svg",
                         lambda: _distributions_svg(ws.finder(name).customers_))
    except LookalikeError as exc:
        return _error_page(request, exc, 404)
    return render(request, "dataset.html", info=info, report=report, columns=_quality_columns(report),
                  distributions_svg=svg)


def _quality_columns(report: dict) -> list[dict]:
    return [{"name": k, **v} for k, v in (report.get("columns") or {}).items()]


def _cached_svg(path: Path, make) -> str:
    """A figure of a dataset drawn once and kept next to it (datasets do not change; a re-upload
    rewrites the folder, and the model manifest is newer than a stale figure)."""

    model = path.parent / "model" / "manifest.json"
    if path.is_file() and (not model.is_file() or path.stat().st_mtime >= model.stat().st_mtime):
        return path.read_text("utf-8")
    svg = make()
    write_text(path, svg)
    return svg


def _distributions_svg(customers) -> str:
    from lookalike.report.plots import distributions, figure_to_svg  # lazy: matplotlib on the first figure

    vip = customers["vip_flag"].eq(1) if "vip_flag" in customers else None
    return figure_to_svg(distributions(customers, highlight=vip))


@router.get("/datasets/{name}/map", response_class=HTMLResponse)
async def map_page(request: Request, name: str, audience: str = "") -> HTMLResponse:
    ui_user(request)
    ws = _ws(request)
    try:
        finder = await _run(ws.finder, name)
        aud_names = [a["name"] for a in ws.audiences() if a.get("dataset") == name]
        svg = await _run(_map_svg, ws, finder, audience if audience in aud_names else "", name)
    except LookalikeError as exc:
        return _error_page(request, exc, 404)
    return render(request, "map.html", dataset=name, svg=svg, audiences=aud_names, chosen=audience)


def _map_svg(ws, finder, audience: str, dataset: str) -> str:
    from lookalike.report.plots import figure_to_svg, pca_map  # lazy: matplotlib on the first figure

    customers = finder.customers_
    if audience:
        table = ws.audience_table(audience)
        members = finder.ids_.isin(table["customer_id"].astype(str))

        seed_ids = (load_manifest(ws.audience_sidecar(audience, ".manifest.json")).get("seeds") or {}).get("ids", [])
        seeds = finder.ids_.isin(seed_ids)
        return figure_to_svg(pca_map(finder.X_, seeds, labels=("customers", "seeds"),
                                     groups={f"audience {audience}": members}))
    vip = customers["vip_flag"].eq(1).to_numpy() if "vip_flag" in customers else None
    return _cached_svg(ws.dataset_dir(dataset) / "map.svg", lambda: figure_to_svg(pca_map(finder.X_, vip)))


# ------------------------------------------------------------------ audience builder
def _options_from_form(form) -> AudienceOptions:
    kind = str(form.get("seed_kind") or "vip")
    seeds = SeedSpec(kind=kind if kind in ("vip", "ids", "rule") else "vip",
                     ids=[x for x in str(form.get("seed_ids") or "").split() if x] or None,
                     rule=str(form.get("seed_rule") or "") or None)
    try:
        pct = float(form.get("size_pct") or 5)
    except ValueError:
        raise ParameterError("the audience size must be a number (percentage of the base)") from None
    regions = [str(r) for r in form.getlist("region")] if hasattr(form, "getlist") else []
    return AudienceOptions(seeds=seeds, size=f"{min(max(pct, SIZE_MIN), SIZE_MAX):g}%",
                           exclude_vips=form.get("exclude_vips") in ("on", "true", "1"),
                           filters={"region": regions} if regions else None)


def _vip_seeds(customers) -> str | None:
    """Why VIP seeds cannot be used on these customers (a translation key), or None when they can."""
    if "vip_flag" not in customers:
        return "seed_vip_missing"
    n_vip = int(customers["vip_flag"].eq(1).sum())
    return "seed_vip_none" if n_vip == 0 else "seed_vip_all" if n_vip == len(customers) else None


@router.get("/datasets/{name}/build", response_class=HTMLResponse)
async def build_page(request: Request, name: str) -> HTMLResponse:
    ui_user(request)
    try:
        finder = await _run(_ws(request).finder, name)
    except LookalikeError as exc:
        return _error_page(request, exc, 404)
    # without VIPs (or with nothing but VIPs) the page still works: ids and rules are seeds too
    vip_off = _vip_seeds(finder.customers_)
    initial, error = None, None
    if vip_off is None:
        try:
            initial = await _run(service.reach_at, _ws(request), name, AudienceOptions())
        except LookalikeError as exc:
            error = str(exc).splitlines()[0]
    regions = sorted(finder.customers_["region"].astype(str).unique()) if "region" in finder.customers_ else []
    return render(request, "build.html", dataset=name, regions=regions, reach=initial, error=error,
                  vip_off=vip_off, size_min=SIZE_MIN, size_max=SIZE_MAX, size_step=SIZE_STEP,
                  default_name=f"{name}-vip-lookalikes" if vip_off is None else f"{name}-lookalikes")


@router.get("/ui/datasets/{name}/reach", response_class=HTMLResponse)
async def reach_partial(request: Request, name: str) -> HTMLResponse:
    ui_user(request)
    try:
        opts = _options_from_form(request.query_params)
        reach = await _run(service.reach_at, _ws(request), name, opts)
    except (LookalikeError, ValueError) as exc:
        return render(request, "_reach.html", reach=None, error=str(exc).splitlines()[0])
    return render(request, "_reach.html", reach=reach, error=None)


async def _seed_file_ids(form) -> list[str]:
    """Ids from an uploaded seed file (one per line, or a CSV with a customer_id column)."""


    upload = form.get("seed_file")
    if upload is None or not getattr(upload, "filename", ""):
        return []
    data = await upload.read()  # the request guard capped the whole body (LOOKALIKE_MAX_UPLOAD_MB)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_ids = Path(tmp) / "ids.txt"
        tmp_ids.write_bytes(data)
        return read_id_file(tmp_ids)


@router.post("/datasets/{name}/build")
async def build(request: Request, name: str) -> Response:
    try:
        ui_user(request, "editor")
        form = await ui_form(request)
        opts = _options_from_form(form)
        file_ids = await _seed_file_ids(form)
        if file_ids and opts.seeds.kind == "ids":
            opts.seeds.ids = [*(opts.seeds.ids or []), *file_ids]
        audience = check_name(str(form.get("audience_name") or ""), "audience name")
        ws = _ws(request)
        result = await _run(service.build, ws, name, opts)
        await _run(ws.save_audience, audience, result, name)
    except (LookalikeError, _Forbidden, ValueError) as exc:
        return _error_page(request, exc)
    return RedirectResponse(f"/audiences/{audience}", status_code=303)


# ------------------------------------------------------------------ audiences, exports
@router.get("/audiences", response_class=HTMLResponse)
def audiences_page(request: Request) -> HTMLResponse:
    ui_user(request)
    return render(request, "audiences.html", audiences=_ws(request).audiences())


@router.get("/audiences/{name}", response_class=HTMLResponse)
async def audience_page(request: Request, name: str) -> HTMLResponse:
    ui_user(request)
    try:
        data = await _run(service.audience_payload, _ws(request), name, None, 50)
        reach_svg = await _run(_reach_svg, data["reach"])
    except LookalikeError as exc:
        return _error_page(request, exc, 404)

    profiles = load_export_profiles()
    profile_rows = sorted(data["profile"], key=lambda r: -abs(np.log((r.get("audience_vs_base") or 1) or 1)))[:15]
    return render(request, "audience.html", a=data, profiles=profiles, profile_rows=profile_rows, reach_svg=reach_svg)


def _reach_svg(reach: list[dict]) -> str:

    from lookalike.report.plots import figure_to_svg, reach_plot  # lazy: matplotlib on the first figure

    return figure_to_svg(reach_plot(pd.DataFrame(reach))) if reach else ""


@router.post("/audiences/{name}/export/{profile}")
async def export(request: Request, name: str, profile: str) -> Response:
    try:
        user = ui_user(request, "editor")
        await ui_form(request)
        res = await _run(service.export, _ws(request), name, profile, user=user.name)
    except (LookalikeError, _Forbidden) as exc:
        return _error_page(request, exc)
    if len(res.paths) == 1:
        return FileResponse(res.paths[0], filename=res.paths[0].name, media_type="text/csv")

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in res.paths:
            z.write(p, p.name)
    return Response(buf.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}_{profile}.zip"'})


# ------------------------------------------------------------------ playbooks
@router.get("/playbooks", response_class=HTMLResponse)
def playbooks_page(request: Request) -> HTMLResponse:
    ui_user(request)
    ready = [d["name"] for d in _ws(request).datasets() if d["ready"]]
    return render(request, "playbooks.html", playbooks=service.playbooks(), datasets=ready)


@router.post("/playbooks/{playbook}/run")
async def playbook_run(request: Request, playbook: str) -> Response:
    try:
        ui_user(request, "editor")
        form = await ui_form(request)
        dataset = check_name(str(form.get("dataset") or ""), "dataset name")
        audience = check_name(str(form.get("audience_name") or f"{dataset}-{playbook}"), "audience name")
        ws = _ws(request)
        result = await _run(service.run_playbook, ws, dataset, playbook, size=str(form.get("size") or "") or None,
                            params={})
        await _run(ws.save_audience, audience, result, dataset)
    except (LookalikeError, _Forbidden) as exc:
        return _error_page(request, exc)
    return RedirectResponse(f"/audiences/{audience}", status_code=303)


# ------------------------------------------------------------------ campaigns
@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request) -> HTMLResponse:
    ui_user(request)

    return render(request, "campaigns.html", campaigns=campaigns.list_campaigns(request.app.state.engine))


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
async def campaign_page(request: Request, campaign_id: int) -> HTMLResponse:
    ui_user(request)


    lang = lang_of(request)
    try:
        res = await _run(campaigns.results_object, request.app.state.engine, campaign_id)
        view = await _run(campaign_view, res, translator(lang), lang)
    except HTTPException as exc:
        return _error_page(request, ParameterError(str(exc.detail)), exc.status_code)
    except LookalikeError as exc:
        return _error_page(request, exc)
    return render(request, "campaign.html", campaign_id=campaign_id, view=view)
