"""What the API and the UI both do, on top of the library (one place, two presentations)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from lookalike.api.models import AudienceOptions, SeedSpec
from lookalike.api.workspace import Workspace, check_name
from lookalike.errors import InputError, ParameterError
from lookalike.io import to_jsonable

#: Columns of the audience members shown in responses and the UI (no contact data exists in audiences).
MEMBER_COLUMNS = ("customer_id", "rank", "similarity", "reason", "total_spent", "total_orders", "region",
                  "fav_category", "promo_channel")


def seed_spec(spec: SeedSpec | None) -> object:
    """A :class:`SeedSpec` as the library's seed argument (``"vip"``, a rule, or ids)."""
    from lookalike.audience.seeds import parse_rule

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


def build_options(opts: AudienceOptions) -> dict[str, Any]:
    """Keyword arguments of ``build_audience`` from the request model."""
    from lookalike.audience.seeds import parse_rule

    kw: dict[str, Any] = {
        "scorer": opts.scorer, "k": opts.k, "learn_weights": opts.learn_weights, "include_seeds": opts.include_seeds,
        "exclude_vips": opts.exclude_vips, "exclude_opted_out": opts.exclude_opted_out,
        "value": opts.value, "value_weight": opts.value_weight, "random_state": opts.random_state,
    }
    if opts.seed_order:
        kw["seed_order"] = opts.seed_order
    if opts.negative_seeds is not None:
        kw["negative_seeds"] = seed_spec(opts.negative_seeds)
        kw["negative_weight"] = opts.negative_weight
    if opts.suppress:
        kw["suppress"] = opts.suppress
    if opts.include_ids is not None:
        kw["include_ids"] = opts.include_ids
    if opts.filters:
        kw["filters"] = {k: v for k, v in opts.filters.items() if v}
    if opts.candidate_rule and opts.candidate_rule.strip():
        kw["candidate_rule"] = parse_rule(opts.candidate_rule)
    return kw


def size_arg(size: str) -> object:
    """The size text of a request as ``parse_size`` takes it."""
    text = size.strip()
    if not text:
        raise ParameterError("size is empty; give a count (5000), a share (0.05) or a percentage ('5%')")
    return text


def build(ws: Workspace, dataset: str, opts: AudienceOptions, *, explain: bool = True):
    """Build an audience on a dataset's fitted model."""
    finder = ws.finder(dataset)
    return finder.build_audience(seed_spec(opts.seeds), size_arg(opts.size), explain=explain, **build_options(opts))


def reach_at(ws: Workspace, dataset: str, opts: AudienceOptions) -> dict:
    """Size against similarity at one size (the UI's live slider): no explanations, nothing saved."""
    result = build(ws, dataset, opts, explain=False)
    sim = result.audience["similarity"].to_numpy(dtype=float)
    n = result.counts["base"]
    return {"dataset": dataset, "size": int(len(sim)), "share_of_base": len(sim) / n if n else 0.0,
            "candidates": int(result.counts["candidates"]),
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
        import json

        warnings = json.loads(diag.read_text("utf-8")).get("warnings", []) if diag.is_file() else []
        members = ws.audience_table(name)
    cols = [c for c in MEMBER_COLUMNS if c in members.columns]
    return {**info, "warnings": warnings, "reach": records(reach), "profile": records(profile),
            "members": records(members.head(top)[cols])}


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.is_file() else pd.DataFrame()


def export(ws: Workspace, audience: str, profile: str, *, user: str, exclude_ids=None):
    """Write an audience's files for one destination profile, logged with the user's name."""
    from lookalike.export import export_audience

    info = ws.audience_info(audience)
    table = ws.audience_table(audience)
    dataset = info.get("dataset")
    customers = ws.finder(dataset).customers_ if dataset else None
    return export_audience(table, customers, profile, ws.export_dir(audience), name=check_name(audience),
                           exclude_ids=exclude_ids, user=user, log_path=ws.export_log())


def export_payload(res, audience: str) -> dict:
    return {"audience": audience, "profile": res.profile, "rows_written": res.rows_written,
            "files": [{"file": p.name, "rows": int(_rows_of(res, p.name)), "sha256": res.sha256[p.name],
                       "url": f"/api/v1/exports/{audience}/{p.name}"} for p in res.paths],
            "counts": res.counts, "warnings": list(res.warnings)}


def _rows_of(res, filename: str) -> int:
    if len(res.paths) == 1:
        return res.rows_written
    import csv

    with open(next(p for p in res.paths if p.name == filename), encoding="utf-8", newline="") as fh:
        return max(sum(1 for _ in csv.reader(fh)) - 1, 0)


def playbooks() -> list[dict]:
    """The built-in playbooks: name, title, description, parameters, default size."""
    from lookalike.audience.playbooks import builtin_playbooks, load_playbook

    out = []
    for name in builtin_playbooks():
        pb = load_playbook(name)
        out.append({"name": pb.name, "title": pb.title, "description": pb.description, "params": pb.params,
                    "size": pb.audience.get("size")})
    return out


def run_playbook(ws: Workspace, dataset: str, playbook: str, *, size: str | None, params: dict):
    from lookalike.audience.playbooks import builtin_playbooks, run_playbook as run

    if playbook not in builtin_playbooks():
        raise ParameterError(f"unknown playbook {playbook!r}; use one of {', '.join(builtin_playbooks())}")
    return run(ws.finder(dataset), playbook, size=size_arg(size) if size else None, params=params or None)


def register_loader(path: str | None, url: str | None, query: str | None):
    """A loader for a dataset read in place: a server file or a database query."""
    from lookalike.io import is_sql_url, read_customers

    if bool(path) == bool(url):
        raise ParameterError("give exactly one of path (a file on the server) or url (a database URL with query)")
    if url:
        if not is_sql_url(url):
            raise ParameterError(f"url {url.split('@')[-1]!r} is not a database URL; use e.g. "
                                 "postgresql+psycopg://user:pw@host/db or sqlite:///file.db")
        if not query:
            raise ParameterError("a database source needs query: a SQL query or a table name")
        return lambda: read_customers(url, query=query)
    p = Path(path)
    if not p.is_file():
        raise InputError(f"cannot read {p}: the file does not exist on the server; upload it instead")
    return lambda: read_customers(p)


def campaigns_available() -> bool:
    """True when the campaigns package (issue 7) provides results."""
    try:
        from lookalike.campaigns import report  # noqa: F401
    except Exception:
        return False
    return hasattr(report, "campaign_results")
