"""Every option of an audience expansion, in one place: name, default, check and a one-line description.

:class:`AudienceOptions` is what :func:`lookalike.audience.expand.build_audience` takes, and every face
offers the same fields from it: ``lookalike expand`` builds its options from :func:`option_fields`
(help texts from the descriptions), the REST API's ``AudienceOptions`` model is generated from it,
playbooks accept its names as ``[audience]`` keys, and the web form fills the API model. Adding an
option is one new field here (with a ``kind`` the faces know how to read); a face that cannot offer
a field says why in its ``off`` metadata (a test holds every face to this list).

Kinds, and how the faces take them: ``seeds`` ("vip", ids, id file or rule), ``size`` (count, share
or percentage), ``choice`` (one of ``choices``), ``int``/``float`` (within ``bounds``), ``flag``,
``ids`` (customer ids; a file on the command line), ``filters`` (column → allowed values), ``rule``
(conditions; one line of text on the command line and in the API), ``text`` (a name, e.g. a column),
``duration`` (a number of days or weeks: "14d", "2w") and ``cap`` (contacts per window: "3/30d"), both
one line of text in every face.

This module imports no data library: ``lookalike --help`` builds its options from it.

>>> o = AudienceOptions(size="10%", exclude_vips=True)
>>> o.seeds, o.size, o.k, o.exclude_vips
('vip', '10%', 100, True)
>>> AudienceOptions(k=0)
Traceback (most recent call last):
lookalike.errors.ParameterError: k must be a whole number >= 1, got 0
>>> [f.name for f in option_fields("api")][:3]
['seeds', 'size', 'scorer']
>>> parse_duration("2w"), parse_cap("3/30d")
(datetime.timedelta(days=14), (3, datetime.timedelta(days=30)))
"""

from __future__ import annotations

import dataclasses
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from lookalike.errors import ParameterError

__all__ = ["CONTACT_OPTIONS", "FACES", "FILTER_COLUMNS", "KINDS", "OBJECTIVES", "VALUE_COLUMNS", "AudienceOptions",
           "choices", "option_fields", "parse_cap", "parse_duration"]

#: Columns a value-aware ranking may use.
VALUE_COLUMNS = ("total_spent", "avg_ticket")
#: Columns the include-filters may use.
FILTER_COLUMNS = ("region", "fav_category", "signup_channel", "promo_channel")
#: What the rank follows: similarity to the seeds, predicted uplift, or both.
OBJECTIVES = ("similarity", "uplift", "blend")
#: The faces that offer the options (the web form fills the API's model).
FACES = ("cli", "api", "playbook")
KINDS = ("seeds", "size", "choice", "int", "float", "flag", "ids", "filters", "rule", "text", "duration", "cap")
#: The options that read the contact history of the campaign store (the expansion needs ``contacts=``).
CONTACT_OPTIONS = ("exclude_contacted_within", "max_contacts")

# whole numbers from 1 (a window of 0 days or a cap of 0 contacts means nothing)
_DURATION = re.compile(r"^\s*(0*[1-9]\d*)\s*([dw])\s*$", re.IGNORECASE)
_CAP = re.compile(r"^\s*(0*[1-9]\d*)\s*/\s*(0*[1-9]\d*\s*[dw])\s*$", re.IGNORECASE)

_NO_UPLIFT_MODEL = "needs an uplift model (lookalike uplift fit), which only lookalike expand --uplift-model loads"


def _scorers() -> tuple[str, ...]:
    from lookalike.audience.scoring import SCORERS  # lazy: numpy and the index, only when the list is needed

    return tuple(SCORERS)


def _option(default: Any, help: str, kind: str, *, choices: Sequence[str] | Any = None,
            bounds: tuple[float, float] | None = None, cli: str | None = None,
            off: Mapping[str, str] | None = None) -> Any:
    """A field with its description and how the faces offer it (see the module docstring)."""
    assert kind in KINDS, kind
    return field(default=default, metadata={"help": help, "kind": kind, "choices": choices, "bounds": bounds,
                                            "cli": cli, "off": dict(off or {})})


@dataclass(frozen=True)
class AudienceOptions:
    """The options of one audience expansion (see the module docstring and docs/audiences.md)."""

    seeds: object = _option("vip", "Seeds: 'vip', customer ids, an id file, or a rule like 'vip_score >= 0.8' or "
                                   "'total_spent top 5%'", "seeds")
    size: object = _option("5%", "Audience size: a count (5000), a share (0.05) or a percentage (5%)", "size")
    scorer: str | None = _option(None, "Scoring rule: auto (candidates validated on the seeds, the leaders "
                                       "combined), seed_share, seed_distance, classifier, gbm, value or rule "
                                       "(default: the model's, auto)", "choice", choices=_scorers)
    seed_order: object = _option(None, "Column with the seeds' order in time (a date, or successive groups): auto "
                                       "then validates forward, on the newest seeds", "text")
    value_column: str | None = _option(None, "Numeric column of the value candidate (default: total_spent when the "
                                             "table has it)", "text")
    k: int = _option(100, "Neighbours per customer counted by the seed_share scorer", "int", bounds=(1, 1000))
    negative_seeds: object = _option(None, "Seeds to stay away from (same forms as the seeds)", "seeds")
    negative_weight: float = _option(1.0, "How strongly looking like the negative seeds lowers a customer's "
                                          "similarity", "float", bounds=(0, 10))
    learn_weights: bool = _option(True, "Weight features by how differently the seeds are distributed from the "
                                        "base", "flag")
    include_seeds: bool = _option(False, "Keep the seeds in the audience (ranked first)", "flag")
    include_ids: Iterable[str] | None = _option(None, "Only these customers may enter the audience", "ids")
    exclude_vips: bool = _option(False, "Leave existing VIPs out", "flag")
    exclude_opted_out: bool = _option(True, "Leave out customers whose promo_channel is none (opted out)", "flag",
                                      cli="--exclude-opted-out/--keep-opted-out")
    suppress: Iterable[str] | None = _option(None, "Customer ids never to include", "ids")
    filters: Mapping[str, Sequence[str]] | None = _option(
        None, "Only customers with these values: column=value, for region, fav_category, signup_channel or "
              "promo_channel", "filters", choices=FILTER_COLUMNS)
    candidate_rule: object = _option(None, "Only customers matching this rule, e.g. 'recency_ratio >= 1.5'", "rule")
    value: str | None = _option(None, "Rank by similarity × value percentile of total_spent or avg_ticket", "choice",
                                choices=VALUE_COLUMNS)
    value_weight: float = _option(0.5, "Weight of the value percentile in the rank (0 to 1)", "float", bounds=(0, 1))
    random_state: int = _option(0, "Seed of the random choices (base sample, diagnostics)", "int",
                                bounds=(0, 2**31 - 1))
    exclude_contacted_within: str | None = _option(
        None, "Leave out customers contacted in this many days or weeks before now, e.g. 14d or 2w (contact history "
              "of the campaign store)", "duration")
    max_contacts: str | None = _option(
        None, "Leave out customers already at this many contacts in the window, e.g. 3/30d (contact history of the "
              "campaign store)", "cap")
    objective: str = _option("similarity", "Rank by similarity, uplift (predicted incremental response) or blend "
                                           "(similarity × uplift)", "choice", choices=OBJECTIVES,
                             off={"api": _NO_UPLIFT_MODEL, "playbook": _NO_UPLIFT_MODEL})

    def __post_init__(self) -> None:
        k = self.k
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ParameterError(f"k must be a whole number >= 1, got {k!r}")
        if self.scorer is not None and self.scorer not in _scorers():
            raise ParameterError(f"unknown scorer {self.scorer!r}; choose one of {', '.join(_scorers())}")
        if self.value is not None and self.value not in VALUE_COLUMNS:
            raise ParameterError(f"value must be one of {', '.join(VALUE_COLUMNS)} (or None), got {self.value!r}")
        if not 0 <= float(self.value_weight) <= 1:
            raise ParameterError(f"value_weight must be between 0 and 1, got {self.value_weight!r}")
        if self.objective not in OBJECTIVES:
            raise ParameterError(f"objective must be one of {', '.join(OBJECTIVES)}, got {self.objective!r}")
        if self.exclude_contacted_within is not None:
            parse_duration(self.exclude_contacted_within)
        if self.max_contacts is not None:
            parse_cap(self.max_contacts)

    @classmethod
    def build(cls, options: AudienceOptions | None = None, *, seeds: object = None, size: object = None,
              **values: Any) -> AudienceOptions:
        """``options`` (or the defaults) with ``seeds``/``size`` when given and every keyword in ``values``.

        An unknown keyword is a :class:`~lookalike.errors.ParameterError` naming the known ones.
        """
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ParameterError(f"unknown audience option(s) {', '.join(unknown)}; the options are "
                                 f"{', '.join(f.name for f in dataclasses.fields(cls))}")
        given = {**({"seeds": seeds} if seeds is not None else {}), **({"size": size} if size is not None else {}),
                 **values}
        return dataclasses.replace(options, **given) if options is not None else cls(**given)


def option_fields(face: str | None = None, options: type = AudienceOptions) -> tuple[dataclasses.Field, ...]:
    """The fields of ``options``, in order; with ``face``, those that face offers."""
    if face is not None and face not in FACES:
        raise ParameterError(f"unknown face {face!r}; one of {', '.join(FACES)}")
    return tuple(f for f in dataclasses.fields(options) if face is None or face not in f.metadata.get("off", {}))


def choices(f: dataclasses.Field) -> tuple[str, ...]:
    """The allowed values of a ``choice`` or ``filters`` field (empty for other kinds)."""
    c = f.metadata.get("choices")
    return tuple(c() if callable(c) else c or ())


def parse_duration(text: object, option: str = "exclude_contacted_within") -> timedelta:
    """A window of whole days or weeks: ``"14d"``, ``"2w"`` (at least one day).

    >>> parse_duration("14d").days, parse_duration(" 2W ").days
    (14, 14)
    >>> parse_duration("14")
    Traceback (most recent call last):
    lookalike.errors.ParameterError: exclude_contacted_within must be a number of days or weeks such as 14d or 2w, got '14'
    """
    m = _DURATION.match(text) if isinstance(text, str) else None
    if m is None:
        raise ParameterError(f"{option} must be a number of days or weeks such as 14d or 2w, got {text!r}")
    n = int(m.group(1))
    return timedelta(days=n * (7 if m.group(2).lower() == "w" else 1))


def parse_cap(text: object, option: str = "max_contacts") -> tuple[int, timedelta]:
    """A contact cap ``"N/WINDOW"``: at most N contacts in the window (``"3/30d"``, ``"1/1w"``).

    >>> parse_cap("3 / 4w")
    (3, datetime.timedelta(days=28))
    >>> parse_cap("3")
    Traceback (most recent call last):
    lookalike.errors.ParameterError: max_contacts must be contacts per window such as 3/30d (3 contacts in 30 days) or 1/1w, got '3'
    """
    m = _CAP.match(text) if isinstance(text, str) else None
    if m is None:
        raise ParameterError(f"{option} must be contacts per window such as 3/30d (3 contacts in 30 days) or 1/1w, "
                             f"got {text!r}")
    return int(m.group(1)), parse_duration(m.group(2), option)
