"""Campaign playbooks: small declarative TOML files a CRM manager can copy and edit.

A playbook has ``name``, ``title``, ``description``, optional ``[params]`` (values
substituted where a string is exactly ``"{param}"``), a ``[seeds]`` table (``preset =
"vip"``, ``rule = [...]`` or ``ids_file = "..."``), optionally ``per = "column"`` (the audience is built
for each value of the column apart: that value's seeds, that value's candidates, see
:func:`run_playbook`) and ``[explain] lead = ["feature"]`` (features every reason starts with, e.g. the
upsell's ``ticket_gap``), and an ``[audience]`` table whose keys
are the fields of :class:`lookalike.audience.options.AudienceOptions` (:data:`AUDIENCE_KEYS`):
a rule is a list of conditions or one line of text (``"recency_ratio >= 1.5"``), a list of
customer ids (``suppress``, ``include_ids``) a list or the name of an id file next to the playbook.
The built-in playbooks live in ``lookalike/playbooks/``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from lookalike.audience.expand import audience_funnel, combine_audiences, parse_size, seed_kind
from lookalike.audience.explain import PHRASES, SEED_MARK, describe
from lookalike.audience.options import FILTER_COLUMNS, option_fields
from lookalike.audience.seeds import parse_rule, read_id_file, rule_mask, with_rule_columns
from lookalike.errors import InputError, ParameterError
from lookalike.features import UNKNOWN

#: The keys of ``[audience]``: every option a playbook offers (the seeds have their own table).
AUDIENCE_KEYS = tuple(f.name for f in option_fields("playbook") if f.name != "seeds")
_KINDS = {f.name: f.metadata["kind"] for f in option_fields("playbook")}


@dataclass(frozen=True)
class Playbook:
    """A parsed playbook."""

    name: str
    title: str
    description: str
    seeds: object
    audience: dict
    params: dict = field(default_factory=dict)
    source: str = ""
    per: str | None = None
    lead: tuple[str, ...] = ()

    def options(self) -> dict:
        """Options for ``build_audience`` (everything in ``[audience]`` except size)."""
        return {k: v for k, v in self.audience.items() if k != "size"}


def builtin_playbooks() -> list[str]:
    """Names of the playbooks shipped with Lookalike."""
    files = resources.files("lookalike.playbooks").iterdir()
    return sorted(f.name[:-5] for f in files if f.name.endswith(".toml"))


def load_playbook(name_or_path: str | os.PathLike[str], params: dict | None = None) -> Playbook:
    """Load a built-in playbook by name or a TOML file by path; ``params`` override ``[params]``."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        text, source = path.read_text("utf-8"), str(path)
    elif str(name_or_path) in builtin_playbooks():
        text = resources.files("lookalike.playbooks").joinpath(f"{name_or_path}.toml").read_text("utf-8")
        source = f"builtin:{name_or_path}"
    else:
        raise ParameterError(f"unknown playbook {str(name_or_path)!r}; use one of {', '.join(builtin_playbooks())} "
                             "or a path to a .toml file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"playbook {source} is not valid TOML: {exc}") from None
    merged = {**data.get("params", {}), **(params or {})}
    unknown_params = sorted(set(params or {}) - set(data.get("params", {})))
    if unknown_params:
        raise ParameterError(f"playbook {data.get('name', source)} has no parameter(s) {', '.join(unknown_params)}; "
                             f"it takes: {', '.join(data.get('params', {})) or 'none'}")
    data = _substitute(data, merged)
    audience = dict(data.get("audience", {}))
    bad = sorted(set(audience) - set(AUDIENCE_KEYS))
    if bad:
        raise InputError(f"playbook {source}: unknown [audience] key(s) {', '.join(bad)}; allowed: {', '.join(AUDIENCE_KEYS)}")
    audience = _read_values(audience, source)
    seeds_t = data.get("seeds", {})
    if "preset" in seeds_t:
        seeds = seeds_t["preset"]
    elif "rule" in seeds_t:
        seeds = list(seeds_t["rule"])
    elif "ids_file" in seeds_t:
        seeds = str(Path(source).parent / seeds_t["ids_file"]) if not source.startswith("builtin:") else seeds_t["ids_file"]
    else:
        raise InputError(f"playbook {source}: [seeds] needs preset, rule or ids_file")
    per = data.get("per")
    if per is not None and per not in FILTER_COLUMNS:
        raise InputError(f"playbook {source}: per = {per!r} is not a column an audience can be split by; "
                         f"use one of {', '.join(FILTER_COLUMNS)}")
    lead = (data.get("explain") or {}).get("lead") or []
    if isinstance(lead, str):
        lead = [lead]
    unknown = sorted(set(lead) - set(PHRASES))
    if unknown:
        raise InputError(f"playbook {source}: [explain] lead {', '.join(unknown)} cannot be said in a reason; "
                         f"use one of {', '.join(sorted(PHRASES))}")
    return Playbook(
        name=str(data.get("name", path.stem)), title=str(data.get("title", "")),
        description=str(data.get("description", "")).strip(), seeds=seeds, audience=audience,
        params=merged, source=source, per=per, lead=tuple(lead),
    )


def _read_values(audience: dict, source: str) -> dict:
    """Rules written as text become conditions; an id list given as a file name is read (next to the playbook)."""
    out = dict(audience)
    for key, value in audience.items():
        if _KINDS.get(key) == "rule" and isinstance(value, str):
            out[key] = parse_rule(value)
        elif _KINDS.get(key) == "ids" and isinstance(value, str):
            if source.startswith("builtin:"):
                raise InputError(f"playbook {source}: {key} names a file; a built-in playbook lists ids instead")
            out[key] = read_id_file(Path(source).parent / value)
    return out


def _substitute(obj: object, params: dict) -> object:
    if isinstance(obj, dict):
        return {k: _substitute(v, params) for k, v in obj.items() if k != "params"}
    if isinstance(obj, list):
        return [_substitute(v, params) for v in obj]
    if isinstance(obj, str) and obj.startswith("{") and obj.endswith("}") and obj[1:-1] in params:
        return params[obj[1:-1]]
    return obj


def run_playbook(finder, playbook: Playbook | str, *, size: object = None, params: dict | None = None,
                 contacts: object = None, as_of: datetime | None = None, **options: object):
    """Build the playbook's audience with ``finder``; returns an ``AudienceResult``.

    ``options`` (audience options, e.g. ``max_contacts="3/30d"``) override the playbook's ``[audience]``;
    ``contacts`` and ``as_of`` are the contact history the contact rules read (see ``build_audience``).

    With ``per`` the audience is built once per value of that column (``Unknown`` aside): that value's
    seeds (the seed rule, or the VIPs, of that value) and candidates, each value given a share of the
    size proportional to its candidates, then combined by how much each member resembles the seeds of
    its own value (:func:`lookalike.audience.expand.combine_audiences`). With ``lead`` every reason
    starts with those features.
    """
    pb = playbook if isinstance(playbook, Playbook) else load_playbook(playbook, params)
    size = size if size is not None else pb.audience.get("size", "5%")
    history = {"contacts": contacts, "as_of": as_of}
    result = _run_per(finder, pb, size, history, options) if pb.per else \
        finder.build_audience(pb.seeds, size, **history, **{**pb.options(), **options})
    if pb.lead and "reason" in result.audience:
        result = _lead_reasons(finder, result, pb.lead)
    result.params["playbook"] = {"name": pb.name, "source": pb.source, "params": pb.params}
    return result


def _run_per(finder, pb: Playbook, size: object, history: dict, overrides: dict):
    customers = finder.customers_
    if pb.seeds == "vip":
        seeds = [{"column": "vip_flag", "op": "==", "value": 1}]
    elif isinstance(pb.seeds, list):
        seeds = list(pb.seeds)
    else:
        raise InputError(f"playbook {pb.name}: per = {pb.per!r} needs seeds given by a rule or preset = 'vip'")
    options = {**pb.options(), **overrides}
    candidate_rule = list(options.pop("candidate_rule", None) or [])
    target = parse_size(size, len(customers))
    group = customers[pb.per].astype(str)
    is_seed = rule_mask(customers, seeds).to_numpy()
    can = (rule_mask(customers, candidate_rule).to_numpy() if candidate_rule else np.ones(len(customers), bool)) & ~is_seed
    seeds_in = pd.Series(is_seed).groupby(group.to_numpy()).sum()
    cands_in = pd.Series(can).groupby(group.to_numpy()).sum()
    values = [v for v in sorted(cands_in.index) if v != UNKNOWN and seeds_in.get(v, 0) >= 2 and cands_in[v] > 0]
    total = int(sum(cands_in[v] for v in values)) or 1
    results = []
    for v in values:  # the column's values (categories), not customers
        where = {"column": pb.per, "op": "==", "value": v}
        res = finder.build_audience(seeds + [where], max(1, round(target * int(cands_in[v]) / total)),
                                    **history, **{**options, "candidate_rule": candidate_rule + [where]})
        res.params["group"] = v
        results.append(res)
    funnel = audience_funnel(finder, seeds, **history, **{**options, "candidate_rule": candidate_rule or None})
    return combine_audiences(finder, results, target, by=pb.per, funnel=funnel)


#: What a lead phrase already says (the gap names the ticket and the category): not said again after it.
LEAD_SAYS = {"ticket_gap": ("avg_ticket", "fav_category", "category_high_ticket")}


def _lead_reasons(finder, result, lead: tuple[str, ...]):
    """The reasons again, each starting with the ``lead`` features (their columns added to the audience)."""
    audience = result.audience
    derived = with_rule_columns(finder.customers_)
    rows = pd.Index(finder.ids_).get_indexer(audience["customer_id"].astype(str))
    extra = {c: derived[c].to_numpy()[rows] for c in ("category_high_ticket", "ticket_gap")
             if c in derived and c not in audience}
    audience = audience.assign(**extra)
    said = set(lead).union(*(LEAD_SAYS.get(f, ()) for f in lead))
    have = audience["reason_features"].fillna("").astype(str)
    lists = have.map(lambda f: f if f == SEED_MARK else ",".join(  # per distinct list, not per customer
        [*lead, *(x for x in f.split(",") if x and x not in said)][:3])) if len(have) else have
    reason = describe(audience, lists, result.profile, levels=audience["resemblance"].to_numpy(dtype=object),
                      seeds=seed_kind(result.params.get("seed_sets") or []))
    audience = audience.assign(reason=reason.astype(str), reason_features=lists.astype(str))
    return replace(result, audience=audience)
