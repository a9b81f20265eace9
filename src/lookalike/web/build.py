"""The audience builder page: seeds (VIPs, ids, a rule written by a point-and-click condition builder),
every audience option as a form field, a live estimate of reach and similarity on every change, and
the build itself (a new version of the audience name, never an overwrite).

The form is generated from :func:`lookalike.audience.options.option_fields` (the API's face), so an
option added to :class:`~lookalike.audience.options.AudienceOptions` appears here without a change to
this page (its label is ``opt_<name>`` in the catalogue, else its own description). The estimate and the
build call the same service functions as the REST API (:func:`lookalike.api.service.build`).

Ids that are not customers are listed with a warning and left out; the build goes on with the others.
A refused build shows its reason next to the form, with everything typed kept (a chosen file excepted:
browsers never refill file fields).
"""

from __future__ import annotations

import math
import re
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from lookalike.api import service
from lookalike.api.models import AudienceOptions, SeedSpec
from lookalike.api.workspace import check_name, save_upload
from lookalike.audience.options import choices, option_fields
from lookalike.audience.seeds import DERIVED_RULE_COLUMNS, RuleColumn, parse_rule, read_id_file, rule_columns, rule_mask
from lookalike.cleaning.ids import canonical_ids
from lookalike.errors import LookalikeError, ParameterError, ResultWarning
from lookalike.web.routes import _error_page, _Forbidden, _run, _ws, lang_of, render, ui_form, ui_user
from lookalike.web.words import (UIError, column_label, error_text, flash, has_key, option_label, rule_words, say,
                                 warning_text)

router = APIRouter(include_in_schema=False)
SIZE_MIN, SIZE_MAX, SIZE_STEP = 0.5, 20.0, 0.5
#: Options shown in the open part of the form; every other option (new ones too, unless listed in
#: ADVANCED) sits in the "advanced" disclosure or, when not in either list, in the open part.
ADVANCED = frozenset({"scorer", "k", "negative_seeds", "negative_weight", "learn_weights", "include_seeds",
                      "include_ids", "suppress", "value", "value_weight", "random_state"})
#: How many unknown ids a warning lists by name.
SHOWN_IDS = 20
_IDS_SPLIT = re.compile(r"[\s,;]+")


# ------------------------------------------------------------------ the form, generated from the options
def rule_columns_of(finder) -> list[RuleColumn]:
    """The columns rules and filters may use on a dataset: its own, never personal or sensitive data."""
    return rule_columns(finder.customers_, exclude=finder.spec_.sensitive)


def option_widgets(lang: str, columns: list[RuleColumn]) -> list[dict]:
    """One entry per audience option the API offers (seeds and size have their own part of the page):
    name, kind, label, default, bounds, choices (value, label) and, for filters, the columns with their values."""
    categories = {c.name: c for c in columns if c.kind == "category"}
    out = []
    for f in option_fields("api"):
        if f.name in ("seeds", "size"):
            continue
        kind, meta = f.metadata["kind"], f.metadata
        w: dict[str, Any] = {"name": f.name, "kind": kind, "label": option_label(lang, f.name, meta["help"]),
                             "default": f.default, "advanced": f.name in ADVANCED, "bounds": meta.get("bounds")}
        if kind == "choice":
            w["choices"] = [(c, _choice_label(lang, f.name, c)) for c in choices(f)]
        if kind == "filters":
            w["columns"] = [{"name": col, "label": column_label(lang, col), "values": categories[col].values}
                            for col in choices(f) if col in categories]
            if not w["columns"]:
                continue
        out.append(w)
    return out


def _choice_label(lang: str, option: str, value: str) -> str:
    key = f"opt_{option}_{value}"
    return say(lang, key) if has_key(lang, key) else column_label(lang, value)


def form_values(form) -> dict[str, Any]:
    """What was typed, to fill the form in again after a refused build (lists for multi-valued fields)."""
    out: dict[str, Any] = {}
    for key in set(form.keys()):
        if key in ("csrf_token", "seed_file"):
            continue
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        out[key] = values if len(values) > 1 or key.startswith("opt_filters__") else (values[0] if values else "")
    return out


async def options_from_form(form, finder, lang: str, *, spool_root: Path,
                            limit_bytes: int) -> tuple[AudienceOptions, list[ResultWarning]]:
    """The API's options from the builder form, with the warnings of the seeds (unknown ids left out).
    A seed file is streamed under ``spool_root`` (at most ``limit_bytes``).

    Refusals are :class:`~lookalike.web.words.UIError`: no seed ids, an unreadable rule, a rule on a
    column the data does not have, seeds that match nobody or everybody, a value out of its bounds.
    """
    notes: list[ResultWarning] = []
    kind = str(form.get("seed_kind") or "vip")
    customers = finder.customers_
    if kind == "ids":
        typed = [x for x in _IDS_SPLIT.split(str(form.get("seed_ids") or "")) if x]
        ids, unknown = known_ids([*typed, *await _seed_file_ids(form, spool_root, limit_bytes)], finder)
        if unknown:
            notes.append(ResultWarning(
                "unknown_seed_ids", f"{len(unknown):,} of the {len(ids) + len(unknown):,} seed ids are not customers of "
                f"this dataset and were left out: {', '.join(unknown[:SHOWN_IDS])}", count=len(unknown),
                listed=len(ids) + len(unknown), ids=unknown[:SHOWN_IDS]))
        if not ids:
            raise UIError("error_seed_ids_none" if unknown else "error_seed_ids_empty", listed=len(unknown))
        seeds = SeedSpec(kind="ids", ids=ids)
    elif kind == "rule":
        text = str(form.get("seed_rule") or "").strip()
        if not text:
            raise UIError("error_seed_rule_empty")
        matched = int(rule_mask(customers, check_rule(text, customers)).sum())
        if matched == 0:
            raise UIError("error_seed_rule_none", rule=text)
        if matched >= len(customers):
            raise UIError("error_seed_rule_all", rule=text)
        seeds = SeedSpec(kind="rule", rule=text)
    else:
        seeds = SeedSpec(kind="vip")
    try:
        pct = float(str(form.get("size_pct") or 5).replace(",", "."))
    except ValueError:
        raise UIError("error_size") from None
    values: dict[str, Any] = {}
    flags = set(str(form.get("opt_flags") or "").split(","))
    for f in option_fields("api"):
        if f.name in ("seeds", "size"):
            continue
        value = _field_value(form, f, flags, customers)
        if value is not _DEFAULT:
            values[f.name] = value
    try:
        opts = AudienceOptions(seeds=seeds, size=f"{min(max(pct, SIZE_MIN), SIZE_MAX):g}%", **values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err.get("loc") else ""
        field = next((f for f in option_fields("api") if f.name == name), None)
        label = option_label(lang, name, field.metadata["help"]) if field else name
        raise UIError("error_option", label=label, detail=err.get("msg", "")) from None
    return opts, notes


_DEFAULT = object()


def _field_value(form, f, flags: set[str], customers: pd.DataFrame) -> Any:
    """One option's value from the form (``_DEFAULT`` when the form leaves it at its default)."""
    kind, key = f.metadata["kind"], f"opt_{f.name}"
    if kind == "flag":
        return key in form if f.name in flags else _DEFAULT
    if kind == "filters":
        chosen = {col: [str(v) for v in form.getlist(f"{key}__{col}")] for col in choices(f)}
        return {c: v for c, v in chosen.items() if v} or _DEFAULT
    text = str(form.get(key) or "").strip()
    if not text:
        return _DEFAULT
    if kind == "ids":
        return [x for x in _IDS_SPLIT.split(text) if x]
    if kind == "seeds":  # negative seeds: a rule, as on the command line
        check_rule(text, customers)
        return SeedSpec(kind="rule", rule=text)
    if kind == "rule":
        check_rule(text, customers)
        return text
    if kind in ("int", "float"):
        try:
            return int(text) if kind == "int" else float(text.replace(",", "."))
        except ValueError:
            raise UIError("error_number", value=text) from None
    return text  # choice, text: the API model checks them


def check_rule(text: str, customers: pd.DataFrame) -> list[dict]:
    """A rule's conditions, or a :class:`UIError` saying in words why it cannot be used."""
    try:
        conditions = parse_rule(text)
    except ParameterError:
        raise UIError("error_rule_unreadable", rule=text) from None
    known = set(map(str, customers.columns)) | set(DERIVED_RULE_COLUMNS)
    for cond in conditions:
        if cond["column"] not in known:
            raise UIError("error_rule_column", column=cond["column"], rule=text)
    return conditions


def known_ids(listed: list[str], finder) -> tuple[list[str], list[str]]:
    """The listed ids that are customers of the fitted table, and those that are not (both canonical,
    in the order listed, without repeats)."""
    wanted = pd.Index(canonical_ids(listed)).drop_duplicates()
    hit = wanted.isin(finder.ids_)
    return wanted[hit].tolist(), wanted[~hit].tolist()


async def _seed_file_ids(form, spool_root: Path, limit_bytes: int) -> list[str]:
    """Ids from an uploaded seed file (one per line, or a CSV with a customer_id column), streamed into a
    private folder of the workspace (never the system's /tmp: ids are customer data) and removed after."""
    upload = form.get("seed_file")
    if upload is None or not getattr(upload, "filename", ""):
        return []
    spool = Path(tempfile.mkdtemp(dir=spool_root))
    try:
        target = spool / "ids.txt"
        await save_upload(upload, target, limit_bytes)
        await upload.seek(0)  # the estimate and the build may read it again
        return read_id_file(target)
    finally:
        shutil.rmtree(spool, ignore_errors=True)


# ------------------------------------------------------------------ the estimate
def estimate(result, pct: float) -> dict:
    """What the live estimate shows of a (cut) build: audience size, share of the base, candidates,
    seeds, similarity of the audience and of its last member, and the reach curve."""
    sim = result.audience["similarity"].to_numpy(dtype=float)
    n = int(result.counts["base"])
    return {"size": int(len(sim)), "share_of_base": len(sim) / n if n else 0.0, "base": n,
            "candidates": int(result.counts["candidates"]), "seeds": len(result.seed_ids),
            "mean_similarity": float(sim.mean()) if len(sim) else 0.0,
            "min_similarity": float(sim.min()) if len(sim) else 0.0,
            "curve": reach_curve(result.reach, pct / 100)}


def reach_curve(reach: pd.DataFrame, share: float) -> dict | None:
    """The reach-versus-similarity curve as SVG coordinates (a 100 × 40 box): the similarity of the last
    customer included and the audience's mean, against the audience size (share of the base), with a
    marker at the size chosen."""
    if reach is None or reach.empty:
        return None
    x_max = max(SIZE_MAX / 100, float(reach["share_of_base"].max()))
    top = float(max(reach["mean_similarity"].max(), reach["min_similarity"].max())) or 1.0
    y_max = _nice_ceiling(top)

    def points(col: str) -> str:
        return " ".join(f"{100 * s / x_max:.2f},{40 - 40 * v / y_max:.2f}"
                        for s, v in zip(reach["share_of_base"], reach[col]))

    ticks = [t for t in (0.0, 0.05, 0.10, 0.15, 0.20) if t <= x_max + 1e-9]
    at = reach.iloc[(reach["share_of_base"] - share).abs().argsort().iloc[0]]
    return {"last": points("min_similarity"), "mean": points("mean_similarity"), "y_max": y_max,
            "marker": 100 * min(share, x_max) / x_max, "ticks": [(100 * t / x_max, t) for t in ticks],
            "near_share": float(at["share_of_base"]), "near_last": float(at["min_similarity"]),
            "end_share": float(reach["share_of_base"].iloc[-1]), "end_last": float(reach["min_similarity"].iloc[-1])}


def _nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × a power of ten at or above ``x``.

    >>> _nice_ceiling(0.62), _nice_ceiling(0.061), _nice_ceiling(1.0)
    (1.0, 0.1, 1.0)
    """
    p = 10 ** math.floor(math.log10(x))
    return float(next(m * p for m in (1, 2, 2.5, 5, 10) if m * p >= x - 1e-12))


def _vip_seeds(customers) -> str | None:
    """Why VIP seeds cannot be used on these customers (a translation key), or None when they can."""
    if "vip_flag" not in customers:
        return "seed_vip_missing"
    n_vip = int(customers["vip_flag"].eq(1).sum())
    return "seed_vip_none" if n_vip == 0 else "seed_vip_all" if n_vip == len(customers) else None


# ------------------------------------------------------------------ pages
def _spool(request: Request) -> dict:
    return {"spool_root": _ws(request).spool_dir(), "limit_bytes": request.app.state.settings.max_upload_mb << 20}


def _page(request: Request, name: str, finder, *, values: dict | None = None, error: str | None = None,
          status_code: int = 200) -> HTMLResponse:
    lang = lang_of(request)
    vip_off = _vip_seeds(finder.customers_)
    columns = rule_columns_of(finder)
    default_kind = "rule" if vip_off else "vip"
    values = values if values is not None else {"seed_kind": default_kind}
    return render(request, "build.html", status_code=status_code, dataset=name, vip_off=vip_off, values=values,
                  error=error, widgets=option_widgets(lang, columns),
                  rule_columns=[{**c.to_dict(), "label": column_label(lang, c.name)} for c in columns],
                  size_min=SIZE_MIN, size_max=SIZE_MAX, size_step=SIZE_STEP,
                  default_name=f"{name}-vip-lookalikes" if vip_off is None else f"{name}-lookalikes",
                  existing=[a["name"] for a in _ws(request).audiences()])


@router.get("/datasets/{name}/build", response_class=HTMLResponse)
async def build_page(request: Request, name: str) -> HTMLResponse:
    ui_user(request)
    try:
        finder = await _run(_ws(request).finder, name)
    except LookalikeError as exc:
        return _error_page(request, exc, 404)
    return _page(request, name, finder)


@router.post("/ui/datasets/{name}/preview", response_class=HTMLResponse)
async def preview(request: Request, name: str) -> HTMLResponse:
    """The live estimate (a fragment): the builder posts its whole form on every change."""
    ui_user(request)
    lang = lang_of(request)
    try:
        form = await ui_form(request)
        finder = await _run(_ws(request).finder, name)
        opts, notes = await options_from_form(form, finder, lang, **_spool(request))
        result = await _run(service.build, _ws(request), name, opts, explain=False,
                            contacts=request.app.state.engine)
    except _Forbidden:
        return render(request, "_preview.html", error=say(lang, "form_expired"))
    except (UIError, LookalikeError, ValueError) as exc:
        return render(request, "_preview.html", error=error_text(lang, exc))
    pct = float(str(opts.size).rstrip("%"))
    words = None
    if opts.seeds.kind == "rule":
        flags = frozenset(c.name for c in rule_columns_of(finder) if c.kind == "flag")
        words = rule_words(lang, parse_rule(opts.seeds.rule), flags)
    return render(request, "_preview.html", error=None, est=estimate(result, pct), rule=words,
                  warnings=[warning_text(lang, w) for w in (*notes, *result.warnings)])


@router.post("/datasets/{name}/build")
async def build(request: Request, name: str) -> Response:
    lang = lang_of(request)
    try:
        user = ui_user(request, "editor")
        form = await ui_form(request)
    except _Forbidden as exc:
        return _error_page(request, exc)
    ws = _ws(request)
    try:
        finder = await _run(ws.finder, name)
    except LookalikeError as exc:
        return _error_page(request, exc, 404)
    values = form_values(form)
    try:
        try:
            audience = check_name(str(form.get("audience_name") or ""), "audience name")
        except ParameterError:
            raise UIError("error_audience_name", name=str(form.get("audience_name") or "")) from None
        opts, notes = await options_from_form(form, finder, lang, **_spool(request))
        built = await _run(service.build, ws, name, opts, contacts=request.app.state.engine)
        # a copy: the service may keep the ranking this result was cut from
        result = replace(built, warnings=[*built.warnings, *notes], params=dict(built.params))
        await _run(ws.save_audience, audience, result, name, user.name)
    except (UIError, LookalikeError, ValueError) as exc:
        message = error_text(lang, exc)
        if not isinstance(exc, UIError):
            message = f"{say(lang, 'error_build_failed')} {ws.redact(message)}"
        return _page(request, name, finder, values=values, error=message, status_code=400)
    version = int(result.params.get("version") or 1)
    flash(request.session, "flash_audience_built" if version == 1 else "flash_audience_version",
          name=audience, version=version, size=int(len(result.audience)))
    for w in notes:
        flash(request.session, "warning_unknown_seed_ids", kind="warn", **w.params)
    return RedirectResponse(f"/audiences/{audience}", status_code=303)
