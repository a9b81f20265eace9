"""What the API and the UI both do, on top of the library (one place, two presentations)."""

from __future__ import annotations

import csv
import hashlib
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from lookalike.api.models import AudienceOptions, SeedSpec
from lookalike.api.workspace import Workspace, check_name
from lookalike.audience.expand import cut_audience, parse_size
from lookalike.audience.manifest import check_members
from lookalike.audience.options import AudienceOptions as LibraryOptions
from lookalike.audience.options import CONTACT_OPTIONS, option_fields
from lookalike.audience.playbooks import builtin_playbooks, load_playbook
from lookalike.audience.playbooks import run_playbook as run_library_playbook
from lookalike.audience.seeds import parse_rule
from lookalike.audience.store import audience_manifest, saved_warnings
from lookalike.campaigns.contacts import check_campaign_export, export_recorded
from lookalike.errors import ParameterError
from lookalike.export import preview_export
from lookalike.io import to_jsonable

#: Columns of the audience members shown in responses and the UI (no contact data exists in audiences).
MEMBER_COLUMNS = ("customer_id", "rank", "similarity", "reason", "total_spent", "total_orders", "region",
                  "fav_category", "promo_channel")


def seed_spec(spec: SeedSpec | None) -> object:
    """A :class:`SeedSpec` as the library's seed argument (``"vip"``, a rule, or ids)."""
    if spec is None:
        return None
    if spec.kind == "vip":
        return "vip"
    if spec.kind == "rule":
        if not spec.rule or not spec.rule.strip():
            raise ParameterError("seeds of kind 'rule' need a rule, e.g. 'total_spent top 5%'")
        return parse_rule(spec.rule)
    ids = [i.strip() for i in (spec.ids or []) if isinstance(i, str) and i.strip()]
    if not ids:
        raise ParameterError("seeds of kind 'ids' need at least one customer id")
    return ids


def build_options(opts: AudienceOptions) -> LibraryOptions:
    """The library's options from the request model: seeds and rules parsed, empty texts and filters dropped."""
    values: dict[str, Any] = {}
    for f in option_fields("api"):
        value, kind = getattr(opts, f.name), f.metadata["kind"]
        if kind == "seeds":
            value = seed_spec(value)
        elif kind == "size":
            value = size_arg(value)
        elif kind == "rule":
            value = parse_rule(value) if value and value.strip() else None
        elif kind == "filters":
            value = {k: v for k, v in value.items() if v} or None if value else None
        elif kind == "text":
            value = value.strip() or None if value else None
        values[f.name] = value
    return LibraryOptions(**values)


def size_arg(size: str) -> object:
    """The size text of a request as ``parse_size`` takes it."""
    text = size.strip()
    if not text:
        raise ParameterError("size is empty; give a count (5000), a share (0.05) or a percentage ('5%')")
    return text


#: The largest audience the builder's slider asks for, as a share of the base: its ranking is kept
#: (explained) for up to ``RANKING_MAX_ROWS`` customers; larger sizes are built as asked.
RANKING_HEAD = 0.20
RANKING_MAX_ROWS = 200_000


def build(ws: Workspace, dataset: str, opts: AudienceOptions, *, explain: bool = True, contacts: object = None):
    """Build an audience on a dataset's fitted model; ``contacts`` (the campaign store's engine) is read
    when the options set a contact rule.

    Sizes up to :data:`RANKING_HEAD` of the base are cut from the ranking kept in
    ``ws.rankings`` for these options (built once, explained); larger ones, and any with a contact
    rule, are built as asked.
    """
    finder = ws.finder(dataset)
    options = build_options(opts)
    ranking = _ranking(ws, dataset, finder, opts, options)
    cut = None if ranking is None else cut_audience(ranking, finder, options.size)
    return cut if cut is not None else finder.build_audience(options=options, explain=explain, contacts=contacts)


def _ranking(ws: Workspace, dataset: str, finder, opts: AudienceOptions, options: LibraryOptions):
    """The audience at :data:`RANKING_HEAD` of the base for these options (kept), or None when
    the size asked for is larger or a contact rule is set."""
    head = max(1, min(int(round(RANKING_HEAD * finder.n_customers_)), RANKING_MAX_ROWS))
    # the contact history changes with every export and the rules read it as of now: a kept ranking would
    # go stale, and the rules' exact counts need every candidate, not the kept head
    if parse_size(options.size, finder.n_customers_) > head or any(getattr(options, k) for k in CONTACT_OPTIONS):
        return None
    # the options that shape the ranking: every field of AudienceOptions but the size (id lists can be long)
    key = hashlib.sha256(opts.model_dump_json(include=set(AudienceOptions.model_fields) - {"size"}).encode()).hexdigest()
    return ws.rankings.get(dataset, finder, key, lambda: finder.build_audience(
        options=replace(options, size=head), explain=True))


def reach_at(ws: Workspace, dataset: str, opts: AudienceOptions, *, contacts: object = None) -> dict:
    """Size against similarity at one size (the UI's live slider): read from the kept ranking, nothing saved."""
    finder = ws.finder(dataset)
    options = build_options(opts)
    ranking = _ranking(ws, dataset, finder, opts, options)
    if ranking is None:
        result = build(ws, dataset, opts, explain=False, contacts=contacts)
        sim, counts = result.audience["similarity"], result.counts
    else:
        size = min(parse_size(options.size, finder.n_customers_), ranking.counts["candidates"])
        sim, counts = ranking.audience["similarity"].iloc[:size], ranking.counts
    sim = sim.to_numpy(dtype=float)
    n = counts["base"]
    return {"dataset": dataset, "size": int(len(sim)), "share_of_base": len(sim) / n if n else 0.0,
            "candidates": int(counts["candidates"]),
            "mean_similarity": float(sim.mean()) if len(sim) else 0.0,
            "min_similarity": float(sim.min()) if len(sim) else 0.0}


def records(df: pd.DataFrame) -> list[dict]:
    """A DataFrame as JSON-ready records (NaN and NA as null), built column by column.

    This runs on every lookalike query, so each column becomes a Python list in one call;
    only values that are not plain scalars (dates, numpy objects) go through ``to_jsonable``.
    """
    columns = {}
    for c in df.columns:
        values = df[c].to_numpy(dtype=object, na_value=None).tolist()
        if not all(v is None or type(v) in _PLAIN for v in values):
            values = to_jsonable([None if v is pd.NaT else v for v in values], str(c))
        columns[str(c)] = [None if type(v) is float and not math.isfinite(v) else v for v in values]
    return [dict(zip(columns, row)) for row in zip(*columns.values())]


_PLAIN = frozenset({str, int, float, bool})


def audience_payload(ws: Workspace, name: str, result=None, top: int = 20) -> dict:
    """An audience's summary, reach, profile and first members (from a fresh result or from disk)."""
    info = ws.audience_info(name)
    if result is not None:
        reach, profile, warnings, members = result.reach, result.profile, list(result.warnings), result.audience
    else:
        reach = _read_csv(ws.audience_sidecar(name, ".reach.csv"))
        profile = _read_csv(ws.audience_sidecar(name, ".profile.csv"))
        diag = ws.audience_sidecar(name, ".diagnostics.json")
        warnings = saved_warnings(json.loads(diag.read_text("utf-8"))) if diag.is_file() else []
        members = ws.audience_table(name)
    cols = [c for c in MEMBER_COLUMNS if c in members.columns]
    return {**info, "warnings": warnings, "reach": records(reach), "profile": records(profile),
            "members": records(members.head(top)[cols])}


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.is_file() else pd.DataFrame()


def export(ws: Workspace, audience: str, profile: str, *, user: str, engine, exclude_ids=None,
           allow_other_data: bool = False, version: int | None = None, file_name: str | None = None,
           campaign: int | None = None, allow_over_cap: bool = False,
           exclude_contacted_within: str | None = None, max_contacts: str | None = None):
    """Write an audience's files for one destination profile, logged with the user's name; the customers
    of a channel file are recorded as contacted in the campaign store ``engine``.

    Refused when the audience's dataset was re-uploaded with other people or contacts since it
    was built (:func:`lookalike.audience.manifest.check_members`), unless ``allow_other_data``;
    the check's warnings are added to the result's. ``version``: one of the audience's versions
    (default the current one); ``file_name``: the name the files start with (default the audience's).
    With ``campaign`` (an id) it is that campaign's export: its control group is left out and its
    treated customers are checked against the contact rules
    (:func:`lookalike.campaigns.contacts.check_campaign_export`)."""
    given = [k for k, v in (("exclude_contacted_within", exclude_contacted_within), ("max_contacts", max_contacts),
                            ("allow_over_cap", allow_over_cap or None)) if v is not None]
    if campaign is None and given:  # an audience export applies the rules the audience was built with
        raise ParameterError(f"{' and '.join(given)} apply to a campaign's export: pass campaign (its id), or build "
                             "the audience again with the contact rules")
    # under the audience's lock: the table, its manifest and the files written belong to one version
    with ws.lock("audience", audience):
        info = ws.audience_info(audience, version)
        table = ws.audience_table(audience, version)
        dataset = info.get("dataset")
        customers = ws.finder(dataset).customers_ if dataset else None
        plan = None if campaign is None else check_campaign_export(
            engine, int(campaign), table, exclude_contacted_within=exclude_contacted_within, max_contacts=max_contacts,
            allow_over_cap=allow_over_cap, where=f"audience {audience!r}")
        checked = [] if customers is None else check_members(
            audience_manifest(ws.audience_version_path(audience, version)), table, customers,
            allow_other_data=allow_other_data, where=f"audience {audience!r}")
        checked += list(plan.warnings) if plan is not None else []
        excluded = exclude_ids if plan is None else [*(exclude_ids or []), *plan.exclude_ids]
        res = export_recorded(engine, table, customers, profile, ws.export_dir(audience),
                              name=check_name(file_name or audience),
                              campaign_id=None if plan is None else plan.campaign.id, exclude_ids=excluded,
                              user=user, log_path=ws.export_log())
    return replace(res, warnings=(*checked, *res.warnings)) if checked else res


def export_preview(ws: Workspace, audience: str, profile: str):
    """What an export of ``audience`` for ``profile`` would write (rows, the count after each step,
    warnings), without writing or logging a file: the UI shows it before the download."""
    info = ws.audience_info(audience)
    dataset = info.get("dataset")
    customers = ws.finder(dataset).customers_ if dataset else None
    return preview_export(ws.audience_table(audience), customers, profile)


def export_payload(res, audience: str) -> dict:
    return {"audience": audience, "profile": res.profile, "rows_written": res.rows_written,
            "files": [{"file": p.name, "rows": int(_rows_of(res, p.name)), "sha256": res.sha256[p.name],
                       "url": f"/api/v1/exports/{audience}/{p.name}"} for p in res.paths],
            "counts": res.counts, "warnings": list(res.warnings)}


def _rows_of(res, filename: str) -> int:
    if len(res.paths) == 1:
        return res.rows_written
    with open(next(p for p in res.paths if p.name == filename), encoding="utf-8", newline="") as fh:
        return max(sum(1 for _ in csv.reader(fh)) - 1, 0)


def playbooks() -> list[dict]:
    """The built-in playbooks: name, title, description, parameters, default size."""

    out = []
    for name in builtin_playbooks():
        pb = load_playbook(name)
        out.append({"name": pb.name, "title": pb.title, "description": pb.description, "params": pb.params,
                    "size": pb.audience.get("size")})
    return out


def run_playbook(ws: Workspace, dataset: str, playbook: str, *, size: str | None, params: dict,
                 contacts: object = None, **rules: str | None):
    """Run a built-in playbook on a dataset's model; ``rules`` (the contact rules given, None = the
    playbook's) read the campaign store ``contacts``."""
    if playbook not in builtin_playbooks():
        raise ParameterError(f"unknown playbook {playbook!r}; use one of {', '.join(builtin_playbooks())}")
    return run_library_playbook(ws.finder(dataset), playbook, size=size_arg(size) if size else None,
                                params=params or None, contacts=contacts,
                                **{k: v for k, v in rules.items() if v is not None})
