"""Audience expansion: from a seed set to a ranked, explained audience of an exact size.

Order of work in :func:`build_audience`:

1. resolve the seed set(s) (VIPs, ids, rule; several sets with weights) and the
   optional negative seeds;
2. diagnose the seeds (size, tightness, distinctive features, outliers);
3. score every customer with :func:`lookalike.audience.scoring.score_audience` — the one scoring
   path, also used by the backtest: feature weights learned from the seeds, then the chosen
   scorer, or ``auto`` (candidates validated on the seeds, leaders combined);
4. drop non-candidates, counting each rule: seeds, negative seeds, VIPs, opted-out
   customers (``promo_channel == none``), a suppression list, include-filters
   (region, category, channel), a candidate rule and the contact rules (contacted
   recently, at the contact cap: :mod:`lookalike.audience.contacts`), which filter
   after scoring: nothing else in the rank depends on the contact history;
5. rank by similarity (optionally × value percentile; or by predicted uplift, see
   :func:`objective_score`), break ties on the scorer's tie-break then on customer id,
   and cut at exactly ``size`` rows;
6. explain each member and profile the audience against seeds and base.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lookalike.audience.auto import order_values
from lookalike.audience.candidates import one_openmp_thread
from lookalike.audience.contacts import ContactRules, contact_exclusions, require_history, utc_timestamp
from lookalike.audience.explain import (SEED_MARK, describe, distance_reference, feature_lists, resemblance,
                                        similarity_reference)
from lookalike.audience.explain import explain as explain_rows
from lookalike.audience.options import FILTER_COLUMNS, OBJECTIVES, VALUE_COLUMNS, AudienceOptions  # noqa: F401 (re-exported)
from lookalike.audience.scoring import (
    DEFAULT_K,
    check_scorer,
    feature_groups,
    score_audience,
    scoring_data,
    weighted,
)
from lookalike.audience.seeds import (
    SeedDiagnostics,
    check_id_list,
    diagnose_seeds,
    flag_set,
    rule_literal_warnings,
    rule_mask,
    select_seeds,
)
from lookalike.cleaning.ids import canonical_ids
from lookalike.features import DERIVED, derive_features, to_number
from lookalike.errors import InputError, ParameterError, ResultWarning

if TYPE_CHECKING:  # pragma: no cover
    from lookalike.finder import LookalikeFinder

REACH_SHARES = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.10, 0.15, 0.20)
_PCT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


@dataclass(frozen=True)
class SeedSet:
    """One seed source with a weight (several can be combined)."""

    spec: object
    weight: float = 1.0
    name: str = ""


@dataclass(frozen=True)
class AudienceResult:
    """A built audience and everything needed to trust, reproduce and activate it."""

    audience: pd.DataFrame
    diagnostics: SeedDiagnostics
    reach: pd.DataFrame
    profile: pd.DataFrame
    sensitive: pd.DataFrame
    counts: dict[str, int]
    params: dict
    seed_ids: list[str]
    warnings: list[ResultWarning] = field(default_factory=list)


def parse_size(size: object, n_base: int) -> int:
    """An audience size as a count: ``5000``, ``0.05`` (share of the base) or ``"5%"``.

    >>> parse_size("5%", 100_000), parse_size(0.01, 100_000), parse_size(250, 100_000)
    (5000, 1000, 250)
    """
    if isinstance(size, bool):
        raise ParameterError(f"size must be a count, a share or a percentage, got {size!r}")
    if isinstance(size, str):
        m = _PCT.match(size)
        if m:
            share = float(m.group(1)) / 100
            if not 0 < share <= 1:
                raise ParameterError(f"size {size!r} must be between 0% and 100%")
            return max(1, int(round(share * n_base)))
        try:
            size = float(size) if "." in size else int(size)
        except ValueError:
            raise ParameterError(f"size {size!r} must be a count (5000), a share (0.05) or a percentage ('5%')") from None
    if isinstance(size, float):
        if not math.isfinite(size) or size <= 0:
            raise ParameterError(f"size must be positive, got {size!r}")
        if size <= 1:
            return max(1, int(round(size * n_base)))
        if not size.is_integer():
            raise ParameterError(f"size {size!r}: a count must be a whole number, a share must be <= 1")
        size = int(size)
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ParameterError(f"size must be a positive count, a share (0.05) or a percentage ('5%'), got {size!r}")
    return int(size)


def _seed_sets(seeds: object) -> list[SeedSet]:
    if isinstance(seeds, (list, tuple)) and seeds and all(isinstance(s, SeedSet) for s in seeds):
        return list(seeds)
    return [SeedSet(seeds)]


def _set_name(s: SeedSet) -> str:
    """A stable name for a seed set: its own name, ``vip``, the rule as text, or the id list's digest."""
    spec = s.spec
    if s.name:
        return s.name
    if isinstance(spec, str):
        return spec
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(c, Mapping) for c in spec):
        return " and ".join(f"{c.get('column')} {c.get('op')} {c.get('value')}" for c in spec)
    ids = sorted(str(i) for i in spec) if isinstance(spec, Iterable) else [repr(spec)]
    return f"ids:{len(ids)}:{hashlib.sha256(chr(10).join(ids).encode()).hexdigest()[:12]}"


def seed_set_names(seeds: object) -> list[str]:
    """The names recorded in the manifest for a seed spec (``vip``, a rule's text, ``ids:N:digest``).

    Two audiences built from the same kind of seeds have the same names: ``auto`` validates on an
    earlier campaign's outcomes only when its seed sets match.

    >>> seed_set_names("vip"), seed_set_names([{"column": "total_spent", "op": "top_pct", "value": 5}])
    (['vip'], ['total_spent top_pct 5'])
    """
    return [_set_name(s) for s in _seed_sets(seeds)]


def _seed_weights(customers: pd.DataFrame, seeds: object) -> tuple[np.ndarray, list[str]]:
    """Per-customer seed weight (0 = not a seed) from one spec or several ``SeedSet``."""
    sets = _seed_sets(seeds)
    w = np.zeros(len(customers))
    for s in sets:
        if not (isinstance(s.weight, (int, float)) and s.weight > 0):
            raise ParameterError(f"seed set weight must be > 0, got {s.weight!r}")
        w[select_seeds(customers, s.spec).to_numpy(dtype=bool)] += float(s.weight)  # no n-row float temporary
    return w, [_set_name(s) for s in sets]


def _funnel(finder: "LookalikeFinder", seed_w: np.ndarray, o: AudienceOptions, contacts: object = None,
            rules: ContactRules | None = None, contacts_as_of: object = None,
            ) -> tuple[np.ndarray, dict[str, int], np.ndarray, ResultWarning | None, np.ndarray]:
    """The candidates (a mask) and the count of every exclusion, in order; the negative seeds'
    positions, the suppression list's warning and the customers the ranking is among (the candidates
    before the contact rules, which filter the ranking but do not shape it)."""
    customers = finder.customers_
    n = len(customers)
    cand = np.ones(n, dtype=bool)
    counts: dict[str, int] = {"base": n}
    suppress_warning = None

    def exclude(label: str, mask: np.ndarray) -> None:
        hit = cand & mask
        counts[label] = int(hit.sum())
        cand[hit] = False

    if not o.include_seeds:
        exclude("excluded: seeds", seed_w > 0)
    if o.include_ids is not None:
        keep = canonical_ids(o.include_ids)
        exclude("filtered: not in the include list", ~finder.ids_.isin(keep))
    neg_pos = np.array([], dtype=np.int64)
    if o.negative_seeds is not None:
        neg_mask = select_seeds(customers, o.negative_seeds).to_numpy()
        neg_pos = np.flatnonzero(neg_mask & (seed_w == 0))
        exclude("excluded: negative seeds", neg_mask)
    if o.exclude_vips and "vip_flag" in customers:
        exclude("excluded: VIPs", flag_set(customers["vip_flag"]))
    if o.exclude_opted_out and "promo_channel" in customers:
        exclude("excluded: opted out (promo_channel none)", _text_isin(customers["promo_channel"], ["none"]))
    if o.suppress is not None:
        sup = canonical_ids(o.suppress)
        exclude("excluded: suppression list", finder.ids_.isin(sup))
        suppress_warning = check_id_list(sup, finder.ids_, what="suppression list", known_canonical=True)
    for col, allowed in (o.filters or {}).items():
        if col not in customers.columns:
            raise ParameterError(f"filter column {col!r} is not in the customer table; use one of {', '.join(FILTER_COLUMNS)}")
        values = [allowed] if isinstance(allowed, str) else list(allowed)
        exclude(f"filtered: {col} not in {', '.join(map(str, values))}", ~_text_isin(customers[col], values))
    if o.candidate_rule:
        exclude("filtered: candidate rule", ~rule_mask(customers, o.candidate_rule).to_numpy())
    # the contact rules filter the ranking, they do not shape it: value percentiles rank among these
    ranked_among = cand.copy()
    if rules is not None:
        for label, mask in contact_exclusions(finder.ids_, contacts, rules, contacts_as_of):
            exclude(label, mask)
    counts["candidates"] = int(cand.sum())
    return cand, counts, neg_pos, suppress_warning, ranked_among


def audience_funnel(finder: "LookalikeFinder", seeds: object, *, contacts: object = None,
                    as_of: datetime | None = None, **options: object) -> dict[str, int]:
    """The funnel of an audience (base, every exclusion and filter, the contact rules, candidates)
    without scoring anyone; ``contacts`` and ``as_of`` as in :func:`build_audience`."""
    o = AudienceOptions.build(None, seeds=seeds, **options)
    rules = ContactRules.parse(o.exclude_contacted_within, o.max_contacts)
    require_history(rules, contacts)
    as_of_ts = utc_timestamp(as_of if as_of is not None else datetime.now(timezone.utc))
    return _funnel(finder, _seed_weights(finder.customers_, o.seeds)[0], o, contacts, rules, as_of_ts)[1]


def build_audience(
    finder: "LookalikeFinder",
    seeds: object = None,
    size: object = None,
    *,
    options: AudienceOptions | None = None,
    explain: bool = True,
    uplift: np.ndarray | None = None,
    contacts: object = None,
    as_of: datetime | None = None,
    campaign_outcomes: pd.DataFrame | None = None,
    **kwargs: object,
) -> AudienceResult:
    """Score every customer against the seeds and return the top ``size`` candidates, explained.

    The options are an :class:`~lookalike.audience.options.AudienceOptions` (``options``), or its
    fields as keywords (``build_audience(finder, "vip", "5%", exclude_vips=True)``); ``seeds`` and
    ``size`` override the options' own. See the module docstring for the order of work; every option
    is recorded in ``params``. ``objective`` ``"uplift"`` or ``"blend"`` ranks by ``uplift`` (predicted
    incremental response per customer, aligned with the fitted table, e.g. from an uplift model) — see
    :func:`objective_score`. ``explain=False`` leaves the reasons out (faster: the UI's reach slider).
    ``contacts`` is the contact history the options ``exclude_contacted_within`` and ``max_contacts``
    read: an engine of the campaign store or a frame of ``customer_id, contacted_at``; windows end at
    ``as_of`` (default: now). See :mod:`lookalike.audience.contacts`. ``seed_order`` (a column of the
    table, e.g. a date, or one value per customer) is the seeds' order in time: ``auto`` then validates
    forward. ``campaign_outcomes`` (``customer_id`` and ``converted``: the contacted customers of an
    earlier campaign from the same kind of seeds) lets ``auto`` validate on real responders.
    """
    o = AudienceOptions.build(options, seeds=seeds, size=size, **kwargs)
    rules = ContactRules.parse(o.exclude_contacted_within, o.max_contacts)
    require_history(rules, contacts)
    contacts_as_of = utc_timestamp(as_of if as_of is not None else datetime.now(timezone.utc))
    finder._check_fitted()
    customers = finder.customers_
    n = len(customers)
    ids = finder.ids_  # Arrow-backed: positions are taken from it (all 10M ids as Python strings: 3 s)
    scorer_asked = check_scorer(o.scorer or getattr(finder, "scorer", "auto") or "auto")
    k = o.k
    target = parse_size(o.size, n)

    specs = [s.spec for s in o.seeds] if isinstance(o.seeds, (list, tuple)) and o.seeds and all(
        isinstance(s, SeedSet) for s in o.seeds) else [o.seeds]
    literal = [w for spec in (*specs, o.negative_seeds, o.candidate_rule)
               for w in rule_literal_warnings(customers, spec)]
    seed_w, seed_names = _seed_weights(customers, o.seeds)
    seed_pos = np.flatnonzero(seed_w > 0)
    if len(seed_pos) == 0:
        raise InputError("the seed set is empty: no customer matches it; check the rule or the id list"
                         + "".join(f" ({w})" for w in literal), code="seeds_empty")
    if len(seed_pos) >= n:
        raise InputError(f"the seed set is the whole base ({n:,} customers); there is nobody left to find — "
                         "narrow the seeds", code="seeds_whole_base", customers=n)
    weights_s = seed_w[seed_pos]
    group_names, group_idx = feature_groups(finder.feature_names_, finder.spec_.categorical)
    X = finder.X_
    # the seed diagnostics (a neighbour search among the seeds: a second or two at 60k seeds) run
    # beside the scoring, whose validation fits on one thread; FAISS and numpy release the GIL. One OpenMP
    # thread: the scoring keeps the other core busy, and two would spin-wait on it
    pool = ThreadPoolExecutor(1, initializer=one_openmp_thread)
    try:
        diagnosing = pool.submit(diagnose_seeds, X, seed_pos, ids, group_names, group_idx, seed_weight=weights_s,
                                 random_state=o.random_state)
        data = scoring_data(X, finder.feature_names_, finder.spec_, customers, k=k, learn_weights=o.learn_weights,
                            random_state=o.random_state, value_column=o.value_column, values=finder.value_ranks)
        order = _seed_order(customers, o.seed_order)
        outcomes = _outcome_rows(finder, campaign_outcomes) if campaign_outcomes is not None else None

        cand, counts, neg_pos, suppress_warning, ranked_among = _funnel(finder, seed_w, o, contacts, rules,
                                                                        contacts_as_of)
        later = []
        if o.suppress is not None and suppress_warning is not None:
            later.append(suppress_warning)
        size_eff = min(target, counts["candidates"])
        if size_eff < target:
            later.append(_too_few(counts["candidates"], target))
        if size_eff == 0:
            raise InputError("no customer qualifies for the audience after exclusions and filters; relax them",
                             code="no_candidates")

        scores = score_audience(data, seed_pos, scorer=scorer_asked, seed_weight=weights_s, seed_order=order,
                                outcomes=outcomes)
        diagnostics = diagnosing.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    warnings = [*diagnostics.warnings, *literal, *later]
    col_w = scores.weights
    Xw = weighted(X, col_w)
    similarity = scores.similarity
    if o.include_seeds:  # seeds that stay candidates (e.g. retention of VIPs) rank first
        similarity = np.where(seed_w > 0, 1.0, similarity)
    params_neg: dict = {}
    if len(neg_pos):
        # negative seeds: the seed-vs-base probability of looking like them (a probability, not a rank)
        neg_scorer = scorer_asked if scorer_asked in ("seed_share", "seed_distance", "classifier", "gbm") else "classifier"
        neg = score_audience(data, neg_pos, scorer=neg_scorer)
        similarity = similarity * (1.0 - neg.similarity) ** float(o.negative_weight)
        params_neg = {"negative_seeds": int(len(neg_pos)), "negative_weight": float(o.negative_weight),
                      "negative_scorer": neg_scorer}
    rank_score = similarity.copy()
    if o.value is not None:
        v = to_number(customers[o.value]).to_numpy(dtype=float)
        pct = pd.Series(np.where(ranked_among, v, np.nan)).rank(pct=True).fillna(0).to_numpy()
        rank_score = similarity * pct ** float(o.value_weight)
    rank_score = objective_score(rank_score, uplift, o.objective, n)
    order_score = rank_score
    if o.include_seeds:
        # the seeds rank first, in their own order: auto's rank-averaged similarity reaches 1.0 for the
        # top customers too, so a similarity of 1.0 alone would let value-weighted lookalikes pass seeds
        order_score = np.where(seed_w > 0, rank_score + 2.0 * (np.abs(rank_score).max() + 1.0), rank_score)

    cand_pos = np.flatnonzero(cand)
    ranked = cand_pos[rank_order(order_score[cand_pos], scores.tiebreak[cand_pos], ids[cand_pos],
                                 head=max(size_eff, int(round(REACH_SHARES[-1] * n))))]
    chosen = ranked[:size_eff]

    reach = reach_table(similarity[ranked], n)
    audience = customers.iloc[chosen].drop(columns=[c for c in ("notes",) if c in customers], errors="ignore")
    audience = audience.drop(columns=[c for c in audience.columns if c.startswith("consent_")
                                      or c in ("email", "phone", "first_name", "last_name", "zip", "country")])
    audience.insert(1, "rank", np.arange(1, len(chosen) + 1))
    audience.insert(2, "similarity", np.round(similarity[chosen], 6))
    if uplift is not None and o.objective != "similarity":
        audience.insert(3, "predicted_uplift", np.round(np.asarray(uplift, dtype=float)[chosen], 6))
    if o.value is not None or o.objective != "similarity":
        audience.insert(3, "rank_score", np.round(rank_score[chosen], 6))
    profile = audience_profile(customers, seed_pos, chosen, finder.spec_, base=finder.base_profile())
    reference = similarity_reference(scores.similarity, seed_pos)
    distance_ref = None
    if explain:
        table, features = explain_rows(Xw, seed_pos, chosen, group_names, group_idx, random_state=o.random_state)
        distance_ref = distance_reference(Xw, seed_pos, group_idx, len(group_names), random_state=o.random_state)
        levels = resemblance(table["distance2"].to_numpy(), distance_ref)
        lists = feature_lists(features)
        if o.include_seeds:  # a seed kept in the audience is there because it is one
            kept = seed_w[chosen] > 0
            levels, lists = np.where(kept, "seed", levels), np.where(kept, SEED_MARK, lists)
        audience.insert(3, "reason", _texts(describe(audience, features, profile, levels=levels,
                                                     seeds=seed_kind(seed_names))))
        audience.insert(4, "reason_features", _texts(lists))
        audience.insert(5, "resemblance", _texts(levels))
    audience = audience.reset_index(drop=True)
    counts["audience"] = len(audience)
    params = {
        "scorer": scores.scorer, "scorer_asked": scorer_asked, **scores.params, "k": int(k), "size": target,
        "learn_weights": bool(o.learn_weights), "seed_order": o.seed_order if isinstance(o.seed_order, str) else (
            None if o.seed_order is None else "values"), "value_column": data.value_column,
        "include_seeds": o.include_seeds, "exclude_vips": o.exclude_vips,
        "exclude_opted_out": o.exclude_opted_out, "filters": dict(o.filters or {}),
        "candidate_rule": list(o.candidate_rule or []), "value": o.value,
        "value_weight": float(o.value_weight) if o.value else None, "seed_sets": seed_names, **params_neg,
        "random_state": o.random_state, "objective": o.objective, "similarity_reference": reference,
        "distance_reference": distance_ref,
        **rules.to_dict(),
    }
    if rules:
        params["contacts_as_of"] = contacts_as_of.isoformat()
    if col_w is not None:
        params["feature_weights"] = {g: round(float(col_w[group_idx == i][0]), 4) for i, g in enumerate(group_names)}
    if scores.validation is not None:
        params["validation"] = scores.validation.to_dict()
        warnings.extend(scores.validation.warnings)
    return AudienceResult(
        audience=audience,
        diagnostics=diagnostics,
        reach=reach,
        profile=profile,
        sensitive=sensitive_profile(customers, chosen, finder.spec_.sensitive),
        counts=counts,
        params=params,
        seed_ids=[str(i) for i in ids[seed_pos]],
        warnings=warnings,
    )


def combine_audiences(finder: "LookalikeFinder", results: Sequence[AudienceResult], size: int, *,
                      by: str, funnel: dict[str, int]) -> AudienceResult:
    """One audience from audiences built per group (a playbook's ``per``: each category's seeds and
    candidates apart): members ranked by how much they resemble their own group's seeds (similarity over
    that group's similarity reference), then by id, and cut at ``size``. ``funnel`` is the whole's
    (:func:`audience_funnel` with the seeds and candidate rule of every group); candidates of no group
    (a value without seeds) are counted as filtered so the funnel adds up. Profile and seed diagnostics
    are made again on the whole."""
    if not results:
        raise InputError(f"no group of {by} has seeds and candidates; check the playbook's rules")
    parts = [r.audience.assign(_relative=r.audience["similarity"] / (r.params.get("similarity_reference") or 1.0))
             for r in results]
    audience = (pd.concat(parts, ignore_index=True)
                .sort_values(["_relative", "customer_id"], ascending=[False, True], kind="stable").head(size)
                .drop(columns="_relative").reset_index(drop=True))
    audience["rank"] = np.arange(1, len(audience) + 1)
    ids = pd.Index(finder.ids_)
    seed_ids = [i for r in results for i in r.seed_ids]
    seed_pos = np.flatnonzero(ids.isin(seed_ids))
    chosen = ids.get_indexer(audience["customer_id"].astype(str))
    grouped = sum(int(r.counts["candidates"]) for r in results)
    counts = {k: v for k, v in funnel.items() if k != "candidates"}
    counts[f"filtered: {by} without seeds"] = int(funnel["candidates"]) - grouped
    counts.update(candidates=grouped, audience=len(audience))
    group_names, group_idx = feature_groups(finder.feature_names_, finder.spec_.categorical)
    diagnostics = diagnose_seeds(finder.X_, seed_pos, finder.ids_, group_names, group_idx)
    params = {**results[0].params, "per": by, "similarity_reference": None, "size": int(size),
              "groups": {str(r.params.get("group")): int(len(r.audience)) for r in results}}
    # one warning per kind (the groups' diagnostics say the same thing with their own numbers)
    warnings = list({w.code if isinstance(w, ResultWarning) else w: w for r in results for w in r.warnings}.values())
    return AudienceResult(audience=audience, diagnostics=diagnostics, reach=results[0].reach.iloc[:0],
                          profile=audience_profile(finder.customers_, seed_pos, chosen, finder.spec_,
                                                   base=finder.base_profile()),
                          sensitive=sensitive_profile(finder.customers_, chosen, finder.spec_.sensitive),
                          counts=counts, params=params, seed_ids=seed_ids, warnings=warnings)


def seed_kind(seed_sets: Sequence[str]) -> str:
    """``"vip"`` when the seeds are the VIPs (the reasons then say "the VIPs"), else ``"other"``.

    >>> seed_kind(["vip"]), seed_kind(["vip", "ids.csv"])
    ('vip', 'other')
    """
    return "vip" if list(seed_sets) == ["vip"] else "other"


def objective_score(score: np.ndarray, uplift: np.ndarray | None, objective: str, n: int) -> np.ndarray:
    """The rank score of an objective: ``similarity`` (the score as is), ``uplift`` (the predicted
    incremental response alone; similarity and value no longer rank) or ``blend`` (score × predicted
    uplift: like the seeds *and* moved by the message; a negative uplift stays negative, so customers a
    message puts off rank last).

    >>> objective_score(np.array([0.9, 0.5]), np.array([0.01, 0.04]), "blend", 2).round(3).tolist()
    [0.009, 0.02]
    """
    if objective not in OBJECTIVES:
        raise ParameterError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if objective == "similarity":
        return score
    if uplift is None:
        raise ParameterError(f"objective {objective!r} needs predicted uplift per customer (an uplift model: "
                             "lookalike uplift fit, then --uplift-model DIR)")
    u = np.asarray(uplift, dtype=float)
    if u.shape != (n,) or not np.isfinite(u).all():
        raise ParameterError(f"uplift must hold one finite number per customer ({n:,}), got shape {u.shape}")
    return u if objective == "uplift" else score * u


def rank_order(score: np.ndarray, tiebreak: np.ndarray, ids: np.ndarray | pd.Index,
               head: int | None = None) -> np.ndarray:
    """Order by score (high first), then tiebreak (low first), then id — without sorting every id.

    Sorting 10M string ids takes minutes; ties on both numeric keys are rare, so the numbers
    are sorted first and ids only order the tied groups that start within the first ``head``
    positions (all of them without ``head``). Same order as ``np.lexsort((ids, tiebreak, -score))``
    wherever it is used (the top ``head``). With ``head`` only the rows scoring at least the
    ``head``-th best score are ordered and returned (a partition first: sorting every row took
    seconds at 10M, and an audience and its reach table use the head only).

    >>> rank_order(np.array([0.5, 0.9, 0.5, 0.5]), np.array([1.0, 0.0, 1.0, 0.2]), np.array(["b", "z", "a", "c"]))
    array([1, 3, 2, 0])
    """
    rows = None
    if head is not None and head < len(score):
        kth = np.partition(-score, head - 1)[head - 1]
        if not np.isnan(kth):  # every row that can be in the head, ties with its last included
            rows = np.flatnonzero(-score <= kth)
            score, tiebreak, ids, head = score[rows], tiebreak[rows], ids[rows], None
    order = np.lexsort((tiebreak, -score))
    s, t = score[order], tiebreak[order]
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = (s[1:] != s[:-1]) | (t[1:] != t[:-1])
    group = np.cumsum(new_group) - 1
    sizes = np.bincount(group)
    tied = sizes[group] > 1
    if head is not None:
        tied &= np.flatnonzero(new_group)[group] < head  # the group starts within the head
    if tied.any():
        pos = np.flatnonzero(tied)
        sub = np.lexsort((np.asarray(ids[order[pos]], dtype=object).astype(str), group[pos]))
        order[pos] = order[pos[sub]]
    return order if rows is None else rows[order]


def _seed_order(customers: pd.DataFrame, seed_order: object) -> np.ndarray | None:
    """The seeds' order in time as one float per customer (NaN unknown), from a column name or values."""
    if seed_order is None:
        return None
    if isinstance(seed_order, str):
        if seed_order not in customers.columns:
            raise ParameterError(f"seed order column {seed_order!r} is not in the customer table; name a column of "
                                 "dates or numbers (e.g. signup_date)")
        values = order_values(customers[seed_order])
    else:
        values = np.asarray(seed_order, dtype=np.float64)
        if values.shape != (len(customers),):
            raise ParameterError(f"seed_order must be a column name or one value per customer "
                                 f"({len(customers):,}), got shape {values.shape}")
    if np.isnan(values).all():
        raise InputError(f"seed order {seed_order if isinstance(seed_order, str) else ''!s} holds no date or "
                         "number; name a column of dates or numbers")
    return values


def _outcome_rows(finder: "LookalikeFinder", outcomes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(responder rows, other contacted rows) of an earlier campaign, by customer id (unknown ids ignored)."""
    missing = {"customer_id", "converted"} - set(outcomes.columns)
    if missing:
        raise InputError(f"campaign outcomes need columns customer_id and converted; missing {', '.join(sorted(missing))}")
    pos = finder.ids_.get_indexer(canonical_ids(outcomes["customer_id"]))
    conv = to_number(outcomes["converted"]).fillna(0).to_numpy() > 0
    known = pos >= 0
    return np.unique(pos[known & conv]), np.unique(pos[known & ~conv])


def _texts(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``values.astype(str)`` as the text column pandas makes of it, without numpy's fixed-width copy
    on the way (500k reasons: 1.7 s and ~300 MB, against 0.05 s). A missing value is written as
    ``astype(str)`` writes it (``"None"``, ``"nan"``), not left missing."""
    values = np.asarray(values, dtype=object)
    if pd.isna(values).any():
        values = values.astype(str)
    return pd.array(values, dtype="str")


def reach_table(sorted_similarity: np.ndarray, n_base: int, shares: Sequence[float] = REACH_SHARES) -> pd.DataFrame:
    """Audience size against similarity: mean and minimum similarity of the top N, for N as shares of the base."""
    csum = np.cumsum(sorted_similarity)
    rows = []
    for share in shares:
        size = int(round(share * n_base))
        if 1 <= size <= len(sorted_similarity):
            rows.append({"share_of_base": share, "size": size, "mean_similarity": csum[size - 1] / size,
                         "min_similarity": float(sorted_similarity[size - 1])})
    return pd.DataFrame(rows, columns=["share_of_base", "size", "mean_similarity", "min_similarity"])


#: One row of a profile: (column, category or None for a numeric feature, its value over the base).
ProfileRow = tuple[str, "str | None", float]
#: Columns derive_features reads (frequency, avg_ticket): kept with the profiled ones.
_DERIVE_INPUTS = frozenset({"total_orders", "tenure_months", "total_spent"})


def _profile_rows(customers: pd.DataFrame, spec, pos: np.ndarray | None = None) -> pd.DataFrame:
    """The columns a profile reads, of the rows at ``pos`` (all rows: None), derived features added.

    Only those columns are taken: ``iloc`` of every column of 10M customers (text included) for the
    seeds and the audience cost 0.16 s; derived features are row-wise, so deriving after the take
    gives the same values."""
    keep = [c for c in customers.columns if c in spec.numeric or c in spec.categorical or c in _DERIVE_INPUTS]
    frame = customers[keep] if pos is None else customers[keep].iloc[pos]
    if any(c in DERIVED and c not in frame.columns for c in spec.numeric):
        frame = derive_features(frame)  # frequency: orders per month, as the features see it
    return frame


def _mean(values: pd.Series) -> float:
    # float64 first: the mean of an all-missing nullable Int64 column is pd.NA, not NaN
    return float(to_number(values).astype("float64").mean())


def base_profile(customers: pd.DataFrame, spec) -> tuple[ProfileRow, ...]:
    """The base column of :func:`audience_profile`: the mean of each numeric feature and the share
    of each category (in the order of their counts) over the whole table.

    It depends on the table alone, so a finder keeps it (:meth:`LookalikeFinder.base_profile`):
    0.3-0.5 s of every expansion at 10M customers."""
    base = _profile_rows(customers, spec)
    rows: list[ProfileRow] = [(c, None, _mean(base[c])) for c in spec.numeric if c in base.columns]
    for c in [c for c in spec.categorical if c in base.columns]:
        rows += [(c, cat, float(share)) for cat, share in _shares(base[c]).items()]
    return tuple(rows)


def audience_profile(customers: pd.DataFrame, seed_pos: np.ndarray, chosen: np.ndarray, spec,
                     base: tuple[ProfileRow, ...] | None = None) -> pd.DataFrame:
    """Mean of each numeric feature and share of each category, in seeds, audience and base.

    ``base``: :func:`base_profile` of ``customers`` when it is already known (a finder keeps it)."""
    base = base_profile(customers, spec) if base is None else base
    groups = {"seeds": _profile_rows(customers, spec, seed_pos), "audience": _profile_rows(customers, spec, chosen)}
    shares: dict[str, dict[str, pd.Series]] = {}
    rows = []
    for column, category, value in base:  # features and categories, not customers
        if category is None:
            rows.append({"feature": column, **{g: _mean(df[column]) for g, df in groups.items()}, "base": value})
            continue
        if column not in shares:
            shares[column] = {g: _shares(df[column]) for g, df in groups.items()}
        rows.append({"feature": f"{column}={category}",
                     **{g: float(s.get(category, 0.0)) for g, s in shares[column].items()}, "base": value})
    prof = pd.DataFrame(rows, columns=["feature", "seeds", "audience", "base"])
    prof["audience_vs_base"] = prof["audience"] / prof["base"].replace(0, np.nan)
    return prof


def sensitive_profile(customers: pd.DataFrame, chosen: np.ndarray, sensitive: Sequence[str]) -> pd.DataFrame:
    """Share of each value of the sensitive attributes (never features) in the audience against the base."""
    personal = {"customer_id", "notes", "email", "phone", "first_name", "last_name", "zip"}
    columns = [c for c in dict.fromkeys(("gender", *sensitive))
               if c in customers.columns and c not in personal and not c.startswith("consent_")]
    rows = []
    for c in columns:
        base = _shares(customers[c])
        aud = _shares(customers[c].iloc[chosen])
        rows += [{"attribute": c, "value": v, "audience": float(aud.get(v, 0.0)), "base": float(base[v])}
                 for v in base.index[:50]]  # categories, not customers
    out = pd.DataFrame(rows, columns=["attribute", "value", "audience", "base"])
    out["ratio"] = out["audience"] / out["base"].replace(0, np.nan)
    return out


def _text_isin(s: pd.Series, values: Sequence[str]) -> np.ndarray:
    """``s.astype(str).isin(values)`` as a boolean array; a categorical column is compared on its
    categories (writing 10M rows as text took seconds and gigabytes)."""
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return s.astype(str).isin(values).to_numpy(dtype=bool)
    hit = np.append(s.cat.categories.astype(str).isin(list(values)), False)  # last: a missing value
    codes = s.cat.codes.to_numpy()
    return hit[np.where(codes >= 0, codes, hit.size - 1)]


def _shares(s: pd.Series) -> pd.Series:
    """``s.astype(str).value_counts(normalize=True)``; a categorical column is counted on its codes.

    Same shares in the same order: most frequent first, ties in order of first appearance,
    missing values and absent categories left out.
    """
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return s.astype(str).value_counts(normalize=True)
    codes = s.cat.codes.to_numpy()
    codes = codes[codes >= 0]
    seen = pd.unique(codes)  # in order of first appearance
    counts = np.bincount(codes, minlength=len(s.cat.categories))[seen]
    order = np.argsort(-counts, kind="stable")
    names = np.asarray(s.cat.categories.astype(str), dtype=object)[seen[order]]
    return pd.Series(counts[order] / max(int(counts.sum()), 1), index=pd.Index(names, dtype="str", name=s.name),
                     name="proportion")


def _too_few(candidates: int, target: int) -> ResultWarning:
    return ResultWarning("too_few_candidates", f"only {candidates:,} customers qualify after exclusions and filters; "
                         f"the audience has {candidates:,} rows instead of {target:,}", candidates=candidates, size=target)


def cut_audience(result: AudienceResult, finder: "LookalikeFinder", size: object) -> AudienceResult | None:
    """The audience of ``size`` cut from ``result``, built with the same options at a larger size.

    An audience is the head of one ranking of the candidates, and the order of the first
    ``REACH_SHARES[-1]`` of the base does not depend on the size asked for: so the first rows
    of ``result`` are what :func:`build_audience` would return at ``size`` (a test compares
    them), with their profile, counts, size and warnings made again for that size. Returns
    None when ``result`` holds fewer rows than ``size`` needs.
    """
    import dataclasses

    n = result.counts["base"]
    target = parse_size(size, n)
    size_eff = min(target, result.counts["candidates"])
    if size_eff > len(result.audience):
        return None
    audience = result.audience.iloc[:size_eff].reset_index(drop=True)
    chosen = finder.ids_.get_indexer(audience["customer_id"].astype(str).to_numpy())
    seed_pos = finder.ids_.get_indexer(result.seed_ids)
    warnings = [w for w in result.warnings if getattr(w, "code", None) != "too_few_candidates"]
    if size_eff < target:  # where build_audience puts it: after the seed diagnostics' warnings
        warnings.insert(len(result.diagnostics.warnings), _too_few(result.counts["candidates"], target))
    customers = finder.customers_
    return dataclasses.replace(
        result, audience=audience, counts={**result.counts, "audience": size_eff},
        params={**result.params, "size": target}, warnings=warnings,
        profile=audience_profile(customers, seed_pos, chosen, finder.spec_, base=finder.base_profile()),
        sensitive=sensitive_profile(customers, chosen, finder.spec_.sensitive))
