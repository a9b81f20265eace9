"""Campaign playbooks: small declarative TOML files a CRM manager can copy and edit.

A playbook has ``name``, ``title``, ``description``, optional ``[params]`` (values
substituted where a string is exactly ``"{param}"``), a ``[seeds]`` table (``preset =
"vip"``, ``rule = [...]`` or ``ids_file = "..."``) and an ``[audience]`` table whose keys
are the fields of :class:`lookalike.audience.options.AudienceOptions` (:data:`AUDIENCE_KEYS`):
a rule is a list of conditions or one line of text (``"recency_ratio >= 1.5"``), a list of
customer ids (``suppress``, ``include_ids``) a list or the name of an id file next to the playbook.
The built-in playbooks live in ``lookalike/playbooks/``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from lookalike.audience.options import option_fields
from lookalike.audience.seeds import parse_rule, read_id_file
from lookalike.errors import InputError, ParameterError

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
    return Playbook(
        name=str(data.get("name", path.stem)), title=str(data.get("title", "")),
        description=str(data.get("description", "")).strip(), seeds=seeds, audience=audience,
        params=merged, source=source,
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


def run_playbook(finder, playbook: Playbook | str, *, size: object = None, params: dict | None = None):
    """Build the playbook's audience with ``finder``; returns an ``AudienceResult``."""
    pb = playbook if isinstance(playbook, Playbook) else load_playbook(playbook, params)
    result = finder.build_audience(pb.seeds, size if size is not None else pb.audience.get("size", "5%"), **pb.options())
    result.params["playbook"] = {"name": pb.name, "source": pb.source, "params": pb.params}
    return result
