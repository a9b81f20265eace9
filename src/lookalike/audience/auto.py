"""``auto``: validate the candidates on the seeds alone, the way the task is shaped, and combine the leaders.

No label is used: only the seeds, their order in time when it is given, and the outcomes of an
earlier campaign when the caller passes them. Which validation is used:

``campaign`` (closed loop)
    An earlier campaign built from the same kind of seeds has outcomes: the candidates, fitted
    on the seeds, rank that campaign's contacted customers, and the measure is how well they put
    its responders above its non-responders (average precision, spread over ``FOLDS`` random
    parts of the campaign). The product learns from its own campaigns.
``forward`` (seeds ordered in time: a date, or successive groups such as campaign 1…5)
    Fit on older seeds, measure how the newest ``FORWARD_NEWEST`` of them are found among base
    customers the fit did not see (fits stop at the ``FORWARD_CUTS`` quantiles of the seeds'
    order; every fold looks for the same newest seeds). This is what a time split rewards:
    finding who comes next, not who was there — a method that only finds seeds like the old ones
    falls behind.
``random``
    ``FOLDS``-fold hold-out of the seeds (repeated below ``REPEAT_BELOW`` seeds): fit on the
    others, measure how the held-out seeds are found among base customers the fit did not see.
    It assumes the customers to find are drawn like the seeds; the validation note says so.

The measure is average precision as a multiple of random, minus 1: it does not saturate the way
recall at a large audience does, and folds with more or fewer positives weigh alike. Validation
runs on a sample of the base (``VALIDATION_BASE`` customers to fit against and as many, disjoint,
to be found among; at most ``VALIDATION_SEEDS`` seeds), so its cost does not grow with the base;
only the chosen combination is scored on everyone. Fewer than ``MIN_VALIDATION_SEEDS`` seeds
cannot be validated: ``FALLBACK`` scores alone and the note says why.

The choice (:func:`choose`) rank-averages the leaders rather than picking one — a hard pick
follows fold noise, the leaders are usually closer than their spread — unless the validation
clearly shows the average is worse than the leader alone (bench/results/evaluation/auto_study.md
checks this on held-out tasks).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score
from threadpoolctl import threadpool_limits

from lookalike.audience.candidates import CANDIDATES as CANDIDATE_ORDER
from lookalike.audience.candidates import PREDICT_THREADS, ScoringData, one_openmp_thread, weighted
from lookalike.errors import ResultWarning
from lookalike.features import to_number

FOLDS = 5
FORWARD_CUTS = (0.5, 0.6, 0.7, 0.8)
#: Share of the seeds, the newest by their order, that forward validation tries to find.
FORWARD_NEWEST = 0.2
#: Fewest seeds a validation fold may hold out or fit on.
MIN_FOLD_SEEDS = 10
#: Below this many seeds nothing is validated and ``FALLBACK`` scores alone.
MIN_VALIDATION_SEEDS = 6
FALLBACK = "seed_distance"
#: Base customers validation fits against (and, disjoint, as many it is measured among).
VALIDATION_BASE = 4_000
#: Seeds validation uses at most (a random sample; order kept): its cost stays flat with the base.
VALIDATION_SEEDS = 2_000
#: Fewest responders (and non-responders) an earlier campaign needs to validate on.
MIN_CAMPAIGN = 20
KINDS = ("campaign", "forward", "random", "none")
#: At most this many leading candidates are rank-averaged; the widest combination validating
#: within this share of the best option is chosen (bench/results/evaluation/auto_study.md).
MAX_COMBINED = 3
COMBINE_WITHIN = 0.95
COMBINE = " + "
#: Below this many seeds random hold-out is repeated (fresh folds) to halve its noise.
REPEAT_BELOW = 500
#: A candidate finding held-out seeds with this average precision means the seeds are (nearly) a rule.
RESTATES_AP = 0.9


@dataclass(frozen=True)
class Fold:
    """One validation fold: fit on ``train`` seeds against ``fit_base``; find ``positives`` among ``negatives``."""

    train: np.ndarray
    positives: np.ndarray
    negatives: np.ndarray
    fit_base: np.ndarray
    parts: int = 1   # >1: positives/negatives are scored once and measured on that many random parts


@dataclass(frozen=True)
class Validation:
    """How ``auto`` validated the candidates and what it combined (recorded with every audience)."""

    kind: str                      # campaign | forward | random | none
    measure: str                   # what the score means, in words
    table: pd.DataFrame            # candidate, score, spread, folds, seconds, role
    chosen: tuple[str, ...]        # the candidates rank-averaged into the audience
    note: str                      # why this method, in plain words (incl. when validation restates the seeds)
    seconds: float = 0.0
    folds: int = 0
    warnings: tuple[ResultWarning, ...] = ()
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready: the table as records, rounded."""
        return {"kind": self.kind, "measure": self.measure, "chosen": list(self.chosen), "note": self.note,
                "folds": self.folds, "seconds": round(self.seconds, 2), "warnings": list(self.warnings),
                "table": self.table.round(4).to_dict(orient="records"), **self.extra}


# --------------------------------------------------------------------------- folds


def order_values(column: pd.Series) -> np.ndarray:
    """A column of dates or numbers as float64 for ordering (missing = NaN).

    >>> order_values(pd.Series(["2011-01-02", None, "2010-05-01"])).argsort().tolist()[:2]
    [2, 0]
    """
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return to_number(column).astype("float64").to_numpy()
    dates = pd.to_datetime(column, errors="coerce", format="mixed") if not pd.api.types.is_datetime64_any_dtype(
        column) else column
    ns = dates.astype("datetime64[ns]").astype("int64").astype("float64").to_numpy()
    return np.where(pd.isna(dates).to_numpy(), np.nan, ns)



def _split_base(n: int, exclude: np.ndarray, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random samples of the rows not in ``exclude``: one to fit against, one to be found among."""
    keep = np.ones(n, dtype=bool)
    keep[exclude] = False
    pool = np.flatnonzero(keep)
    take = rng.permutation(pool)[: min(len(pool), 2 * size)]
    half = len(take) // 2
    return np.sort(take[:half]), np.sort(take[half:])


def random_folds(n: int, seed_pos: np.ndarray, rng: np.random.Generator, *, folds: int = FOLDS,
                 base_size: int = VALIDATION_BASE) -> list[Fold]:
    """``folds``-fold hold-out of the seeds (each seed held out once; twice below ``REPEAT_BELOW`` seeds)."""
    fit_base, eval_base = _split_base(n, seed_pos, rng, base_size)
    out = []
    for _ in range(2 if len(seed_pos) < REPEAT_BELOW else 1):
        parts = np.array_split(rng.permutation(seed_pos), min(folds, max(2, len(seed_pos) // MIN_FOLD_SEEDS)))
        out += [Fold(np.setdiff1d(seed_pos, p), np.sort(p), eval_base, fit_base) for p in parts if len(p)]
    return out


def forward_folds(n: int, seed_pos: np.ndarray, order: np.ndarray, rng: np.random.Generator, *,
                  cuts: tuple[float, ...] = FORWARD_CUTS, newest: float = FORWARD_NEWEST,
                  base_size: int = VALIDATION_BASE) -> list[Fold]:
    """Older seeds → the newest ones: fit on the seeds before each cut, find the newest ``newest`` share.

    Every fold is measured on the same newest seeds (the ones closest in time to the customers
    the audience must find); the folds differ in how far back the fit stops, so a method that
    only works on seeds like the old ones falls behind. Seeds without an order never serve as
    newest; with successive groups (campaign 1…5) the cuts fall on group boundaries.
    """
    fit_base, eval_base = _split_base(n, seed_pos, rng, base_size)
    o = order[seed_pos]
    known = ~np.isnan(o)
    if known.sum() < 2 * MIN_FOLD_SEEDS:
        return []
    start = np.quantile(o[known], 1 - newest, method="lower")
    latest = known & (o >= start)
    if latest.sum() < MIN_FOLD_SEEDS or (~latest).sum() < MIN_FOLD_SEEDS:
        return []
    out, seen = [], set()
    for q in cuts:
        v = np.quantile(o[known], q, method="lower")
        train = ~latest & ~(known & (o >= v))
        if train.sum() < MIN_FOLD_SEEDS or int(train.sum()) in seen:
            continue
        seen.add(int(train.sum()))
        out.append(Fold(seed_pos[train], seed_pos[latest], eval_base, fit_base))
    return out


def campaign_fold(n: int, seed_pos: np.ndarray, responders: np.ndarray, others: np.ndarray,
                  rng: np.random.Generator, *, base_size: int = VALIDATION_BASE) -> Fold:
    """All seeds fit; an earlier campaign's responders are found among its non-responders."""
    exclude = np.unique(np.concatenate([seed_pos, responders, others]))
    fit_base, _ = _split_base(n, exclude, rng, base_size)
    pos = np.setdiff1d(responders, seed_pos)
    neg = np.setdiff1d(others, np.concatenate([seed_pos, responders]))
    return Fold(seed_pos, pos, neg, fit_base, parts=FOLDS)


def plan(n: int, seed_pos: np.ndarray, *, seed_order: np.ndarray | None = None,
         outcomes: tuple[np.ndarray, np.ndarray] | None = None,
         random_state: int = 0) -> tuple[str, list[Fold], list[str]]:
    """Which validation the seeds allow, its folds, and notes on what was not possible."""
    rng = np.random.default_rng([random_state, 31])
    notes = []
    if len(seed_pos) > VALIDATION_SEEDS:
        seed_pos = np.sort(rng.choice(seed_pos, VALIDATION_SEEDS, replace=False))
    if outcomes is not None:
        responders, others = (np.asarray(o, dtype=np.int64) for o in outcomes)
        pos, neg = np.setdiff1d(responders, seed_pos), np.setdiff1d(others, seed_pos)
        if len(pos) >= MIN_CAMPAIGN and len(neg) >= MIN_CAMPAIGN:
            return "campaign", [campaign_fold(n, seed_pos, responders, others, rng)], notes
        notes.append(f"the earlier campaign has {len(pos)} responders and {len(neg)} non-responders outside the "
                     f"seeds (at least {MIN_CAMPAIGN} of each are needed to validate on it)")
    if seed_order is not None:
        folds = forward_folds(n, seed_pos, np.asarray(seed_order, dtype=np.float64), rng)
        if folds:
            return "forward", folds, notes
        notes.append(f"the seeds' order allows no forward fold with at least {MIN_FOLD_SEEDS} earlier and "
                     f"{MIN_FOLD_SEEDS} later seeds")
    return "random", random_folds(n, seed_pos, rng), notes


# --------------------------------------------------------------------------- validation


def _ap(pos_scores: np.ndarray, neg_scores: np.ndarray) -> float:
    y = np.r_[np.ones(len(pos_scores)), np.zeros(len(neg_scores))]
    return float(average_precision_score(y, np.r_[pos_scores, neg_scores]))


def fold_scores(data: ScoringData, candidates: tuple[str, ...], folds: list[Fold],
                seed_weight_of: np.ndarray | None = None) -> tuple[dict[str, list[np.ndarray]], dict[str, float]]:
    """Each candidate's scores of each fold's positives-then-negatives, and its seconds."""
    def one(f: Fold) -> dict[str, tuple[np.ndarray, float]]:
        rows = np.concatenate([f.positives, f.negatives])
        t0 = time.perf_counter()
        w = data.weights(f.train, f.fit_base)   # learned from this fold's seeds only
        Xw = weighted(data.X, w)
        shared = (time.perf_counter() - t0) / len(candidates)
        sw = None if seed_weight_of is None else seed_weight_of[f.train]
        got = {}
        for c in candidates:
            t0 = time.perf_counter()
            s = data.score(c, f.train, f.fit_base, seed_weight=sw, rows=rows, crossfit=False, Xw=Xw)
            got[c] = (np.asarray(s.similarity[rows], dtype=np.float64), time.perf_counter() - t0 + shared)
        return got

    if len(folds) > 1 and PREDICT_THREADS > 1:
        # the folds are independent and seeded: side by side (one thread each) they give the same
        # numbers. The caller's limit first, so the fits' own limits save and restore that setting
        with threadpool_limits(1), ThreadPoolExecutor(min(len(folds), PREDICT_THREADS),
                                                      initializer=one_openmp_thread) as pool:
            per_fold = list(pool.map(one, folds))
    else:
        per_fold = [one(f) for f in folds]
    out = {c: [got[c][0] for got in per_fold] for c in candidates}
    seconds = {c: sum(got[c][1] for got in per_fold) for c in candidates}
    return out, seconds


def validate(data: ScoringData, seed_pos: np.ndarray, *, seed_weight: np.ndarray | None = None,
             seed_order: np.ndarray | None = None, outcomes: tuple[np.ndarray, np.ndarray] | None = None,
             candidates: tuple[str, ...] | None = None, random_state: int = 0) -> Validation:
    """Validate every available candidate (see the module docstring) and choose the combination."""
    t0 = time.perf_counter()
    candidates = candidates or data.available()
    if len(seed_pos) < MIN_VALIDATION_SEEDS:
        note = (f"Not validated: {len(seed_pos)} seed(s) cannot be split into seeds to fit on and seeds to find "
                f"(at least {MIN_VALIDATION_SEEDS} are needed); {FALLBACK} (distance to the nearest seeds) is used.")
        table = pd.DataFrame([{"candidate": FALLBACK, "score": float("nan"), "spread": float("nan"), "folds": 0,
                               "average_precision": float("nan"), "seconds": 0.0, "role": "chosen"}])
        return Validation(kind="none", measure=MEASURES["none"], table=table, chosen=(FALLBACK,), note=note,
                          seconds=time.perf_counter() - t0,
                          warnings=(ResultWarning("not_validated", note, seeds=int(len(seed_pos)),
                                                  needed=MIN_VALIDATION_SEEDS),))
    kind, folds, notes = plan(data.n, seed_pos, seed_order=seed_order, outcomes=outcomes, random_state=random_state)
    weight_of = None
    if seed_weight is not None:
        weight_of = np.zeros(data.n)
        weight_of[seed_pos] = seed_weight
    # small fits gain nothing from a second OpenMP thread and lose much when the cores are shared
    with threadpool_limits(1, user_api="openmp"):
        scores, seconds = fold_scores(data, candidates, folds, weight_of)
    metric, ap = _metric_matrix(scores, folds, random_state)
    combos = _combinations(scores, _leaders(metric, candidates))
    # the combinations are measured on the same folds and parts (drawn from the same seed, whatever is
    # measured): the single candidates' numbers stand and are not computed again
    more, more_ap = _metric_matrix(combos, folds, random_state)
    metric.update(more)
    ap.update(more_ap)
    table, chosen = choose(metric, candidates, seconds, ap)
    return Validation(kind=kind, measure=MEASURES[kind], table=table, chosen=chosen,
                      note=_note(kind, table, chosen, notes, len(seed_pos)), seconds=time.perf_counter() - t0,
                      folds=len(next(iter(metric.values()))) if metric else 0)


MEASURES = {
    "none": "no validation: too few seeds",
    "campaign": ("average precision of the earlier campaign's responders among its contacted customers, "
                 "as a multiple of random, minus 1"),
    "forward": ("average precision of the newest seeds among base customers, fitted on older seeds, "
                "as a multiple of random, minus 1"),
    "random": ("average precision of held-out seeds among base customers, fitted on the other seeds, "
               "as a multiple of random, minus 1"),
}


def _metric_matrix(scores: dict[str, list[np.ndarray]], folds: list[Fold], random_state: int
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per candidate and fold: average precision over the positives' share, minus 1 (0 = no better than random).

    Dividing by the share of positives puts folds with more or fewer positives on one scale; a
    campaign fold is measured on ``FOLDS`` random parts. Returns (that score, the raw average precision).
    """
    out: dict[str, list[float]] = {c: [] for c in scores}
    raw: dict[str, list[float]] = {c: [] for c in scores}
    rng = np.random.default_rng([random_state, 41])
    for i, f in enumerate(folds):
        n_pos = len(f.positives)
        parts = [(np.ones(n_pos, bool), np.ones(len(f.negatives), bool))]
        if f.parts > 1:
            pp, pn = rng.integers(0, f.parts, n_pos), rng.integers(0, f.parts, len(f.negatives))
            parts = [(pp == p, pn == p) for p in range(f.parts) if (pp == p).any() and (pn == p).any()]
        for c, per_fold in scores.items():
            s = per_fold[i]
            for mp, mn in parts:
                share = mp.sum() / (mp.sum() + mn.sum())
                ap = _ap(s[:n_pos][mp], s[n_pos:][mn])
                raw[c].append(ap)
                out[c].append(ap / share - 1.0)
    return {c: np.asarray(v) for c, v in out.items()}, {c: np.asarray(v) for c, v in raw.items()}


def _leaders(metric: dict[str, np.ndarray], candidates: tuple[str, ...]) -> list[str]:
    """Candidates by mean validation score, best first (ties: the simpler first)."""
    return sorted(candidates, key=lambda c: (-float(np.mean(metric[c])), CANDIDATE_ORDER.index(c)))


def _combinations(scores: dict[str, list[np.ndarray]], leaders: list[str]) -> dict[str, list[np.ndarray]]:
    """The rank averages of the top 2 … ``MAX_COMBINED`` candidates, fold by fold (validated like the others)."""
    out = {}
    for k in range(2, min(MAX_COMBINED, len(leaders)) + 1):
        members = leaders[:k]
        out[COMBINE.join(members)] = [np.mean([rankdata(scores[m][i]) for m in members], axis=0)
                                      for i in range(len(scores[members[0]]))]
    return out


def choose(metric: dict[str, np.ndarray], candidates: tuple[str, ...], seconds: dict[str, float],
           ap: dict[str, np.ndarray] | None = None) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The validation table and the candidates to rank-average.

    The options are the leader alone and the rank averages of the top 2 and top 3 candidates
    (validated on the same folds, as the ensemble candidate). The widest option whose mean score is
    within ``COMBINE_WITHIN`` of the best option's is chosen: averaging the leaders is the default
    (their order is usually within the folds' noise, and an average hedges it), and only clear
    evidence — the combination validating more than 5% worse — makes a leader stand alone (a
    weaker method averaged in only dilutes it). The score is average precision as a multiple of
    random, minus 1.
    """
    leaders = _leaders(metric, candidates)
    options = [leaders[:k] for k in range(1, min(MAX_COMBINED, len(leaders)) + 1)]
    means = np.array([float(np.mean(metric[COMBINE.join(o)])) for o in options])
    best = means.max()
    # the widest combination that validates within COMBINE_WITHIN of the best option
    keep = [i for i, m in enumerate(means) if best <= 0 and i == 0 or best > 0 and m >= COMBINE_WITHIN * best]
    chosen = tuple(options[max(keep)])
    rows = []
    for name, v in metric.items():
        members = name.split(COMBINE)
        rows.append({"candidate": name, "score": float(np.mean(v)), "spread": float(np.std(v)), "folds": int(len(v)),
                     "average_precision": float(np.mean(ap[name])) if ap is not None else float("nan"),
                     "seconds": round(sum(seconds.get(m, 0.0) for m in members) if len(members) == 1 else 0.0, 3),
                     "role": "chosen" if tuple(members) == chosen else "combined" if name in chosen else ""})
    table = pd.DataFrame(rows).sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    return table, chosen


def _note(kind: str, table: pd.DataFrame, chosen: tuple[str, ...], notes: list[str], n_seeds: int) -> str:
    lead = ", ".join(f"{r.candidate} ({r.score:.3f} ± {r.spread:.3f})" for r in table.head(3).itertuples())
    text = {"campaign": "Validated on the outcomes of an earlier campaign from the same kind of seeds.",
            "forward": "Validated forward in time: fitted on older seeds, measured on how it finds the newest ones.",
            "random": ("Validated by holding out seeds at random: this only measures how well each method finds "
                       "more customers like the seeds, and assumes the customers to find are drawn like them.")}[kind]
    text += f" Best validated: {lead}. "
    text += (f"Chosen: {' + '.join(chosen)} (rank average)." if len(chosen) > 1 else
             f"Chosen: {chosen[0]} alone (averaging it with the runners-up validated worse).")
    best_ap = table.loc[table["average_precision"].idxmax()] if len(table) and table["average_precision"].notna().any() \
        else None
    if best_ap is not None and kind != "campaign" and best_ap["average_precision"] >= RESTATES_AP:
        text += (f" {best_ap['candidate']} finds the held-out seeds almost perfectly (average precision "
                 f"{best_ap['average_precision']:.2f}): the seeds are close to a rule on the table's columns, so this "
                 "validation only restates how they were chosen; it cannot tell which other customers will become "
                 "like them.")
    if notes:
        text += " Not possible: " + "; ".join(notes) + "."
    return text
