"""Pages of the web UI. Every page except the login page needs a login session.

A login is a server-side session (:func:`lookalike.api.users.start_session`): the signed cookie holds
its random id and the language, and a CSRF token that every form carries back (:func:`ui_form`).
The request guard (:mod:`lookalike.api.guard`) has checked the session, the origin and the body size
of every POST before it reaches these routes.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
from html import escape as html_escape
import io
import secrets
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from lookalike._version import __version__
from lookalike.api import campaigns, service
from lookalike.api.models import DemoDataset
from lookalike.api.routes import _start
from lookalike.api.users import User, authenticate, end_session, key_prefix, session_user, start_session
from lookalike.api.workspace import check_name, store_upload
from lookalike.audience.explain import summary
from lookalike.audience.options import CONTACT_OPTIONS
from lookalike.errors import LookalikeError, ParameterError
from lookalike.export import load_export_profiles, load_manifest
from lookalike.i18n import LANGUAGES, error_text, format_money, pick_language, term, translator, warning_text
from lookalike.io import read_customers, write_text
from lookalike.report import words
from lookalike.report.templating import environment
from lookalike.synth import generate
from lookalike.web.words import flash, pop_flashes

router = APIRouter(include_in_schema=False)


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
    """A page (or, for a template named ``_*``, a fragment) in the session's language; a page shows and
    clears the session's notices (:func:`lookalike.web.words.flash`)."""
    lang = lang_of(request)
    user = getattr(request.state, "user", None)
    flashes = [] if template.startswith("_") else pop_flashes(request.session, lang)
    html = environment().get_template(template).render(
        t=translator(lang), term=functools.partial(term, lang), lang=lang, languages=LANGUAGES, user=user,
        path=request.url.path, version=__version__, csrf_token=csrf_token(request), flashes=flashes, **context)
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
        message = _ws(request).redact(error_text(exc, lang_of(request)))
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


@router.post("/datasets/{name}/delete")
async def delete_dataset(request: Request, name: str) -> Response:
    """Delete a dataset that failed (its upload and whatever the failed job left); its reason was on the home page."""
    try:
        ui_user(request, "editor")
        await ui_form(request)
        ws = _ws(request)
        info = ws.dataset_info(name)
        if info.get("status") != "failed":
            raise ParameterError(f"dataset {name!r} did not fail; only failed uploads are deleted from this page")
        await _run(ws.delete_dataset, name)
    except (LookalikeError, _Forbidden) as exc:
        return _error_page(request, exc)
    flash(request.session, "flash_dataset_deleted", name=name)
    return RedirectResponse("/", status_code=303)


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
        lang = lang_of(request)
        svg = await _run(_cached_svg, ws.dataset_dir(name) / f"distributions.{lang}.svg",
                         lambda: _distributions_svg(ws.finder(name).customers_, lang))
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


def _distributions_svg(customers, lang: str) -> str:
    from lookalike.report.plots import distributions, figure_to_svg  # lazy: matplotlib on the first figure

    vip = customers["vip_flag"].eq(1) if "vip_flag" in customers else None
    return figure_to_svg(distributions(customers, highlight=vip, lang=lang))


@router.get("/datasets/{name}/map", response_class=HTMLResponse)
async def map_page(request: Request, name: str, audience: str = "") -> HTMLResponse:
    ui_user(request)
    ws = _ws(request)
    try:
        finder = await _run(ws.finder, name)
        aud_names = [a["name"] for a in ws.audiences() if a.get("dataset") == name]
        svg = await _run(_map_svg, ws, finder, audience if audience in aud_names else "", name, lang_of(request))
    except LookalikeError as exc:
        return _error_page(request, exc, 404)
    return render(request, "map.html", dataset=name, svg=svg, audiences=aud_names, chosen=audience)


def _map_svg(ws, finder, audience: str, dataset: str, lang: str) -> str:
    from lookalike.report.plots import figure_to_svg, pca_map  # lazy: matplotlib on the first figure

    customers = finder.customers_
    if audience:
        table = ws.audience_table(audience)
        members = finder.ids_.isin(table["customer_id"].astype(str))

        seed_ids = (load_manifest(ws.audience_sidecar(audience, ".manifest.json")).get("seeds") or {}).get("ids", [])
        seeds = finder.ids_.isin(seed_ids)
        t = translator(lang)
        return figure_to_svg(pca_map(finder.X_, seeds, labels=(t("chart_customers"), t("chart_seeds")),
                                     groups={t("chart_audience", name=audience): members}, lang=lang))
    vip = customers["vip_flag"].eq(1).to_numpy() if "vip_flag" in customers else None
    return _cached_svg(ws.dataset_dir(dataset) / f"map.{lang}.svg", lambda: figure_to_svg(pca_map(finder.X_, vip, lang=lang)))


# ------------------------------------------------------------------ audiences, exports
@router.get("/audiences", response_class=HTMLResponse)
def audiences_page(request: Request) -> HTMLResponse:
    ui_user(request)
    return render(request, "audiences.html", audiences=_ws(request).audiences())


@router.get("/audiences/{name}", response_class=HTMLResponse)
async def audience_page(request: Request, name: str, export: str = "") -> HTMLResponse:
    ui_user(request)
    lang = lang_of(request)
    ws = _ws(request)
    try:
        data = await _run(service.audience_payload, ws, name, None, MEMBERS_SHOWN)
        view = await _run(_audience_view, ws, data, lang)
        profiles = load_export_profiles()
        chosen = export if export in profiles else next(iter(profiles))
        preview = await _run(_export_view, ws, name, chosen, lang)
    except LookalikeError as exc:
        return _error_page(request, exc, 404)
    versions = await _run(campaigns.audience_history, ws, request.app.state.engine, name)
    return render(request, "audience.html", a=data, v=view, profiles=profiles, export=preview, versions=versions)


#: Members listed on the audience page (the files hold them all).
MEMBERS_SHOWN = 50


def _audience_view(ws, data: dict, lang: str) -> dict:
    """The audience page in the reader's words: summary, reasons, profile bars, funnel, method, warnings."""
    currency = _dataset_currency(ws, data.get("dataset"))
    params = data.get("parameters") or {}
    profile = pd.DataFrame(data["profile"])
    members = ws.audience_table(data["name"]).head(MEMBERS_SHOWN)
    reasons = words.member_reasons(members, profile, params, lang, currency)
    reference = params.get("similarity_reference")
    rows = [{"customer_id": m.get("customer_id"), "rank": m.get("rank"), "similarity": m.get("similarity"),
             "match": words.similarity_match(m, reference, lang), "reason": reason,
             "total_spent": format_money(m.get("total_spent"), lang, currency, decimals=0),
             "region": m.get("region"), "fav_category": m.get("fav_category"),
             "channel": term(lang, "channel", m.get("promo_channel"))}
            for m, reason in zip(members.to_dict("records"), reasons)]
    return {"summary": summary(profile, int(data.get("size") or len(members)), lang=lang, currency=currency)
            if len(profile) else "",
            "members": rows, "bars": words.profile_bars(profile, lang, currency),
            "funnel": words.funnel(data.get("counts") or {}, lang), "method": words.method_view(params, lang),
            "warnings": [warning_text(w, lang) for w in data.get("warnings") or []],
            "reach_svg": _reach_svg(data["reach"], lang), "seeds_word": words.seeds_word(params, lang),
            "reference": reference}


def _dataset_currency(ws, dataset: str | None) -> str | None:
    """The currency of a dataset's amounts (None when unknown, or when the dataset is gone)."""
    if not dataset:
        return None
    try:
        return words.data_currency(ws.quality(dataset))
    except LookalikeError:
        return None


def _export_view(ws, audience: str, profile: str, lang: str) -> dict:
    """The funnel of one channel profile (members → channel → consent → suppression → rows), its file's
    columns and warnings, or why it cannot be exported, in the reader's words."""
    spec = load_export_profiles()[profile]
    base = {"profile": profile, "label": term(lang, "profile", profile), "help": term(lang, "profile", f"{profile}_help"),
            "headers": spec.headers, "hashed": any(c.hash for c in spec.columns)}
    try:
        res = service.export_preview(ws, audience, profile)
    except LookalikeError as exc:
        return {**base, "error": ws.redact(error_text(exc, lang)), "steps": [], "rows": 0, "warnings": []}
    return {**base, "error": "", "rows": int(len(res.rows)), "warnings": [warning_text(w, lang) for w in res.warnings],
            "steps": words.export_funnel(res.counts, lang, identifiers=spec.identifiers)}


@router.get("/ui/audiences/{name}/export", response_class=HTMLResponse)
async def export_partial(request: Request, name: str, export: str = "email") -> HTMLResponse:
    """The export card of one profile (HTMX swaps it in when another profile is picked)."""
    ui_user(request)
    ws = _ws(request)
    try:
        ws.audience_info(name)
        if export not in load_export_profiles():
            raise ParameterError(f"unknown export profile {export!r}")
        preview = await _run(_export_view, ws, name, export, lang_of(request))
    except LookalikeError as exc:
        message = ws.redact(error_text(exc, lang_of(request)))
        return HTMLResponse(f'<p class="alert" role="alert">{html_escape(message)}</p>', status_code=404)
    return render(request, "_export.html", a={"name": name}, export=preview, profiles=load_export_profiles())


def _reach_svg(reach: list[dict], lang: str = "en") -> str:

    from lookalike.report.plots import figure_to_svg, reach_plot  # lazy: matplotlib on the first figure

    return figure_to_svg(reach_plot(pd.DataFrame(reach), lang=lang)) if reach else ""


@router.post("/audiences/{name}/export/{profile}")
async def export(request: Request, name: str, profile: str) -> Response:
    try:
        user = ui_user(request, "editor")
        await ui_form(request)
        res = await _run(service.export, _ws(request), name, profile, user=user.name,
                         engine=request.app.state.engine)
    except (LookalikeError, _Forbidden) as exc:
        return _error_page(request, exc)
    return export_download(res, name, profile)


def export_download(res, name: str, profile: str) -> Response:
    """An export's file as a download, or its files in one zip (``<name>_<profile>.zip``)."""
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
    lang = lang_of(request)
    books = [{**p, **dict(zip(("title", "description"), words.playbook_words(p, lang)))} for p in service.playbooks()]
    return render(request, "playbooks.html", playbooks=books, datasets=ready)


@router.post("/playbooks/{playbook}/run")
async def playbook_run(request: Request, playbook: str) -> Response:
    try:
        user = ui_user(request, "editor")
        form = await ui_form(request)
        dataset = check_name(str(form.get("dataset") or ""), "dataset name")
        audience = check_name(str(form.get("audience_name") or f"{dataset}-{playbook}"), "audience name")
        ws = _ws(request)
        result = await _run(service.run_playbook, ws, dataset, playbook, size=str(form.get("size") or "") or None,
                            params={}, contacts=request.app.state.engine,
                            **{k: str(form.get(k)).strip() or None for k in CONTACT_OPTIONS if form.get(k) is not None})
        await _run(ws.save_audience, audience, result, dataset, user.name)
    except (LookalikeError, _Forbidden) as exc:
        return _error_page(request, exc)
    return RedirectResponse(f"/audiences/{audience}", status_code=303)
