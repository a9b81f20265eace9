"""Rendering a truth table as a raw CRM export: how clean values become the dirty strings of real exports.

One method of :class:`_Renderer` per raw column draws, for each cell, a form (canonical, one of
the column's dirty forms, or one of its designed unrecoverable forms) and renders it; every
column has its own random stream, so options change only the cells they are about.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from lookalike.errors import ParameterError
from lookalike.synth._arrays import STR, grouped, join, objects, pick, strs, ymd, zfill
from lookalike.synth.truth import check_seed, truth_arrays
from lookalike.synth.vocabulary import (
    CATEGORY_VARIANTS,
    CHANNEL_VARIANTS,
    CONSENT_VARIANTS,
    CONTACT_COLUMNS,
    GENDER_VARIANTS,
    MONTHS_EN,
    MONTHS_ES,
    NEVER_CODES,
    PROMO_CHANNELS,
    RAW_COLUMNS,
    REGION_ENGLISH,
    REGION_TYPOS,
)

__all__ = ["render_dirty"]

_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")

UNREC_SHARE = 0.07
"""Unrecoverable cells per column, as a share of ``dirt_rate`` (about 1% of rows at 0.15)."""

_STREAMS: tuple[str, ...] = (*RAW_COLUMNS, *CONTACT_COLUMNS, "_duplicate_blanks")


def _draw(
    rng: np.random.Generator,
    n: int,
    rate: float,
    forms: Mapping[str, float],
    unrec_forms: tuple[str, ...] = (),
    *,
    unrecoverable: bool = True,
    unrec_rate: float | None = None,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Form name per cell: "canonical", one of ``forms`` (weighted) on about ``rate`` of
    the cells, or one of ``unrec_forms`` on about ``rate * UNREC_SHARE`` (only when
    ``unrecoverable``; only on ``eligible`` cells if given). The same random numbers are
    drawn whatever the options."""
    names = np.array(("canonical", *forms, *unrec_forms))
    w = np.fromiter(forms.values(), dtype=float)
    dirty = rng.random(n) < rate
    pick = rng.choice(w.size, size=n, p=w / w.sum()) + 1
    bad = rng.random(n) < (rate * UNREC_SHARE if unrec_rate is None else unrec_rate)
    bad_pick = rng.integers(0, max(len(unrec_forms), 1), size=n) + 1 + w.size
    code = np.where(dirty, pick, 0)
    if unrecoverable and unrec_forms:
        code = np.where(bad if eligible is None else bad & eligible, bad_pick, code)
    return names[code]


def _set(out: np.ndarray, kind: np.ndarray, name: str, render: Callable[[np.ndarray], Any]) -> None:
    """Fill the cells whose form is ``name`` with ``render(mask)``."""
    m = kind == name
    if m.any():
        out[m] = render(m)


class _Lazy:
    """Format only the cells asked for: ``_Lazy(fn, a, b)[mask] == fn(a[mask], b[mask])``."""

    def __init__(self, fn: Callable[..., np.ndarray], *arrays: np.ndarray):
        self.fn, self.arrays = fn, arrays

    def __getitem__(self, mask: np.ndarray) -> np.ndarray:
        return self.fn(*(a[mask] for a in self.arrays))


@dataclass(frozen=True)
class _Currency:
    code: str
    symbol: str
    group: str
    decimal: str
    symbol_after: bool  # the currency's usual placement: "2.464,06 €" vs "$2,464.06"


_CURRENCIES: Mapping[str, _Currency] = {
    "USD": _Currency("USD", "$", ",", ".", False),
    "EUR": _Currency("EUR", "€", ".", ",", True),
}

# form -> (thousands groups, decimals, symbol placement)
_MONEY_FORMS: Mapping[str, tuple[bool, bool, str | None]] = {
    "symbol": (True, True, "usual"),            # $2,464.06      2.464,06 €
    "symbol_other_side": (True, True, "other"),  # 2,464.06 $     €2.464,06
    "symbol_space": (True, True, "space"),       # $ 2,464.06     € 2.464,06
    "code": (True, True, "code"),                # USD 2,464.06   EUR 2.464,06
    "grouped": (True, True, None),               # 2,464.06       2.464,06
    "plain": (False, True, None),                # 2464.06        2464,06
    "int_symbol": (False, False, "usual"),       # $2464          2464 €
    "int_symbol_grouped": (True, False, "usual"),  # $1,250 (ambiguous)  1.250 € (ambiguous)
    "int_grouped": (True, False, None),          # 45,320 (ambiguous)  45.320 (ambiguous)
    "int_plain": (False, False, None),           # 1250           1250
}
_AMBIGUOUS_MONEY = ("int_symbol_grouped", "int_grouped")


def _money(cents: np.ndarray, cur: _Currency, form: str) -> np.ndarray:
    """Render amounts given in integer cents in one of :data:`_MONEY_FORMS`."""
    group, decimals, where = _MONEY_FORMS[form]
    ip, fr = cents // 100, cents % 100
    body = grouped(ip, cur.group) if group else strs(ip)
    if decimals:
        body = join(body, cur.decimal, zfill(fr, 2))
    if where is None:
        return body
    if where == "code":
        return join(cur.code + " ", body)
    if where == "space":
        return join(cur.symbol + " ", body)
    after = cur.symbol_after if where == "usual" else not cur.symbol_after
    return join(body, " " + cur.symbol) if after else join(cur.symbol, body)


@dataclass(frozen=True)
class _Options:
    dirt_rate: float
    unrecoverable: bool
    contact: bool
    currency: _Currency


class _Renderer:
    """Renders the rows of a truth frame as raw cells; one method per raw column."""

    def __init__(self, truth: Mapping[str, np.ndarray], seed: int, chunk: int, stream: int, opts: _Options,
                 duplicate: bool):
        self.t = truth
        self.n = len(truth["customer_id"])
        self.seed, self.chunk, self.stream = seed, chunk, stream
        self.o = opts
        self.dup = duplicate
        self.rate = min(1.0, 2 * opts.dirt_rate) if duplicate else opts.dirt_rate
        self.minor = self.rate * UNREC_SHARE / 2  # blanks in columns where the contract saw none
        self.cols: dict[str, Any] = {}
        self.rec: dict[str, np.ndarray] = {}

    # infrastructure ----------------------------------------------------------------
    def rng(self, column: str) -> np.random.Generator:
        ss = np.random.SeedSequence([self.seed, self.chunk, self.stream, _STREAMS.index(column)])
        return np.random.default_rng(ss)

    def draw(self, rng: np.random.Generator, forms: Mapping[str, float], unrec: tuple[str, ...] = (),
             **kw: Any) -> np.ndarray:
        return _draw(rng, self.n, self.rate, forms, unrec, unrecoverable=self.o.unrecoverable, **kw)

    def twin(
        self,
        rng: np.random.Generator,
        blank_rate: float,
        forms: Mapping[str, float],
        missing: tuple[str, ...],
        eligible: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dirt for a clean column and its dirty twin.

        Returns (clean blank mask, dirty form per row, unrecoverable mask). A missing-like
        dirty form (``missing``) is recoverable where the clean twin has the value;
        where the clean twin is blank it is replaced by the canonical form, except on
        the designed unrecoverable cells (about 7% of the blanks, when ``unrecoverable``).
        """
        n = self.n
        blank = rng.random(n) < min(1.0, blank_rate)
        kind = self.draw(rng, forms)
        bad = rng.random(n) < UNREC_SHARE
        bad_kind = np.array(missing)[rng.integers(0, len(missing), size=n)]
        kind = np.where(blank & np.isin(kind, missing), "canonical", kind)
        unrec = blank & bad & self.o.unrecoverable
        if eligible is not None:
            unrec &= eligible
        kind = np.where(unrec, bad_kind, kind)
        return blank, kind, unrec

    def truth(self, col: str, dtype: Any = None) -> np.ndarray:
        return np.asarray(self.t[col], dtype=dtype)

    def ok(self, col: str, rec: np.ndarray | None = None) -> None:
        self.rec[col] = np.ones(self.n, dtype=bool) if rec is None else rec

    # columns -----------------------------------------------------------------------
    def customer_id(self) -> None:
        rng = self.rng("customer_id")
        ids = strs(self.truth("customer_id", object))
        rate = min(1.0, 5 * self.o.dirt_rate) if self.dup else self.o.dirt_rate / 3
        kind = _draw(rng, self.n, rate, {"pad": 1, "trail": 1, "lower": 1, "lower_pad": 1})
        out = objects(ids)
        _set(out, kind, "pad", lambda m: join(" ", ids[m], " "))
        _set(out, kind, "trail", lambda m: join(ids[m], " "))
        _set(out, kind, "lower", lambda m: np.strings.lower(ids[m]))
        _set(out, kind, "lower_pad", lambda m: join(" ", np.strings.lower(ids[m]), " "))
        self.cols["customer_id"] = out
        self.ok("customer_id")

    def age(self) -> None:
        rng = self.rng("age")
        age = self.truth("age", np.int64)
        forms = {"years": 3, "int": 2, "anos": 2, "dot0": 1.5, "spaces": 1.5, "y": 1,
                 "na": 1, "unknown": 0.7, "blank": 0.5}
        blank, kind, unrec = self.twin(rng, self.o.dirt_rate * 2 / 3, forms, ("na", "unknown", "blank"))
        s = strs(age)
        out = objects(s)
        _set(out, kind, "years", lambda m: join(s[m], " years"))
        _set(out, kind, "int", lambda m: objects(age[m]))
        _set(out, kind, "anos", lambda m: join(s[m], " años"))
        _set(out, kind, "dot0", lambda m: join(s[m], ".0"))
        _set(out, kind, "spaces", lambda m: join(" ", s[m], " "))
        _set(out, kind, "y", lambda m: join(s[m], "y"))
        _set(out, kind, "na", lambda m: "N/A")
        _set(out, kind, "unknown", lambda m: "unknown")
        _set(out, kind, "blank", lambda m: None)
        clean = np.where(blank, np.nan, age)  # float with NaN here, nullable Int64 in the frame
        self.cols["age"], self.cols["age_str_dirty"] = clean, out
        self.ok("age", ~unrec)
        self.ok("age_str_dirty", ~unrec)

    def gender(self) -> None:
        rng = self.rng("gender")
        g = self.truth("gender", object)
        # a blank reads as "Unknown": it loses information only where the gender is known
        kind = self.draw(rng, {"variant": 1}, ("blank",), unrec_rate=self.minor, eligible=g != "Unknown")
        r = rng.random(self.n)
        out = g.copy()
        variants = pick(g, GENDER_VARIANTS, r)
        _set(out, kind, "variant", lambda m: variants[m])
        _set(out, kind, "blank", lambda m: None)
        self.cols["gender"] = out
        self.ok("gender", kind != "blank")

    def income(self) -> None:
        rng = self.rng("income")
        cents = np.rint(self.truth("income", float) * 100).astype(np.int64)
        forms = {"grouped": 3, "int_grouped": 2, "int_symbol_grouped": 1, "symbol": 1,
                 "int_plain": 1, "spaces": 1, "plain": 1, "code": 0.5}
        kind = self.draw(rng, forms, ("blank", "na"))
        kind = _resolve_ambiguity(kind, ("grouped", "symbol", "plain", "code"), "grouped")
        out = objects(cents // 100)
        cur = self.o.currency
        for form in _MONEY_FORMS:
            if form in forms:
                _set(out, kind, form, lambda m, f=form: _money(cents[m], cur, f))
        _set(out, kind, "spaces", lambda m: join(" ", strs(cents[m] // 100), " "))
        _set(out, kind, "blank", lambda m: None)
        _set(out, kind, "na", lambda m: "N/A")
        self.cols["income"] = out
        self.ok("income", ~np.isin(kind, ("blank", "na")))

    def _count(self, col: str) -> None:
        """tenure_months / total_orders: integers, sometimes as strings."""
        rng = self.rng(col)
        v = self.truth(col, np.int64)
        kind = self.draw(rng, {"str": 2, "dot0": 1, "spaces": 1, "float": 1}, ("blank",), unrec_rate=self.minor)
        s = _Lazy(strs, v)
        out = objects(v)
        _set(out, kind, "str", lambda m: s[m])
        _set(out, kind, "dot0", lambda m: join(s[m], ".0"))
        _set(out, kind, "spaces", lambda m: join(" ", s[m], " "))
        _set(out, kind, "float", lambda m: objects(v[m].astype(float)))
        _set(out, kind, "blank", lambda m: None)
        self.cols[col] = out
        self.ok(col, kind != "blank")

    def tenure_months(self) -> None:
        self._count("tenure_months")

    def total_orders(self) -> None:
        self._count("total_orders")

    def recency(self) -> None:
        rng = self.rng("days_since_last_purchase_dirty")
        days = self.truth("days_since_last_purchase", float)
        never = self.truth("never_purchased", bool)
        forms = {"str": 3, "days": 2, "dias": 2, "spaces": 1, "dot0": 1, "d": 0.5, "blank": 0.5, "na": 0.3}
        blank, kind, unrec = self.twin(rng, self.o.dirt_rate * 4 / 3, forms, ("blank", "na"), eligible=~never)
        never_dirty = rng.random(self.n) < min(1.0, 3 * self.rate)
        never_form = (rng.random(self.n) * len(NEVER_CODES)).astype(np.int64)
        d = np.nan_to_num(days).astype(np.int64)
        s = _Lazy(strs, d)
        out = objects(d)
        _set(out, kind, "str", lambda m: s[m])
        _set(out, kind, "days", lambda m: join(s[m], " days"))
        _set(out, kind, "dias", lambda m: join(s[m], " días"))
        _set(out, kind, "spaces", lambda m: join(" ", s[m], " "))
        _set(out, kind, "dot0", lambda m: join(s[m], ".0"))
        _set(out, kind, "d", lambda m: join(s[m], "d"))
        _set(out, kind, "blank", lambda m: None)
        _set(out, kind, "na", lambda m: "N/A")
        codes = objects(NEVER_CODES)
        out[never] = "never"
        out[never & never_dirty] = codes[never_form[never & never_dirty]]
        clean = np.where(blank | never, np.nan, d)
        self.cols["days_since_last_purchase"] = clean
        self.cols["days_since_last_purchase_dirty"] = out
        self.ok("days_since_last_purchase", ~unrec)
        self.ok("days_since_last_purchase_dirty", ~unrec)

    def pct_reordered(self) -> None:
        rng = self.rng("pct_reordered_dirty")
        p = self.truth("pct_reordered", float)
        pm = np.rint(p * 1000).astype(np.int64)  # per mille: 0.452 -> 452 -> "45.2%"
        forms = {"pct": 3, "pct_comma": 1, "bare_float": 2, "bare_str": 1, "share_str": 1.5,
                 "pct_spaces": 1, "na": 0.5, "blank": 0.5}
        blank, kind, unrec = self.twin(rng, self.o.dirt_rate, forms, ("na", "blank"))
        # a bare percentage must be above 1 to read as a percentage (contract)
        kind = np.where(np.isin(kind, ("bare_float", "bare_str")) & (pm <= 10), "pct", kind)
        whole, tenth = _Lazy(lambda x: strs(x // 10), pm), _Lazy(lambda x: strs(x % 10), pm)
        out = objects(p)
        _set(out, kind, "pct", lambda m: join(whole[m], ".", tenth[m], "%"))
        _set(out, kind, "pct_comma", lambda m: join(whole[m], ",", tenth[m], " %"))
        _set(out, kind, "bare_float", lambda m: objects(pm[m] / 10))
        _set(out, kind, "bare_str", lambda m: join(whole[m], ".", tenth[m]))
        _set(out, kind, "share_str", lambda m: strs(p[m]))
        _set(out, kind, "pct_spaces", lambda m: join(" ", whole[m], ".", tenth[m], " % "))
        _set(out, kind, "na", lambda m: "N/A")
        _set(out, kind, "blank", lambda m: None)
        clean = p.copy()
        clean[blank] = np.nan
        self.cols["pct_reordered"], self.cols["pct_reordered_dirty"] = clean, out
        self.ok("pct_reordered", ~unrec)
        self.ok("pct_reordered_dirty", ~unrec)

    def avg_items_per_order(self) -> None:
        rng = self.rng("avg_items_per_order")
        v = self.truth("avg_items_per_order", float)
        forms = {"str": 2, "spaces": 1, "dec2": 1}
        if self.o.currency.decimal == ",":
            forms["comma"] = 1
        kind = self.draw(rng, forms, ("blank",), unrec_rate=self.minor)
        tenths = np.rint(v * 10).astype(np.int64)
        s = _Lazy(lambda t: join(strs(t // 10), ".", strs(t % 10)), tenths)
        out = objects(v)
        _set(out, kind, "str", lambda m: strs(v[m]))
        _set(out, kind, "spaces", lambda m: join(" ", s[m], " "))
        _set(out, kind, "dec2", lambda m: join(s[m], "0"))
        _set(out, kind, "comma", lambda m: np.strings.replace(s[m], ".", ","))
        _set(out, kind, "blank", lambda m: None)
        self.cols["avg_items_per_order"] = out
        self.ok("avg_items_per_order", kind != "blank")

    def region(self) -> None:
        rng = self.rng("region_dirty")
        reg = self.truth("region", object)
        forms = {"lower": 2, "upper": 1, "pad": 1, "typo": 3, "english": 1, "na": 0.2, "blank": 0.3}
        blank, kind, unrec = self.twin(rng, self.o.dirt_rate, forms, ("na", "blank"))
        r = rng.random(self.n)
        s = strs(reg)
        out = reg.copy()
        _set(out, kind, "lower", lambda m: np.strings.lower(s[m]))
        _set(out, kind, "upper", lambda m: np.strings.upper(s[m]))
        pads = np.array([" {} ", "{} ", " {}"])[(r * 3).astype(np.int64)]
        _set(out, kind, "pad", lambda m: _pad(np.strings.lower(s[m]), pads[m]))
        typos = pick(reg, REGION_TYPOS, r)
        english = pick(reg, REGION_ENGLISH, r)
        _set(out, kind, "typo", lambda m: typos[m])
        _set(out, kind, "english", lambda m: english[m])
        _set(out, kind, "na", lambda m: "N/A")
        _set(out, kind, "blank", lambda m: None)
        clean = reg.copy()
        clean[blank] = None
        self.cols["region"], self.cols["region_dirty"] = clean, out
        self.ok("region", ~unrec)
        self.ok("region_dirty", ~unrec)

    def _category(self, col: str, table: Mapping[str, tuple[str, ...]]) -> None:
        rng = self.rng(col)
        v = self.truth(col, object)
        kind = self.draw(rng, {"variant": 1}, ("blank",), unrec_rate=self.minor)
        variants = pick(v, table, rng.random(self.n))
        out = v.copy()
        _set(out, kind, "variant", lambda m: variants[m])
        _set(out, kind, "blank", lambda m: None)
        self.cols[col] = out
        self.ok(col, kind != "blank")

    def fav_category(self) -> None:
        self._category("fav_category", CATEGORY_VARIANTS)

    def signup_channel(self) -> None:
        self._category("signup_channel", CHANNEL_VARIANTS)

    def signup_date(self) -> None:
        rng = self.rng("signup_date_dirty")
        d = self.truth("signup_date").astype("datetime64[D]")
        forms = {"dmy_slash": 2, "dmy_slash_short": 0.5, "dmy_dash": 1, "dmy_dot": 1, "ymd_slash": 1,
                 "d_mon_y": 1, "mon_d_y": 1, "d_mes_y": 1, "excel": 1.5, "iso_time": 0.5}
        kind = self.draw(rng, forms, ("not_available", "na", "blank"))
        year, month, day = ymd(d)
        y, mo, dd = strs(year), zfill(month, 2), zfill(day, 2)
        en = np.array(MONTHS_EN, dtype=STR)[month - 1]
        es = np.array(MONTHS_ES, dtype=STR)[month - 1]
        out = objects(join(y, "-", mo, "-", dd))
        _set(out, kind, "dmy_slash", lambda m: join(dd[m], "/", mo[m], "/", y[m]))
        _set(out, kind, "dmy_slash_short", lambda m: join(strs(day[m]), "/", strs(month[m]), "/", y[m]))
        _set(out, kind, "dmy_dash", lambda m: join(dd[m], "-", mo[m], "-", y[m]))
        _set(out, kind, "dmy_dot", lambda m: join(dd[m], ".", mo[m], ".", y[m]))
        _set(out, kind, "ymd_slash", lambda m: join(y[m], "/", mo[m], "/", dd[m]))
        _set(out, kind, "d_mon_y", lambda m: join(strs(day[m]), " ", en[m], " ", y[m]))
        _set(out, kind, "mon_d_y", lambda m: join(en[m], " ", strs(day[m]), ", ", y[m]))
        _set(out, kind, "d_mes_y", lambda m: join(strs(day[m]), " ", es[m], " ", y[m]))
        _set(out, kind, "excel", lambda m: objects((d[m] - _EXCEL_EPOCH).astype(np.int64)))
        _set(out, kind, "iso_time", lambda m: join(y[m], "-", mo[m], "-", dd[m], " 00:00:00"))
        _set(out, kind, "not_available", lambda m: "not available")
        _set(out, kind, "na", lambda m: "N/A")
        _set(out, kind, "blank", lambda m: "")
        self.cols["signup_date_dirty"] = out
        self.ok("signup_date_dirty", ~np.isin(kind, ("not_available", "na", "blank")))

    def total_spent(self) -> None:
        rng = self.rng("total_spent_dirty")
        total = self.truth("total_spent", float)
        cents = np.rint(total * 100).astype(np.int64)
        whole = cents % 100 == 0
        forms = {"symbol": 3, "unrounded": 2, "plain": 2, "code": 1, "symbol_other_side": 1,
                 "symbol_space": 1, "grouped": 1}
        kind = self.draw(rng, forms, ("blank", "na"))
        # whole amounts are mostly shown without cents: "$2464", "$1,250" (ambiguous), "1250"
        r = rng.random(self.n)
        int_kind = np.array(("int_symbol", "int_symbol_grouped", "int_plain"))[rng.integers(0, 3, size=self.n)]
        jitter = rng.uniform(-0.0049, 0.0049, size=self.n)
        dirty = np.isin(kind, tuple(forms))
        kind = np.where(whole & dirty & (r < 0.8), int_kind, kind)
        kind = np.where(whole & (kind == "unrounded"), "plain", kind)
        kind = _resolve_ambiguity(kind, ("symbol", "unrounded", "plain", "code", "symbol_other_side",
                                         "symbol_space", "grouped"), "symbol")
        cur = self.o.currency
        if cur.decimal == ".":
            out = objects(cents / 100)
        else:
            out = objects(_money(cents, cur, "plain"))
        for form in _MONEY_FORMS:
            _set(out, kind, form, lambda m, f=form: _money(cents[m], cur, f))
        micro = np.rint((total + jitter) * 1e6).astype(np.int64)  # "25706.401475": rounds to the cents
        _set(out, kind, "unrounded", lambda m: join(strs(micro[m] // 10**6), cur.decimal, zfill(micro[m] % 10**6, 6)))
        _set(out, kind, "blank", lambda m: None)
        _set(out, kind, "na", lambda m: "N/A")
        self.cols["total_spent_dirty"] = out
        self.ok("total_spent_dirty", ~np.isin(kind, ("blank", "na")))

    def vip_score(self) -> None:
        rng = self.rng("vip_score")
        v = self.truth("vip_score", float)
        forms = {"str": 2, "pad": 1}
        if self.o.currency.decimal == ",":
            forms["comma"] = 1
        kind = self.draw(rng, forms, ("blank",), unrec_rate=self.minor)
        s = _Lazy(strs, v)
        out = objects(v)
        _set(out, kind, "str", lambda m: s[m])
        _set(out, kind, "pad", lambda m: join(" ", s[m], " "))
        _set(out, kind, "comma", lambda m: np.strings.replace(s[m], ".", ","))
        _set(out, kind, "blank", lambda m: None)
        self.cols["vip_score"] = out
        self.ok("vip_score", kind != "blank")

    def vip_flag(self) -> None:
        rng = self.rng("vip_flag")
        v = self.truth("vip_flag", np.int64)
        kind = self.draw(rng, {"str": 2, "bool": 1, "float": 1})
        out = objects(v)
        _set(out, kind, "str", lambda m: strs(v[m]))
        _set(out, kind, "bool", lambda m: objects(v[m].astype(bool)))
        _set(out, kind, "float", lambda m: objects(v[m].astype(float)))
        self.cols["vip_flag"] = out
        self.ok("vip_flag")

    def notes(self) -> None:
        rng = self.rng("notes")
        text = self.truth("notes", object)
        empty = pd.isna(text)
        kind = self.draw(rng, {"pad": 1, "newline": 0.5})
        s = strs(np.where(empty, "", text))
        out = text.copy()
        _set(out, kind, "pad", lambda m: join("  ", s[m], " "))
        _set(out, kind, "newline", lambda m: join(s[m], "\n"))
        self.cols["notes"] = out
        self.ok("notes")

    def json_prefs(self) -> None:
        rng = self.rng("json_prefs")
        promo = self.truth("promo_channel", object)
        level = self.truth("promo_level", np.int64)
        forms = {"single_quotes": 2, "upper_str_level": 2, "compact": 2, "reordered": 1, "title_pad": 1}
        kind = self.draw(rng, forms, ("truncated", "empty", "null", "garbage", "blank"))
        p, lv = strs(promo), strs(level)
        out = objects(join('{"promo": "', p, '", "level": ', lv, "}"))
        _set(out, kind, "single_quotes", lambda m: join("{'promo': '", p[m], "', 'level': ", lv[m], "}"))
        _set(out, kind, "upper_str_level",
             lambda m: join('{"promo": "', np.strings.upper(p[m]), '", "level": "', lv[m], '"}'))
        _set(out, kind, "compact", lambda m: join('{"promo":"', p[m], '","level":', lv[m], "}"))
        _set(out, kind, "reordered", lambda m: join('{"level": ', lv[m], ', "promo": "', p[m], '"}'))
        titled = pick(promo, {c: (c.title(),) for c in PROMO_CHANNELS}, np.zeros(self.n))
        _set(out, kind, "title_pad", lambda m: join(' {"promo": "', strs(titled[m]), '", "level": ', lv[m], "} "))
        _set(out, kind, "truncated", lambda m: join('{"promo": "', p[m], '", "level": ', lv[m]))
        _set(out, kind, "empty", lambda m: "{}")
        _set(out, kind, "null", lambda m: "null")
        _set(out, kind, "garbage", lambda m: "promo?")
        _set(out, kind, "blank", lambda m: None)
        self.cols["json_prefs"] = out
        self.ok("json_prefs", ~np.isin(kind, ("truncated", "empty", "null", "garbage", "blank")))

    # contact ----------------------------------------------------------------------
    def contact(self) -> None:
        n = self.n
        # e-mail
        rng = self.rng("email")
        email = self.truth("email", object)
        has = ~pd.isna(email)
        kind = self.draw(rng, {"capitalized": 1, "upper": 1, "pad": 1})
        kind = np.where(has, kind, "canonical")
        s = strs(np.where(has, email, ""))
        out = email.copy()
        _set(out, kind, "capitalized",
             lambda m: join(np.strings.upper(np.strings.slice(s[m], 0, 1)), np.strings.slice(s[m], 1, None)))
        _set(out, kind, "upper", lambda m: np.strings.upper(s[m]))
        _set(out, kind, "pad", lambda m: join(" ", s[m], " "))
        self.cols["email"] = out
        # phone: E.164 truth "+34612345678" in several renderings
        rng = self.rng("phone")
        phone = self.truth("phone", object)
        has = ~pd.isna(phone)
        forms = {"national": 2, "e164": 2, "intl00": 1, "dashes": 1, "paren": 1, "pairs": 1, "int": 1}
        kind = np.where(has, self.draw(rng, forms), "canonical")
        nat = np.strings.slice(strs(np.where(has, phone, "+34000000000")), 3, None)
        a, b, c = (np.strings.slice(nat, i, i + 3) for i in (0, 3, 6))
        p2 = [np.strings.slice(nat, i, i + 2) for i in (3, 5, 7)]
        out = objects(join("+34 ", a, " ", b, " ", c))
        out[~has] = None
        _set(out, kind, "national", lambda m: nat[m])
        _set(out, kind, "e164", lambda m: join("+34", nat[m]))
        _set(out, kind, "intl00", lambda m: join("0034 ", a[m], " ", p2[0][m], " ", p2[1][m], " ", p2[2][m]))
        _set(out, kind, "dashes", lambda m: join(a[m], "-", b[m], "-", c[m]))
        _set(out, kind, "paren", lambda m: join("(+34) ", a[m], " ", b[m], " ", c[m]))
        _set(out, kind, "pairs", lambda m: join(a[m], " ", p2[0][m], " ", p2[1][m], " ", p2[2][m]))
        _set(out, kind, "int", lambda m: objects(nat[m].astype(np.int64)))
        self.cols["phone"] = out
        # names
        for col in ("first_name", "last_name"):
            rng = self.rng(col)
            v = strs(self.truth(col, object))
            kind = self.draw(rng, {"upper": 1, "lower": 1, "pad": 1})
            out = objects(v)
            _set(out, kind, "upper", lambda m, v=v: np.strings.upper(v[m]))
            _set(out, kind, "lower", lambda m, v=v: np.strings.lower(v[m]))
            _set(out, kind, "pad", lambda m, v=v: join(v[m], " "))
            self.cols[col] = out
        # country
        rng = self.rng("country")
        kind = self.draw(rng, {"variant": 1})
        variants = pick(self.truth("country", object), {"ES": ("es", "España", "Spain", " ES", "ESP")}, rng.random(n))
        out = self.truth("country", object).copy()
        _set(out, kind, "variant", lambda m: variants[m])
        self.cols["country"] = out
        # zip: leading zeros lost when stored as a number
        rng = self.rng("zip")
        z = strs(self.truth("zip", object))
        kind = self.draw(rng, {"int": 2, "pad": 1})
        out = objects(z)
        _set(out, kind, "int", lambda m: objects(z[m].astype(np.int64)))
        _set(out, kind, "pad", lambda m: join(" ", z[m]))
        self.cols["zip"] = out
        # consent flags
        for col in CONTACT_COLUMNS[6:]:
            rng = self.rng(col)
            v = self.truth(col, object)
            kind = self.draw(rng, {"variant": 1})
            variants = pick(v, CONSENT_VARIANTS, rng.random(n))
            out = v.copy()
            _set(out, kind, "variant", lambda m, variants=variants: variants[m])
            self.cols[col] = out
        for col in CONTACT_COLUMNS:
            self.ok(col)

    # all ----------------------------------------------------------------------------
    def render(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        for step in (self.customer_id, self.age, self.gender, self.income, self.tenure_months,
                     self.total_orders, self.recency, self.pct_reordered, self.avg_items_per_order,
                     self.region, self.fav_category, self.signup_channel, self.signup_date,
                     self.total_spent, self.vip_score, self.vip_flag, self.notes, self.json_prefs):
            step()
        if self.o.contact:
            self.contact()
        if self.dup:
            self.blank_fields()
        return self.cols, self.rec

    def blank_fields(self) -> None:
        """Duplicate rows leave some fields blank (both twins of a field); unrecoverable cells."""
        rng = self.rng("_duplicate_blanks")
        draws = rng.random((self.n, len(_BLANKABLE)))
        if not self.o.unrecoverable:
            return
        for j, group in enumerate(_BLANKABLE):
            m = draws[:, j] < self.o.dirt_rate
            if group == ("gender",):
                m &= self.truth("gender", object) != "Unknown"
            if not m.any():
                continue
            for col in group:
                col_values = self.cols[col]
                col_values[m] = None if col_values.dtype == object else np.nan
                self.rec[col] = self.rec[col] & ~m


_BLANKABLE: tuple[tuple[str, ...], ...] = (
    ("age", "age_str_dirty"), ("gender",), ("income",), ("tenure_months",), ("total_orders",),
    ("days_since_last_purchase", "days_since_last_purchase_dirty"),
    ("pct_reordered", "pct_reordered_dirty"), ("avg_items_per_order",), ("region", "region_dirty"),
    ("fav_category",), ("signup_channel",), ("signup_date_dirty",), ("total_spent_dirty",),
    ("vip_score",), ("json_prefs",),
)


def _pad(values: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """Surround values with spaces following ``" {} "``-style patterns."""
    lead = np.strings.startswith(patterns, " ")
    trail = np.strings.endswith(patterns, " ")
    out = np.where(lead, join(" ", values), values)
    return np.where(trail, join(out, " "), out)


def _resolve_ambiguity(kind: np.ndarray, evidence: tuple[str, ...], fallback: str) -> np.ndarray:
    """Keep ambiguous money forms ("45,320") only if the column also shows its decimal
    convention in unambiguous cells; otherwise render them as ``fallback``."""
    ambiguous = np.isin(kind, _AMBIGUOUS_MONEY)
    if not ambiguous.any():
        return kind
    if np.isin(kind, evidence).any():
        return kind
    return np.where(ambiguous, fallback, kind)


def check_render(dirt_rate: float, duplicate_rate: float, currency: str) -> _Currency:
    if not 0.0 <= float(dirt_rate) <= 1.0:
        raise ParameterError(f"dirt_rate must be between 0 and 1, got {dirt_rate!r}")
    if not 0.0 <= float(duplicate_rate) <= 0.5:
        raise ParameterError(f"duplicate_rate must be between 0 and 0.5, got {duplicate_rate!r}")
    cur = _CURRENCIES.get(str(currency).upper())
    if cur is None:
        raise ParameterError(f"currency must be one of {', '.join(_CURRENCIES)}, got {currency!r}")
    return cur


def _frame(cols: Mapping[str, np.ndarray], names: list[str]) -> pd.DataFrame:
    data = {}
    for c in names:
        if c in ("age", "days_since_last_purchase"):
            data[c] = pd.array(cols[c], dtype="Int64")
        elif c == "pct_reordered":
            data[c] = pd.Series(cols[c], dtype="float64")
        else:
            data[c] = pd.Series(cols[c], dtype=object)
    return pd.DataFrame(data)


@dataclass(frozen=True)
class Rendered:
    raw: pd.DataFrame
    recoverable: pd.DataFrame | None
    source: np.ndarray  # truth row (position in the chunk) of each raw row
    duplicate: np.ndarray  # True on the second appearance of a customer


def render_arrays(
    truth: Mapping[str, np.ndarray],
    seed: int,
    chunk: int,
    *,
    dirt_rate: float,
    unrecoverable: bool,
    contact: bool,
    duplicate_rate: float,
    currency: str,
    max_duplicates: int | None = None,
    with_mask: bool = True,
) -> Rendered:
    cur = check_render(dirt_rate, duplicate_rate, currency)
    n = len(truth["customer_id"])
    opts = _Options(float(dirt_rate), bool(unrecoverable), bool(contact), cur)
    names = list(RAW_COLUMNS) + (list(CONTACT_COLUMNS) if contact else [])

    cols, rec = _Renderer(truth, seed, chunk, 1, opts, duplicate=False).render()

    rng = np.random.default_rng(np.random.SeedSequence([seed, chunk, 3]))
    m = int(rng.binomial(n, duplicate_rate)) if n else 0
    if max_duplicates is not None:
        m = min(m, max_duplicates)
    pick = np.sort(rng.choice(n, size=m, replace=False)) if m else np.zeros(0, dtype=np.int64)
    later = pick + rng.random(m) * (n - pick)  # a random position after the original
    order = np.argsort(np.concatenate([np.arange(n, dtype=float), later]), kind="stable")
    if m:
        dup_truth = {c: a[pick] for c, a in truth.items()}
        dcols, drec = _Renderer(dup_truth, seed, chunk, 2, opts, duplicate=True).render()
        cols = {c: np.concatenate([cols[c], dcols[c]])[order] for c in names}
        rec = {c: np.concatenate([rec[c], drec[c]])[order] for c in names}
    raw = _frame(cols, names)
    recov = pd.DataFrame({c: rec[c] for c in names}) if with_mask else None
    source = np.concatenate([np.arange(n), pick])[order]
    return Rendered(raw, recov, source, order >= n)


def row_truth(frame: pd.DataFrame, rendered: Rendered) -> pd.DataFrame:
    row_truth = frame.take(rendered.source).reset_index(drop=True)
    row_truth["is_duplicate"] = rendered.duplicate
    return row_truth


def render_dirty(
    truth: pd.DataFrame,
    seed: int = 1,
    *,
    dirt_rate: float = 0.15,
    unrecoverable: bool = True,
    contact: bool = False,
    duplicate_rate: float = 0.005,
    currency: Literal["USD", "EUR"] = "USD",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Render a truth table (from :func:`sample_customers`) as a dirty raw CRM export.

    Returns ``(raw, row_truth, recoverable)``, all with the same RangeIndex:

    * ``raw``: the 22 :data:`RAW_COLUMNS` in contract order (then :data:`CONTACT_COLUMNS`
      when ``contact``). Cells hold what Excel/CSV/parquet readers deliver: Python
      ``int``/``float``/``bool``/``str`` or ``None`` (object columns), except ``age`` and
      ``days_since_last_purchase`` (nullable ``Int64``) and ``pct_reordered`` (float).
    * ``row_truth``: the truth row behind each raw row (canonical ``customer_id``
      included) plus ``is_duplicate`` (True on the second appearance of a customer).
    * ``recoverable``: bool, one column per raw column; False where the cell does not
      let a contract-following parser recover the truth from its own row (designed
      cases only: the table below). With ``unrecoverable=False`` it is all True and no
      such cell is rendered.

    About ``dirt_rate`` of the cells of each column get a dirty form (``dirt_rate=0``
    renders the canonical export). About ``duplicate_rate`` of the customers appear a
    second time at a random later position, re-rendered with twice the dirt, an id
    variant on most of them, and (when ``unrecoverable``) some fields blank.

    Dirt catalogue (USD; ``currency="EUR"`` swaps money to ``2.464,06 €``-style)::

        column                          canonical           dirty forms                                  unrecoverable
        customer_id                     C000123             " C000123 ", "C000123 ", c000123, " c000123 "  -
        age / age_str_dirty             35 / "35"           clean blank (~2/3 rate); "35 years", 35,       both twins missing
                                                            "35 años", "35.0", " 35 ", "35y", "N/A",
                                                            "unknown", blank (these 3 only if age given)
        gender                          F M Other Unknown   female Mujer f "F " FEMALE Femenino, male ...  blank (truth known)
                                                            Otro; unknown Desconocido "" (Unknown only)
        income                          45320               "45,320.00", "45,320"*, "$45,320"*,           blank, "N/A"
                                                            "$45,320.00", "45320", " 45320 ",
                                                            "45320.00", "USD 45,320.00"
        tenure_months / total_orders    12                  "12", "12.0", " 12 ", 12.0                     blank
        days_since_last_purchase(+dirty) 71 / 71            clean blank (~4/3 rate); "71", "71 days",      both twins missing
                                                            "71 días", " 71 ", "71.0", "71d", blank, N/A;
                                        never: NaN/"never"  Never NEVER NUNCA nunca 9999 "9999" 99999
                                                            "99999" -1 "-1"
        pct_reordered(+dirty)           0.452 / 0.452       clean blank (rate); "45.2%", "45,2 %", 45.2,   both twins missing
                                                            "45.2", "0.452", " 45.2 % ", N/A, blank
                                                            (bare percentages only above 1)
        avg_items_per_order             3.5                 "3.5", " 3.5 ", "3.50" ("3,5" in EUR)          blank
        region / region_dirty           Norte / Norte       clean blank (rate); este NORTE " sur " typos   both twins missing
                                                            (REGION_TYPOS: nortee Nrte Oestee centro.),
                                                            North Centre Center, N/A, blank
        fav_category / signup_channel   Home / Mobile       case/space variants, Hogar Moda Deportes      blank
                                                            Belleza Electrónica Niños Alimentación;
                                                            App Móvil Tienda Online Referido Redes sociales
        signup_date_dirty               "2022-12-17"        17/12/2022 7/3/2022 17-12-2022 17.12.2022      "not available",
                                                            2022/12/17 "17 Dec 2022" "Dec 17, 2022"         "N/A", ""
                                                            "17 dic 2022" 44912 (Excel serial)
                                                            "2022-12-17 00:00:00"  -- never month-first
        total_spent_dirty               2464.06 (float)     "$2,464.06", "25706.401475", "2464.06",        blank, "N/A"
                                                            "USD 2,464.06", "2,464.06 $", "$ 2,464.06",
                                                            "2,464.06"; whole amounts: "$2464",
                                                            "$1,250"*, "1250"
        vip_score                       0.85                "0.85", " 0.85 " ("0,85" in EUR)               blank
        vip_flag                        1 / 0               "1"/"0", True/False, 1.0/0.0                   -
        notes                           text or None        "  text ", "text\\n", "" / " " when empty        -
        json_prefs                      {"promo": "push",   {'promo': 'sms', 'level': 1},                 truncated, "{}",
                                         "level": 2}        {"promo": "EMAIL", "level": "3"}, compact,     "null", "promo?",
                                                            key order, ' {"promo": "Push", ...} '          blank
        contact (contact=True)          fictional values    e-mail case/spaces; phone "612345678",         -
                                                            "+34612345678", "0034 612 34 56 78",
                                                            "612-345-678", "(+34) 612 345 678", int;
                                                            zip as int (leading 0 lost); country
                                                            es/España/Spain/ESP; consent TRUE/yes/sí/1/...

    ``*`` ambiguous by the contract (one separator followed by three digits): they are
    only rendered when the same column also shows its decimal convention in
    unambiguous cells, so a contract-following parser reads them right. Money columns
    use one currency and one decimal convention each; ``pct_reordered_dirty`` mixes
    ``"45.2%"`` and ``"45,2 %"`` but never needs a convention (shares are ``0.xxx``,
    percentages carry one decimal). Unrecoverable cells are about ``0.07 * dirt_rate``
    of the rows per column (about 1% at the default): json_prefs, signup_date_dirty,
    income, total_spent_dirty and the twins; half that for the blanks of gender,
    tenure_months, total_orders, avg_items_per_order, fav_category, signup_channel and
    vip_score. Duplicate rows also blank each field with probability ``dirt_rate``.

    Example:
        >>> from lookalike.synth import sample_customers
        >>> truth = sample_customers(500, seed=2)
        >>> raw, row_truth, ok = render_dirty(truth, seed=2)
        >>> len(raw) >= 500 and raw.index.equals(row_truth.index) and ok.shape == raw.shape
        True
    """
    seed = check_seed(seed)
    frame = truth.reset_index(drop=True)
    rendered = render_arrays(
        truth_arrays(frame, bool(contact)), seed, 0, dirt_rate=dirt_rate, unrecoverable=unrecoverable, contact=contact,
        duplicate_rate=duplicate_rate, currency=currency,
    )
    assert rendered.recoverable is not None
    return rendered.raw, row_truth(frame, rendered), rendered.recoverable


def render_options(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    allowed = {"dirt_rate": 0.15, "unrecoverable": True, "contact": False, "duplicate_rate": 0.005,
               "currency": "USD"}
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ParameterError(
            f"unknown option(s) {', '.join(unknown)}; render options are {', '.join(allowed)}"
        )
    return {**allowed, **kwargs}
