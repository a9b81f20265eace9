"""Campaign playbooks: small declarative TOML files a CRM manager can copy and edit.

A playbook has ``name``, ``title``, ``description``, optional ``[params]`` (values
substituted where a string is exactly ``"{param}"``), a ``[seeds]`` table (``preset =
"vip"``, ``rule = [...]`` or ``ids_file = "..."``) and an ``[audience]`` table whose keys
are the options of :func:`lookalike.audience.expand.build_audience`.
The built-in playbooks live in ``lookalike/playbooks/``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from lookalike.errors import InputError, ParameterError

AUDIENCE_KEYS = (
    "size", "scorer", "k", "learn_weights", "include_seeds", "exclude_vips", "exclude_opted_out",
    "filters", "candidate_rule", "value", "value_weight", "negative_seeds", "negative_weight",
)


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
