"""What the faces say about audiences, exports and data: the product's data model in the reader's words.

The library keeps stable, English labels in its results (funnel steps such as ``"excluded: opted out
(promo_channel none)"``, export counts such as ``"channel=email"``, scorer names, feature names); the
web UI, the HTML report and the CLI turn them into sentences of the reader's language here, from the
one catalogue (``lookalike/locales``), with numbers, money and shares in the locale's format. Labels
this module does not know are shown as they are.

>>> [r["label"] for r in funnel({"base": 3000, "excluded: opted out (promo_channel none)": 292,
...                              "filtered: region not in Norte, Sur": 1500, "candidates": 1208}, "es")]
['Todos los clientes', 'Fuera: no quieren recibir promociones', 'Fuera: región distinta de Norte, Sur', 'Cumplen las condiciones']
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from lookalike.audience.expand import seed_kind
from lookalike.audience.explain import describe, strength
from lookalike.i18n import MISSING, format_money, format_number, format_percent, format_ratio, has, term, translator

__all__ = ["MONEY_FEATURES", "data_currency", "export_funnel", "feature_label", "feature_value", "funnel",
           "member_reasons", "method_view", "playbook_words", "profile_bars", "seeds_word", "similarity_match"]

#: Features that are amounts of money (shown with the data's currency).
MONEY_FEATURES = frozenset({"income", "total_spent", "avg_ticket", "ticket_gap", "category_high_ticket"})
#: Features read as whole numbers (days, months, years).
WHOLE_FEATURES = frozenset({"days_since_last_purchase", "tenure_months", "age", "purchase_interval_days"})
#: Features that are shares (shown as percentages).
SHARE_FEATURES = frozenset({"pct_reordered"})
_FILTER = re.compile(r"^filtered: (\w+) not in (.+)$")
_NO_SEEDS = re.compile(r"^filtered: (\w+) without seeds$")
_FUNNEL = {
    "base": "base", "excluded: seeds": "seeds", "filtered: not in the include list": "include_list",
    "excluded: negative seeds": "negative_seeds", "excluded: VIPs": "vips",
    "excluded: opted out (promo_channel none)": "opted_out", "excluded: suppression list": "suppression",
    "filtered: candidate rule": "candidate_rule", "candidates": "candidates", "audience": "audience",
}
_EXPORT = {"audience": "audience", "consent": "consent", "excluded (holdout/suppression)": "excluded",
           "no usable identifier": "identifier"}
#: ISO codes of the currency symbols an export writes (a bare ``$`` is read as US dollars).
_SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}


def funnel(counts: Mapping[str, int], lang: str) -> list[dict]:
    """An audience's counts (``AudienceResult.counts``) as rows ``{label, count, kind}``: ``kind`` is
    ``total`` (the base, the candidates, the audience) or ``out`` (customers a step left out)."""
    t = translator(lang)
    order = list(_FUNNEL)
    # pipeline order (a manifest may hold the counts sorted by name): the base, each step, the totals
    place = {"base": 0, "candidates": 2, "audience": 3}
    keys = sorted(counts, key=lambda k: (place.get(k, 1), order.index(k) if k in order else len(order)))
    rows = []
    for key in keys:
        count = counts[key]
        code = _FUNNEL.get(key)
        if code is not None:
            label = t(f"funnel_{code}")
        elif m := _FILTER.match(key):
            label = t("funnel_filter", column=feature_label(m[1], lang).lower(), values=m[2])
        elif m := _NO_SEEDS.match(key):
            label = t("funnel_no_seeds", column=feature_label(m[1], lang).lower())
        else:
            label = key
        rows.append({"label": label, "count": int(count),
                     "kind": "total" if key in ("base", "candidates", "audience") else "out"})
    return rows


def export_funnel(counts: Mapping[str, int], lang: str, *, identifiers: Sequence[str] = ()) -> list[dict]:
    """An export's counts (rows left after each step) as rows ``{label, count}``:
    members → channel → consent → holdout and suppression → rows with an address."""
    t = translator(lang)
    rows = []
    for key, count in counts.items():
        if key.startswith("channel="):
            label = t("export_step_channel", channel=term(lang, "channel", key.split("=", 1)[1]))
        elif key == "no usable identifier":
            label = t("export_step_identifier", fields=t("or").join(term(lang, "contact", h.lower()) for h in identifiers))
        else:
            label = t(f"export_step_{_EXPORT[key]}") if key in _EXPORT else key
        rows.append({"label": label, "count": int(count)})
    return rows


def playbook_words(playbook: Mapping, lang: str) -> tuple[str, str]:
    """A playbook's title and description in ``lang``: the catalogue's for the built-in ones (their
    parameters filled in), the file's own for a user's playbook.

    >>> playbook_words({"name": "cross-sell", "title": "x", "params": {"category": "Home"}}, "es")[0]
    'Venta cruzada de Home a clientes parecidos a sus mejores compradores'
    """
    name, params = str(playbook.get("name", "")), dict(playbook.get("params") or {})
    key = f"playbook_{name}_title"
    if not has(lang, key):
        return str(playbook.get("title") or name), str(playbook.get("description") or "")
    t = translator(lang)
    values = {k: term(lang, "value", v) for k, v in params.items()}
    return t(key, **values), t(f"playbook_{name}_text", **values)


def feature_label(feature: str, lang: str) -> str:
    """A feature (or ``column=value`` of a profile) in words: ``Gasto total``, ``Región: Norte``.

    >>> feature_label("total_spent", "es"), feature_label("region=Norte", "en"), feature_label("x_y", "en")
    ('Gasto total', 'Region: Norte', 'x_y')
    """
    column, sep, value = feature.partition("=")
    label = term(lang, "feat", column)
    return f"{label}: {term(lang, 'value', value)}" if sep else label


def feature_value(feature: str, value: object, lang: str, currency: str | None = None) -> str:
    """A profile value as it reads: money with the currency, shares as percentages, counts and
    measures with one decimal; ``column=value`` rows are shares of customers."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if "=" in feature or feature in SHARE_FEATURES:
        return format_percent(value, lang, 0 if "=" in feature else 1)
    if feature in MONEY_FEATURES:
        return format_money(value, lang, currency, decimals=0)
    return format_number(value, lang, 0 if feature in WHOLE_FEATURES else 1)


def profile_bars(profile: pd.DataFrame, lang: str, currency: str | None = None, top: int = 8,
                 categories: int = 4) -> list[dict]:
    """The profile as bars of the audience against the base (``×`` on a log scale), strongest first:
    up to ``top`` measures (spend, orders, recency ...), then up to ``categories`` categories.

    Each row: ``label``, ``seeds``, ``audience``, ``base`` (formatted), ``ratio`` (``4,7×``), ``width``
    (0–50, half the bar: ×8 and beyond fill it) and ``up`` (above the base or not). Categories held by
    fewer than 5% of both the audience and the base, and ``Unknown``, are left out (noise, not a profile).
    """
    if profile is None or not len(profile):
        return []
    p = profile.copy()
    ratio = pd.to_numeric(p["audience_vs_base"], errors="coerce").astype(float)
    feature = p["feature"].astype(str)
    is_cat = feature.str.contains("=", regex=False)
    small = is_cat & ((pd.to_numeric(p["base"], errors="coerce").fillna(0).lt(0.05)
                       & pd.to_numeric(p["audience"], errors="coerce").fillna(0).lt(0.05))
                      | feature.str.endswith("=Unknown"))
    p = p.assign(ratio_=ratio, log_=np.log(ratio.clip(lower=1e-3)).abs(), cat_=is_cat)
    p = p[~small & ratio.notna() & (ratio > 0)].sort_values("log_", ascending=False, kind="stable")
    p = pd.concat([p[~p["cat_"]].head(top), p[p["cat_"]].head(categories)])
    rows = []
    for r in p.itertuples(index=False):  # at most `top` rows of a table of features
        feature = str(r.feature)
        rows.append({"feature": feature, "label": feature_label(feature, lang),
                     "seeds": feature_value(feature, r.seeds, lang, currency),
                     "audience": feature_value(feature, r.audience, lang, currency),
                     "base": feature_value(feature, r.base, lang, currency),
                     "ratio": format_ratio(r.ratio_, lang, 1), "up": bool(r.ratio_ >= 1),
                     "width": round(min(abs(math.log(r.ratio_)) / math.log(8), 1.0) * 50, 1)})
    return rows


def data_currency(quality: Mapping | None) -> str | None:
    """The currency of a dataset's amounts, from its quality report (the currencies the cleaner saw in
    ``total_spent``), as an ISO code; None when unknown or mixed.

    >>> data_currency({"columns": {"total_spent_dirty": {"notes": {"currencies": {"$": 225, "USD": 44}}}}})
    'USD'
    """
    columns = (quality or {}).get("columns") or {}
    seen: dict[str, int] = {}
    for name in ("total_spent", "total_spent_dirty"):
        for token, n in (((columns.get(name) or {}).get("notes") or {}).get("currencies") or {}).items():
            code = _SYMBOLS.get(str(token).strip(), str(token).strip().upper())
            if re.fullmatch(r"[A-Z]{3}", code):
                seen[code] = seen.get(code, 0) + int(n)
    if not seen:
        return None
    best = max(seen, key=seen.get)
    return best if seen[best] >= 0.9 * sum(seen.values()) else None


def seeds_word(params: Mapping, lang: str) -> str:
    """How the reasons name an audience's seeds: "the VIPs" for VIP seeds, else "the seed customers"."""
    return translator(lang)("seeds_vip" if seed_kind(params.get("seed_sets") or []) == "vip" else "seeds_other")


def similarity_match(member: Mapping, reference: float | None, lang: str) -> tuple[str, str]:
    """The resemblance level of one member (``strong``/``partial``/``weak``/``seed``: its ``resemblance``,
    else from its similarity and the reference) and its word; empty when neither is known."""
    level = member.get("resemblance") or strength(np.array([member.get("similarity")], dtype=float), reference)[0]
    return (str(level), term(lang, "match", level)) if level else ("", "")


def member_reasons(members: pd.DataFrame, profile: pd.DataFrame | None, params: Mapping, lang: str,
                   currency: str | None = None) -> list[str]:
    """The reasons of saved members in ``lang`` (from their ``reason_features``); the stored English
    reason for audiences saved before the features were recorded."""
    if "reason_features" not in members or not len(members):
        return [str(r) for r in members.get("reason", pd.Series([""] * len(members)))]
    levels = (members["resemblance"].fillna("").astype(str).to_numpy(dtype=object) if "resemblance" in members
              else strength(pd.to_numeric(members["similarity"], errors="coerce").to_numpy(float),
                            params.get("similarity_reference")))
    return describe(members, members["reason_features"], profile, levels=levels,
                    seeds=seed_kind(params.get("seed_sets") or []), lang=lang, currency=currency).tolist()


def method_view(params: Mapping, lang: str) -> dict:
    """How the audience was chosen, for the "how was this chosen" disclosure: the method in words,
    the options that shaped it, and the validation table when the scorer recorded one
    (``params["validation"]``: ``{kind, measure, note, chosen, table: [{candidate, score, spread,
    seconds, ...}]}``; any list of such rows is shown)."""
    t = translator(lang)
    scorer = str(params.get("scorer") or "")
    names = [p.strip() for p in scorer.split("+") if p.strip()]
    method = " + ".join(term(lang, "scorer", n) for n in names) or MISSING
    helps = [t(f"scorer_{n}_help") for n in names if has("en", f"scorer_{n}_help")]
    asked = params.get("scorer_asked")
    validation = params.get("validation") if isinstance(params.get("validation"), Mapping) else None
    rows = []
    for r in (validation or {}).get("table") or []:
        if not isinstance(r, Mapping):
            continue
        cand = str(r.get("candidate", ""))
        rows.append({"candidate": " + ".join(term(lang, "scorer", c.strip()) for c in cand.split("+")),
                     "code": cand, "score": format_number(r.get("score"), lang, 3),
                     "spread": format_number(r.get("spread"), lang, 3),
                     "seconds": format_number(r.get("seconds"), lang, 1),
                     "chosen": cand in ((validation or {}).get("chosen") or ()) or r.get("role") == "combined"})
    options = []
    if params.get("learn_weights"):
        options.append(t("method_learned_weights"))
    if params.get("value"):
        options.append(t("method_value", column=feature_label(str(params["value"]), lang)))
    if params.get("exclude_vips"):
        options.append(t("method_exclude_vips"))
    if params.get("exclude_opted_out"):
        options.append(t("method_exclude_opted_out"))
    return {"method": method, "helps": helps, "auto": asked == "auto",
            "validation": {"kind": term(lang, "validation", validation.get("kind")) if validation else "",
                           "note": str(validation.get("note") or "") if validation else "",
                           "rows": rows} if validation else None,
            "options": options, "k": params.get("k"), "code": scorer}
