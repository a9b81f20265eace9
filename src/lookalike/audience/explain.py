"""Why was this customer picked? Per-feature contributions to the distance to the seeds, told in words.

For a customer ``x`` and its ``k`` nearest seeds ``s_1..s_k``, the distance used
for explanations is the mean squared distance ``D(x) = mean_i ||x − s_i||²``.
It splits exactly over input features: ``D(x) = Σ_f C_f(x)`` with
``C_f(x) = mean_i Σ_{j∈f} (x_j − s_ij)²`` (one-hot columns of a categorical
feature summed into that feature). A feature *explains* the pick when the
customer is much closer to the seeds on it than a typical customer is:
``gain_f(x) = median_pop C_f − C_f(x)``; the reason names the 2–3 largest gains
(:func:`explain`).

The reason is written for a marketer (:func:`describe`): each feature in words and numbers against
the average customer and the seeds ("spends 3.2× the average; buys every 12 days, like the VIPs"),
led by how strong the resemblance is (:func:`resemblance`): the member's mean squared distance to
its nearest seeds against the seeds' own (how far a typical seed is from the others,
:func:`distance_reference`). Within twice it is a resemblance, within five times a partial one,
beyond that a weak one: "resembles" is never said of a weak match. :func:`summary` says what the whole audience is like. Sentences come
from the catalogues (``lookalike/locales``), numbers in the reader's format; the audience table keeps
the English reason and the features (``reason_features``), so any face can say it again in its
reader's language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from lookalike.audience.scoring import nearest_seeds
from lookalike.features import UNKNOWN, to_number
from lookalike.i18n import MISSING, format_money, format_number, format_percent, format_ratio, translator

__all__ = ["LEVELS", "PHRASES", "SEED_MARK", "contributions", "describe", "distance_reference", "explain", "feature_lists", "resemblance", "similarity_reference",
           "strength", "summary"]

#: Resemblance levels, from the member's similarity over the seeds' median similarity.
STRONG, PARTIAL = 0.5, 0.2
LEVELS = ("strong", "partial", "weak")
#: How each feature is said (its catalogue sentence is ``why_<feature>``): ``ratio`` against the
#: average customer (money), ``count``, ``decimal``, ``share`` (a percentage), ``interval`` (orders
#: per month said as days between purchases), ``flag``, ``category``, ``gap`` (the upsell ticket gap).
PHRASES: dict[str, str] = {
    "total_spent": "ratio", "avg_ticket": "ratio", "income": "ratio", "total_orders": "count",
    "avg_items_per_order": "decimal", "frequency": "interval", "days_since_last_purchase": "count",
    "tenure_months": "count", "age": "count", "pct_reordered": "share", "never_purchased": "flag",
    "region": "category", "fav_category": "category", "signup_channel": "category", "ticket_gap": "gap",
}
#: ``reason_features`` of a seed kept in the audience (``include_seeds``): its reason says so.
SEED_MARK = "seed"
#: Features the audience summary may name, and the categories it may name.
_SUMMARY_NUMERIC = ("total_spent", "avg_ticket", "total_orders", "frequency", "pct_reordered",
                    "days_since_last_purchase", "income", "tenure_months")
_SUMMARY_CATEGORIES = ("fav_category", "region", "signup_channel")
#: A member is "like the seeds" on a feature within this factor of their mean (when the seeds
#: themselves differ from the base by at least as much).
LIKE = 1.3
DAYS_PER_MONTH = 30.44


#: rows explained at a time: the rows × k × columns differences of a block stay around 10 MB, which
#: the allocator reuses block after block (100 MB blocks were fresh memory each time, zeroed by the
#: kernel page by page: 8.3 -> 6.5 s for 500k members at 10M, same numbers)
_BLOCK = 4_096


def contributions(X: np.ndarray, seed_pos: np.ndarray, rows: np.ndarray, group_idx: np.ndarray,
                  n_groups: int, k: int = 10) -> np.ndarray:
    """``C_f`` for each of ``rows`` (shape rows × input features); rows sum to ``D(x)``."""
    _, pos = nearest_seeds(X, seed_pos, rows, k)
    out = np.zeros((len(rows), n_groups))
    for start in range(0, len(rows), _BLOCK):  # blocks of rows: 500k rows at once held gigabytes
        block = slice(start, start + _BLOCK)
        diff2 = (X[rows[block]][:, None, :].astype(np.float64) - X[pos[block]].astype(np.float64)) ** 2
        per_col = diff2.mean(axis=1)  # rows × k × columns -> rows × columns
        np.add.at(out[block].T, group_idx, per_col.T)
    return out


def explain(X: np.ndarray, seed_pos: np.ndarray, rows: np.ndarray, group_names: list[str],
            group_idx: np.ndarray, *, k: int = 10, top: int = 3, population: int = 2000,
            random_state: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Contributions table for ``rows`` and the features that explain each row.

    Returns (DataFrame rows × features of ``C_f`` with a ``distance2`` total column, object array
    rows × ``top`` of feature names, best first, ``""`` where fewer features explain the pick).
    """
    n_groups = len(group_names)
    contrib = contributions(X, seed_pos, rows, group_idx, n_groups, k)
    rng = np.random.default_rng(random_state)
    pop_rows = rng.choice(X.shape[0], size=min(population, X.shape[0]), replace=False)
    pop = np.median(contributions(X, seed_pos, pop_rows, group_idx, n_groups, k), axis=0)
    gain = pop[None, :] - contrib
    order = np.argsort(-gain, axis=1, kind="stable")[:, :top]
    names = np.asarray(group_names, dtype=object)[order]
    positive = np.take_along_axis(gain, order, 1) > 0
    table = pd.DataFrame(contrib, columns=group_names)
    table["distance2"] = contrib.sum(axis=1)
    return table, np.where(positive, names, "")


def feature_lists(features: np.ndarray) -> np.ndarray:
    """The features of each row as one text, ``"total_spent,avg_ticket"`` (the ``reason_features`` column).

    >>> feature_lists(np.array([["a", "b"], ["c", ""]], dtype=object)).tolist()
    ['a,b', 'c']
    """
    def join(first: object, *rest: object) -> str:
        return str(first) + "".join("," + str(x) for x in rest if str(x) != "")

    return per_combination([features[:, j] for j in range(features.shape[1])], join)


def _split_features(lists: pd.Series, top: int = 3) -> np.ndarray:
    parts = lists.fillna("").astype(str).str.split(",", n=top, expand=True).reindex(columns=range(top))
    return parts.astype(object).fillna("").to_numpy(dtype=object)


def similarity_reference(similarity: np.ndarray, seed_pos: np.ndarray) -> float | None:
    """How alike a typical seed is to the other seeds: the seeds' median similarity (None without seeds).

    >>> similarity_reference(np.array([0.1, 0.6, 0.8, 0.2]), np.array([1, 2]))
    0.7
    """
    if len(seed_pos) == 0:
        return None
    ref = float(np.median(np.asarray(similarity, dtype=float)[seed_pos]))
    return ref if np.isfinite(ref) and ref > 0 else None


def distance_reference(X: np.ndarray, seed_pos: np.ndarray, group_idx: np.ndarray, n_groups: int, *,
                       k: int = 10, sample: int = 2000, random_state: int = 0) -> float | None:
    """How far a typical seed is from the other seeds: the median over (a sample of) the seeds of
    ``D(s)``, the mean squared distance to its ``k`` nearest other seeds (None with fewer than 2 seeds)."""
    if len(seed_pos) < 2:
        return None
    rng = np.random.default_rng(random_state)
    rows = seed_pos if len(seed_pos) <= sample else rng.choice(seed_pos, size=sample, replace=False)
    ref = float(np.median(contributions(X, seed_pos, np.asarray(rows), group_idx, n_groups, k).sum(axis=1)))
    return ref if np.isfinite(ref) and ref > 0 else None


def resemblance(distance2: object, reference: float | None) -> np.ndarray:
    """``strong``, ``partial`` or ``weak`` per member from its distance to its nearest seeds, whatever
    the scorer: within 2× the seeds' own :func:`distance_reference` strong, within 5× partial.

    A scorer's similarity can be a rank (``auto``'s rank average): the top of any audience would then
    read "strong" however far its members are from the seeds, so the level is measured on distances.

    >>> resemblance([1.0, 3.0, 9.0], 1.0).tolist()
    ['strong', 'partial', 'weak']
    """
    d2 = np.asarray(distance2, dtype=float)
    with np.errstate(divide="ignore"):
        closeness = np.where(d2 > 0, 1.0 / np.maximum(d2, 1e-300), np.inf)
    return strength(closeness, None if reference is None else 1.0 / reference)


def strength(similarity: object, reference: float | None) -> np.ndarray:
    """``strong``, ``partial`` or ``weak`` per member: similarity against the seeds' reference
    (``""`` for every member when there is no reference, e.g. an audience saved before it was recorded).

    >>> strength([0.9, 0.2, 0.01], 0.5).tolist()
    ['strong', 'partial', 'weak']
    """
    sim = np.asarray(similarity, dtype=float)
    if reference is None or not np.isfinite(reference) or reference <= 0:
        return np.full(sim.shape, "", dtype=object)
    rel = sim / reference
    return np.where(rel >= STRONG, "strong", np.where(rel >= PARTIAL, "partial", "weak")).astype(object)


# --------------------------------------------------------------------------- words and numbers


def _each(values: np.ndarray, fmt: Callable[[float], str]) -> np.ndarray:
    """``fmt`` of every value, formatting each distinct value once (missing as ``–``)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype="float64"))
    texts = np.array([fmt(float(u)) for u in uniques] + [MISSING], dtype=object)
    return texts[codes]


def per_combination(columns: list[np.ndarray], fn: Callable[..., str]) -> np.ndarray:
    """``fn(*row)`` for every row of ``columns``, called once per distinct combination of values.

    Each column is factorized on its own and the combinations numbered from the codes (a
    MultiIndex would build a tuple per row: seconds at 500k members).

    >>> per_combination([np.array(["a", "b", "a"], dtype=object), np.array([1, 2, 1])], "{}{}".format).tolist()
    ['a1', 'b2', 'a1']
    """
    codes, values = [], []
    for v in columns:
        c, u = pd.factorize(np.asarray(v, dtype=object), use_na_sentinel=False)
        codes.append(c.astype(np.int64))
        values.append(np.asarray(u, dtype=object))
    combo = codes[0]
    for c, u in zip(codes[1:], values[1:]):
        combo = pd.factorize(combo * len(u) + c)[0]  # stays below rows²: no overflow
    _, heads = np.unique(combo, return_index=True)
    texts = np.array([fn(*(u[c[i]] for c, u in zip(codes, values))) for i in heads], dtype=object)
    return texts[combo] if len(texts) else np.full(len(combo), "", dtype=object)


def _fill(template: str, columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """``template.format(**row)`` for every row, formatting each distinct combination once."""
    if not columns:
        return np.full(0, template, dtype=object)
    names = list(columns)
    return per_combination(list(columns.values()), lambda *row: template.format(**dict(zip(names, row))))


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column == "frequency" and column not in frame:
        if {"total_orders", "tenure_months"} <= set(frame.columns):
            orders = to_number(frame["total_orders"])
            return (orders / to_number(frame["tenure_months"]).clip(lower=1)).to_numpy(float)
    if column not in frame:
        return np.full(len(frame), np.nan)
    return to_number(frame[column]).astype("float64").to_numpy()


def _reference(profile: pd.DataFrame | None) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Base, seed and audience means (numeric features) or shares (``column=value``) from a profile."""
    if profile is None or not len(profile) or "feature" not in profile:
        return {}, {}, {}
    feats = profile["feature"].astype(str).tolist()
    pick = lambda col: dict(zip(feats, to_number(profile[col]).astype(float)))  # noqa: E731
    return pick("base"), pick("seeds"), pick("audience") if "audience" in profile else {}


class _Speaker:
    """Sentences of one language: numbers, money and shares in its format."""

    def __init__(self, lang: str, currency: str | None, seeds: str):
        self.lang, self.currency, self.t = lang, currency, translator(lang)
        self.seeds = self.t("seeds_vip" if seeds == "vip" else "seeds_other")

    def money(self, x: float) -> str:
        return format_money(x, self.lang, self.currency, decimals=0)

    def number(self, x: float, decimals: int = 0) -> str:
        return format_number(x, self.lang, decimals)

    def ratio(self, x: float) -> str:
        return format_ratio(x, self.lang, 1)

    def share(self, x: float) -> str:
        return format_percent(x, self.lang, 0)


def _like(values: np.ndarray, seeds_mean: float, base_mean: float) -> np.ndarray:
    """Rows whose value is within ``LIKE`` of the seeds' mean, on a feature where the seeds stand out."""
    if not (np.isfinite(seeds_mean) and np.isfinite(base_mean)) or seeds_mean <= 0 or base_mean <= 0:
        return np.zeros(len(values), dtype=bool)
    if abs(np.log(seeds_mean / base_mean)) < np.log(LIKE):
        return np.zeros(len(values), dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(np.log(values / seeds_mean)) < np.log(LIKE)


#: columns a sentence reads besides its own feature's (the ticket gap's and the frequency's inputs)
_PHRASE_COLUMNS = frozenset({"avg_ticket", "ticket_gap", "category_high_ticket", "fav_category", "total_orders",
                             "tenure_months"})


def _phrase(feature: str, rows: pd.DataFrame, base: dict, seeds: dict, say: _Speaker) -> np.ndarray:
    """The sentence of ``feature`` for each of ``rows`` (one feature, many members)."""
    kind = PHRASES.get(feature)
    t, n = say.t, len(rows)
    if kind == "category":
        values = rows[feature].astype(str).to_numpy(dtype=object) if feature in rows else np.full(n, MISSING, object)
        shares = np.array([seeds.get(f"{feature}={v}", np.nan) for v in pd.unique(values)])
        share_of = dict(zip(pd.unique(values), shares))
        s = np.array([share_of[v] for v in values], dtype=float) if n else np.zeros(0)
        b = np.array([base.get(f"{feature}={v}", np.nan) for v in values], dtype=float)
        # the cleaner's "Unknown" is a word of the product, not of the data: said in the reader's language
        shown = np.where(values == UNKNOWN, t("value_Unknown"), values)
        text = _fill(t(f"why_{feature}"), {"value": shown})
        like = np.nan_to_num(s) >= np.maximum(0.2, np.nan_to_num(b) * LIKE)
        suffix = _fill(t("why_like_share"), {"share": _each(np.round(s, 2), say.share), "seeds": np.full(n, say.seeds)})
        return np.where(like, text + suffix, text)
    if kind == "gap":
        ticket, gap = _numeric(rows, "avg_ticket"), _numeric(rows, "ticket_gap")
        reference = _numeric(rows, "category_high_ticket")
        category = rows["fav_category"].astype(str).to_numpy(dtype=object) if "fav_category" in rows else \
            np.full(n, MISSING, object)
        return _fill(t("why_ticket_gap"), {"value": _each(np.round(ticket), say.money),
                                           "gap": _each(np.round(gap), say.money),
                                           "reference": _each(np.round(reference), say.money), "category": category})
    values = _numeric(rows, feature)
    b, s = base.get(feature, np.nan), seeds.get(feature, np.nan)
    if kind == "flag":
        return np.where(values >= 0.5, t(f"why_{feature}_yes"), t(f"why_{feature}_no")).astype(object)
    if kind == "ratio":
        with np.errstate(divide="ignore", invalid="ignore"):
            text = _fill(t(f"why_{feature}"), {"ratio": _each(np.round(values / b, 1) if b > 0 else
                                                                   np.full(n, np.nan), say.ratio),
                                                "value": _each(np.round(values), say.money)})
    elif kind == "interval":
        with np.errstate(divide="ignore", invalid="ignore"):
            days = np.where(values > 0, DAYS_PER_MONTH / values, np.nan)
        text = _fill(t(f"why_{feature}"), {"value": _each(np.round(days), say.number)})
    elif kind == "share":
        text = _fill(t(f"why_{feature}"), {"value": _each(np.round(values, 2), say.share)})
    elif kind == "decimal":
        text = _fill(t(f"why_{feature}"), {"value": _each(np.round(values, 1), lambda x: say.number(x, 1))})
    elif kind == "count":
        text = _fill(t(f"why_{feature}"), {"value": _each(np.round(values), say.number)})
    else:  # a feature without a sentence of its own: its name and value
        text = _fill(t("why_other"), {"feature": np.full(n, feature, object),
                                      "value": _each(np.round(values, 2), lambda x: say.number(x, 2))})
    like = _like(values, s, b)
    return np.where(like, text + t("why_like_seeds", seeds=say.seeds), text)


def describe(members: pd.DataFrame, features: np.ndarray | pd.Series, profile: pd.DataFrame | None = None, *,
             levels: np.ndarray | None = None, seeds: str = "vip", lang: str = "en",
             currency: str | None = None) -> np.ndarray:
    """The reason of each member in words and numbers (see the module docstring).

    ``features``: rows × slots of feature names (:func:`explain`), or the ``reason_features`` texts;
    ``profile``: the audience profile (base and seed means, category shares) the numbers are compared
    with; ``levels``: :func:`strength` per member, or ``"seed"`` for a seed kept in the audience;
    ``seeds``: ``"vip"`` when the seeds are the VIPs (said as such), anything else for other seeds.

    >>> members = pd.DataFrame({"total_spent": [3200.0], "fav_category": ["Home"]})
    >>> profile = pd.DataFrame({"feature": ["total_spent", "fav_category=Home"], "seeds": [3000.0, 0.6],
    ...                         "audience": [2000.0, 0.4], "base": [1000.0, 0.1]})
    >>> describe(members, np.array([["total_spent", "fav_category"]], dtype=object), profile,
    ...          levels=np.array(["strong"], dtype=object))[0]
    'Resembles the VIPs: spends 3.2× the average, like the VIPs; prefers Home, like 60% of the VIPs'
    >>> describe(members, pd.Series(["total_spent"]), profile, levels=np.array(["weak"], dtype=object), lang="es")[0]
    'Parecido débil con los VIP; lo más cercano: gasta 3,2× la media, como los VIP'
    """
    if isinstance(features, pd.Series):
        marked = features.astype(str).eq(SEED_MARK).to_numpy()
        features = _split_features(features)
        features[marked] = ""
        if marked.any():
            levels = np.where(marked, "seed", np.full(len(marked), "", dtype=object) if levels is None else levels)
    n = len(members)
    rows = members.reset_index(drop=True)
    base, seed_means, _ = _reference(profile)
    say = _Speaker(lang, currency, seeds)
    phrases = np.full((n, features.shape[1] if features.ndim == 2 else 0), "", dtype=object)
    for j in range(phrases.shape[1]):  # the (≤ 3) slots, then each feature named in it: not the customers
        for feature in pd.unique(features[:, j]):
            if not feature:
                continue
            hit = np.flatnonzero(features[:, j] == feature)
            # only the columns a sentence reads: taking every column of 500k members, once per feature, cost a second
            cols = [c for c in rows.columns if c == feature or c in _PHRASE_COLUMNS]
            phrases[hit, j] = _phrase(str(feature), rows[cols].iloc[hit], base, seed_means, say)
    joined = phrases[:, 0] if phrases.shape[1] else np.full(n, "", dtype=object)
    for j in range(1, phrases.shape[1]):
        joined = np.where((joined != "") & (phrases[:, j] != ""), joined + "; " + phrases[:, j], joined + phrases[:, j])
    levels = np.full(n, "", dtype=object) if levels is None else np.asarray(levels, dtype=object)
    out = np.full(n, "", dtype=object)
    t = say.t
    for level in pd.unique(levels):  # ≤ 5 levels
        hit = levels == level
        if level == "seed":
            out[hit] = _capital(t("why_seed", seeds=say.seeds))
            continue
        lead = t(f"why_{level}", seeds=say.seeds) if level else ""
        empty = joined[hit] == ""
        overall = _capital(t(f"why_overall_{level}" if level else "why_overall", seeds=say.seeds))
        if lead:  # a sentence starts with a capital: the lead's, capitalised once rather than per member
            out[hit] = np.where(empty, overall, _capital(lead) + joined[hit])
        else:  # without a lead the first phrase opens it
            text = pd.Series(joined[hit], dtype=object)
            out[hit] = np.where(empty, overall, (text.str[:1].str.upper() + text.str[1:]).to_numpy(dtype=object))
    return out


def _capital(text: str) -> str:
    """``text`` with its first character upper-cased (a sentence starts with a capital)."""
    return text[:1].upper() + text[1:]


def summary(profile: pd.DataFrame, size: int, *, lang: str = "en", currency: str | None = None) -> str:
    """One sentence on what the audience is like against all customers (from its profile), e.g.
    ``This audience of 5,000 customers spends 4.7× the average and orders 2.2× as often; 33% prefer
    Electronics (14% of all customers).``; empty when nothing stands out.

    >>> p = pd.DataFrame({"feature": ["total_spent", "fav_category=Home"], "seeds": [3000.0, 0.6],
    ...                   "audience": [4700.0, 0.33], "base": [1000.0, 0.14]})
    >>> summary(p, 5000, lang="es")
    'Esta audiencia de 5.000 clientes gasta 4,7× la media; el 33\\xa0% prefiere Home (el 14\\xa0% de todos los clientes).'
    """
    base, _, aud = _reference(profile)
    say = _Speaker(lang, currency, "vip")
    t = say.t
    parts: list[tuple[float, str]] = []
    for f in _SUMMARY_NUMERIC:
        a, b = aud.get(f, np.nan), base.get(f, np.nan)
        if not (np.isfinite(a) and np.isfinite(b)) or a <= 0 or b <= 0 or abs(np.log(a / b)) < np.log(LIKE):
            continue
        if f == "frequency":
            words = t("sum_frequency", value=say.number(DAYS_PER_MONTH / a), base=say.number(DAYS_PER_MONTH / b))
        elif f in ("pct_reordered",):
            words = t(f"sum_{f}", value=say.share(a), base=say.share(b))
        elif f in ("days_since_last_purchase", "tenure_months"):
            words = t(f"sum_{f}", value=say.number(a), base=say.number(b))
        else:
            words = t(f"sum_{f}", ratio=say.ratio(a / b))
        parts.append((abs(np.log(a / b)), words))
    numeric = [w for _, w in sorted(parts, key=lambda p: -p[0])[:2]]
    best = None
    for col in _SUMMARY_CATEGORIES:
        for feat, a in aud.items():
            if not feat.startswith(col + "=") or feat.endswith("=Unknown"):
                continue
            b = base.get(feat, np.nan)
            if np.isfinite(a) and np.isfinite(b) and a >= 0.15 and b > 0 and a / b >= LIKE and (
                    best is None or a / b > best[0]):
                best = (a / b, t(f"sum_cat_{col}", share=say.share(a), value=feat.split("=", 1)[1],
                                 base=say.share(b)))
    if not numeric and best is None:
        return ""
    if not numeric:
        return t("sum_audience_plain", size=say.number(size)) + ": " + best[1] + "."
    head = t("sum_and").join([", ".join(numeric[:-1]), numeric[-1]] if len(numeric) > 1 else numeric)
    return t("sum_audience", size=say.number(size), parts=head) + ("; " + best[1] if best else "") + "."
