"""Tests of the synthetic CRM export generator (lookalike.synth).

The recoverability tests carry a small *reference reader* written from the
contract's parsing conventions (section 1) alone: a cell is marked recoverable
exactly when this reader gets the truth back from the cell's own row.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import re
import unicodedata
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookalike import synth
from lookalike.errors import ParameterError, UnsupportedFormatError

# ----------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big() -> pd.DataFrame:
    return synth.sample_customers(100_000, seed=1)


@pytest.fixture(scope="module")
def data() -> synth.SynthData:
    return synth.generate(20_000, seed=11, contact=True)


@pytest.fixture(scope="module")
def data_eur() -> synth.SynthData:
    return synth.generate(5_000, seed=12, currency="EUR", contact=True)


# ----------------------------------------------------------------------------------------
# a reference reader that follows the contract's conventions
# ----------------------------------------------------------------------------------------


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().strip().lower()


def _blank(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


_CURRENCY = re.compile(r"USD|EUR|US\$|\$|€")


def _money_shape(v: object) -> tuple[str, str | None]:
    """(digits-and-separators text, decimal separator shown unambiguously or None)."""
    s = _CURRENCY.sub("", str(v)).replace(" ", "").strip()
    seps = [c for c in s if c in ".,"]
    if not seps:
        return s, None
    last = seps[-1]
    if len(set(seps)) == 2:
        return s, last
    if len(seps) > 1:
        return s, "," if last == "." else "."
    tail = len(s) - s.rfind(last) - 1
    return s, (last if tail != 3 else None)


def decimal_conventions(values: pd.Series) -> Counter:
    """How many cells of a money column show "." or "," as the decimal separator."""
    shown = Counter()
    for v in values:
        if isinstance(v, str) and not _blank(v):
            try:
                _, dec = _money_shape(v)
            except ValueError:
                continue
            if dec:
                shown[dec] += 1
    return shown


def parse_money(v: object, decimal: str) -> float | None:
    if _blank(v):
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    s, dec = _money_shape(v)
    seps = [c for c in s if c in ".,"]
    if seps and dec is None:  # one separator + exactly three digits: the column's convention
        dec = decimal if seps[-1] == decimal else None
    if dec is None:
        s = s.replace(".", "").replace(",", "")
    else:
        s = s.replace("," if dec == "." else ".", "").replace(dec, ".")
    try:
        return float(s)
    except ValueError:
        return None


def parse_number(v: object) -> float | None:
    if _blank(v):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip().replace(",", "."))
    except ValueError:
        return None


def parse_age(v: object) -> float | None:
    if _blank(v):
        return None
    m = re.fullmatch(r"(\d+)(?:\.0)?\s*(?:years|años|y)?", str(v).strip())
    return float(m.group(1)) if m else None


_NEVER = {"never", "nunca", "9999", "99999", "-1"}


def parse_recency(v: object) -> object:
    if _blank(v):
        return None
    s = str(v).strip().lower()
    if s in _NEVER:
        return "never"
    s = re.sub(r"\s*(days|días|d)$", "", s)
    try:
        return float(s)
    except ValueError:
        return None


def parse_pct(v: object) -> float | None:
    if _blank(v):
        return None
    if isinstance(v, (int, float)):
        x = float(v)
    else:
        s = str(v).strip()
        pct = s.endswith("%")
        try:
            x = float(s.rstrip("%").strip().replace(",", "."))
        except ValueError:
            return None
        if pct:
            return x / 100
    return x / 100 if x > 1 else x


def _lev(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


_REGION_EN = {"north": "Norte", "south": "Sur", "east": "Este", "west": "Oeste", "centre": "Centro", "center": "Centro"}


def parse_region(v: object) -> str | None:
    if _blank(v):
        return None
    s = re.sub(r"[^\w]", "", _fold(str(v)))
    if s in _REGION_EN:
        return _REGION_EN[s]
    exact = [r for r in synth.REGIONS if s == r.lower()]  # "este" is one edit from "oeste"
    if exact:
        return exact[0]
    close = [r for r in synth.REGIONS if _lev(s, r.lower()) <= 1]
    return close[0] if len(close) == 1 else None


_SYNONYMS = {
    "ninos": "Kids", "alimentacion": "Grocery", "deportes": "Sports", "belleza": "Beauty",
    "electronica": "Electronics", "moda": "Fashion", "hogar": "Home",
    "app": "Mobile", "movil": "Mobile", "online": "Web", "tienda": "Store", "referido": "Referral",
    "redes sociales": "Social",
}


def parse_label(v: object, labels: tuple[str, ...]) -> str | None:
    if _blank(v):
        return None
    s = _fold(str(v))
    by_lower = {x.lower(): x for x in labels}
    return by_lower.get(s) or _SYNONYMS.get(s)


_GENDER = {"f": "F", "female": "F", "mujer": "F", "femenino": "F", "m": "M", "male": "M", "hombre": "M",
           "masculino": "M", "other": "Other", "otro": "Other", "unknown": "Unknown", "desconocido": "Unknown"}


def parse_gender(v: object) -> str | None:
    return "Unknown" if _blank(v) else _GENDER.get(_fold(str(v)))


_MONTHS = {m.lower(): i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_MONTHS |= {"ene": 1, "abr": 4, "ago": 8, "sept": 9, "dic": 12}


def parse_date(v: object) -> date | None:
    if _blank(v):
        return None
    if isinstance(v, int):
        return date(1899, 12, 30) + timedelta(days=v)
    s = str(v).strip()
    try:
        if m := re.fullmatch(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?: 00:00:00)?", s):
            y, mo, d = map(int, m.groups())
        elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", s):  # day first
            d, mo, y = map(int, m.groups())
        elif m := re.fullmatch(r"(\d{1,2}) ([A-Za-z]+) (\d{4})", s):
            d, mo, y = int(m[1]), _MONTHS[m[2].lower()], int(m[3])
        elif m := re.fullmatch(r"([A-Za-z]+) (\d{1,2}), (\d{4})", s):
            mo, d, y = _MONTHS[m[1].lower()], int(m[2]), int(m[3])
        else:
            return None
        return date(y, mo, d)
    except (KeyError, ValueError):
        return None


def parse_prefs(v: object) -> tuple[str, int] | None:
    if _blank(v):
        return None
    try:
        obj = json.loads(v)
    except ValueError:
        try:
            obj = ast.literal_eval(str(v).strip())
        except (ValueError, SyntaxError):
            return None
    if not isinstance(obj, dict) or "promo" not in obj or "level" not in obj:
        return None
    return str(obj["promo"]).lower(), int(obj["level"])


_CONSENT = {"true": "true", "yes": "true", "si": "true", "1": "true", "false": "false", "no": "false",
            "0": "false", "unknown": "unknown", "desconocido": "unknown"}


def parse_phone(v: object) -> str | None:
    if _blank(v):
        return None
    digits = re.sub(r"\D", "", str(v))
    if digits.startswith("0034"):
        digits = digits[4:]
    elif len(digits) == 11 and digits.startswith("34"):
        digits = digits[2:]
    return "+34" + digits


def _cached(fn):
    """Parse each distinct raw value once (raw columns have few distinct values)."""
    memo: dict = {}

    def wrapper(v, *args):
        key = (type(v), v, *args)
        try:
            return memo[key]
        except KeyError:
            memo[key] = out = fn(v, *args)
            return out
        except TypeError:  # unhashable
            return fn(v, *args)

    return wrapper


parse_money, parse_number, parse_age, parse_recency, parse_pct, parse_region, parse_label, parse_gender, \
    parse_date, parse_prefs, parse_phone = map(_cached, (parse_money, parse_number, parse_age, parse_recency, parse_pct,
                                                       parse_region, parse_label, parse_gender, parse_date, parse_prefs,
                                                       parse_phone))


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return abs(float(a) - float(b)) < 1e-6
    return a == b


def _na(v: object) -> object:
    return None if _blank(v) else v


def recovered_vs_truth(raw: pd.DataFrame, truth: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per raw column: does the reference reader recover the truth from the cell's row?

    Twin columns (clean + dirty) are read together: the clean value wins, the dirty
    one fills the gaps (contract section 1), so both twins get the same verdict.
    """
    conv = {c: decimal_conventions(raw[c]).most_common(1)[0][0] if decimal_conventions(raw[c]) else "."
            for c in ("income", "total_spent_dirty")}
    R = {c: raw[c].astype(object).tolist() for c in raw.columns}
    T = {c: truth[c].astype(object).tolist() for c in truth.columns}

    def each(fn, *cols_r: str, truth_cols: tuple[str, ...] = ()) -> np.ndarray:
        return np.fromiter((fn(*a) for a in zip(*(R[c] for c in cols_r), *(T[c] for c in truth_cols))),
                           dtype=bool, count=len(raw))

    def twin(parse, a: str, b: str, t: str, true=None) -> np.ndarray:
        def ok(clean, dirty, tv, *extra):
            got = _na(clean)
            got = parse(dirty) if got is None else float(got) if not isinstance(got, str) else got
            tv = true(tv, *extra) if true else tv
            return got == tv if "never" in (got, tv) or isinstance(tv, str) else _same(got, float(tv))
        extra = ("never_purchased",) if t == "days_since_last_purchase" else ()
        return each(ok, a, b, truth_cols=(t, *extra))

    def recency_truth(days: object, never: bool) -> object:
        return "never" if never else days

    def spent_ok(v: object, tv: float) -> bool:
        x = parse_money(v, conv["total_spent_dirty"])
        return x is not None and round(x, 2) == tv

    out = {
        "customer_id": each(lambda v, tv: v.strip().upper() == tv, "customer_id", truth_cols=("customer_id",)),
        "age": twin(parse_age, "age", "age_str_dirty", "age"),
        "gender": each(lambda v, tv: parse_gender(v) == tv, "gender", truth_cols=("gender",)),
        "income": each(lambda v, tv: _same(parse_money(v, conv["income"]), tv), "income", truth_cols=("income",)),
        "days_since_last_purchase": twin(parse_recency, "days_since_last_purchase", "days_since_last_purchase_dirty",
                                         "days_since_last_purchase", true=recency_truth),
        "pct_reordered": twin(parse_pct, "pct_reordered", "pct_reordered_dirty", "pct_reordered"),
        "region": twin(parse_region, "region", "region_dirty", "region"),
        "fav_category": each(lambda v, tv: parse_label(v, synth.CATEGORIES) == tv, "fav_category", truth_cols=("fav_category",)),
        "signup_channel": each(lambda v, tv: parse_label(v, synth.CHANNELS) == tv, "signup_channel",
                               truth_cols=("signup_channel",)),
        "signup_date_dirty": each(lambda v, tv: parse_date(v) == tv.date(), "signup_date_dirty", truth_cols=("signup_date",)),
        "total_spent_dirty": each(spent_ok, "total_spent_dirty", truth_cols=("total_spent",)),
        "vip_flag": each(lambda v, tv: not _blank(v) and int(float(v)) == tv, "vip_flag", truth_cols=("vip_flag",)),
        "notes": each(lambda v, tv: (None if _blank(v) else v.strip()) == _na(tv), "notes", truth_cols=("notes",)),
        "json_prefs": each(lambda v, p, lv: parse_prefs(v) == (p, lv), "json_prefs",
                           truth_cols=("promo_channel", "promo_level")),
    }
    for col in ("tenure_months", "total_orders", "avg_items_per_order", "vip_score"):
        out[col] = each(lambda v, tv: _same(parse_number(v), float(tv)), col, truth_cols=(col,))
    for a, b in (("age", "age_str_dirty"), ("days_since_last_purchase", "days_since_last_purchase_dirty"),
                 ("pct_reordered", "pct_reordered_dirty"), ("region", "region_dirty")):
        out[b] = out[a]
    if "email" in raw.columns:
        out |= {
            "email": each(lambda v, tv: (None if _blank(v) else v.strip().lower()) == _na(tv), "email", truth_cols=("email",)),
            "phone": each(lambda v, tv: parse_phone(v) == _na(tv), "phone", truth_cols=("phone",)),
            "first_name": each(lambda v, tv: v.strip().lower() == tv.lower(), "first_name", truth_cols=("first_name",)),
            "last_name": each(lambda v, tv: v.strip().lower() == tv.lower(), "last_name", truth_cols=("last_name",)),
            "country": each(lambda v, tv: _fold(str(v)) in {"es", "espana", "spain", "esp"} and tv == "ES", "country",
                            truth_cols=("country",)),
            "zip": each(lambda v, tv: str(v).strip().zfill(5) == tv, "zip", truth_cols=("zip",)),
        }
        for c in synth.CONTACT_COLUMNS[6:]:
            out[c] = each(lambda v, tv: _CONSENT.get("unknown" if _blank(v) else _fold(str(v))) == tv, c, truth_cols=(c,))
    return {c: out[c] for c in raw.columns}


# ----------------------------------------------------------------------------------------
# the truth
# ----------------------------------------------------------------------------------------


def test_segments_table_is_consistent() -> None:
    names = [s.name for s in synth.SEGMENTS]
    assert names == ["high_value_loyal", "loyal", "regular", "occasional", "discount_hunter", "at_risk", "new"]
    assert sum(s.share for s in synth.SEGMENTS) == pytest.approx(1.0)
    for s in synth.SEGMENTS:
        for probs, labels in ((s.categories, synth.CATEGORIES), (s.channels, synth.CHANNELS),
                              (s.regions, synth.REGIONS), (s.promos, synth.PROMO_CHANNELS)):
            assert len(probs) == len(labels) and sum(probs) == pytest.approx(1.0), s.name
        assert 18 <= s.age[2] <= s.age[3] <= 74 and 2 <= s.orders[0] <= s.orders[1] <= 35
        assert 1 <= s.tenure[0] <= s.tenure[1] <= 119 and 0 <= s.recency[0] <= s.recency[1] <= 364


def test_segments_are_data_and_a_bad_table_is_refused(tmp_path) -> None:
    from lookalike.errors import InputError

    assert synth.load_segments() == synth.SEGMENTS
    assert [s.name for s in synth.SEGMENTS if s.vip_like] == ["high_value_loyal"]
    assert {s.name for s in synth.SEGMENTS if s.cooling > 0} == {"high_value_loyal", "loyal"}
    good = (Path(synth.__file__).parents[1] / "config" / "synth_segments.toml").read_text("utf-8")
    for old, new, message in (
        ("Kids = 0.04, ", "", "categories must give a probability for each of Kids"),
        ("share = 0.03\n", "share = 0.04\n", "shares must sum to 1"),
        ("age = [50, 7, 35, 65]", "age = [50, 7]", "age must be a list of 4 numbers"),
        ("vip = 0.18\n", "vip = 0.18\nvipp = 1\n", "needs the keys"),
    ):
        bad = tmp_path / "segments.toml"
        bad.write_text(good.replace(old, new, 1), "utf-8")
        with pytest.raises(InputError, match=message):
            synth.load_segments(bad)


def test_region_typos_are_one_edit_from_their_region_only() -> None:
    for region, typos in synth.REGION_TYPOS.items():
        for typo in typos:
            s = re.sub(r"[^\w]", "", typo.strip().lower())
            assert _lev(s, region.lower()) <= 1, typo
            assert all(_lev(s, other.lower()) >= 2 for other in synth.REGIONS if other != region), typo
            assert parse_region(typo) == region


def test_sample_customers_schema_ranges_and_ids(big: pd.DataFrame) -> None:
    c = big
    assert list(c.columns) == list(synth.TRUTH_COLUMNS)
    assert c["customer_id"].is_unique and c["customer_id"].iloc[0] == "C000001"
    assert c["customer_id"].str.fullmatch(r"C\d{6}").all()
    assert synth.sample_customers(1_234_567 // 1000, seed=1)["customer_id"].iloc[-1] == "C001234"
    assert c["age"].between(18, 74).all() and c["income"].between(5_000, 100_000).all()
    assert c["tenure_months"].between(1, 119).all() and c["total_orders"].between(2, 35).all()
    assert c["days_since_last_purchase"].dropna().between(0, 364).all()
    assert c["pct_reordered"].between(0, 1).all() and c["avg_items_per_order"].between(1, 14).all()
    assert set(c["region"]) == set(synth.REGIONS) and set(c["fav_category"]) == set(synth.CATEGORIES)
    assert set(c["signup_channel"]) == set(synth.CHANNELS) and set(c["gender"]) == set(synth.GENDERS)
    assert set(c["promo_channel"]) == set(synth.PROMO_CHANNELS) and set(c["promo_level"]) == {1, 2, 3}
    assert 0.06 < (c["promo_channel"] == "none").mean() < 0.10
    never = c["never_purchased"]
    assert 0.01 < never.mean() < 0.02
    assert (c["days_since_last_purchase"].isna() == never).all()
    assert (c["total_spent"] == c["total_spent"].round(2)).all()
    assert np.allclose(c["avg_ticket"] * c["total_orders"], c["total_spent"])
    months = (synth.REFERENCE_DATE.astype("datetime64[ns]") - c["signup_date"].to_numpy()) / np.timedelta64(1, "D") / 30.4375
    assert (np.floor(months) == c["tenure_months"]).mean() > 0.97
    assert 0.3 < c["notes"].notna().mean() < 0.5
    assert c["email"].dropna().str.fullmatch(r"[a-z]+\.[a-z]+\.\d+@example\.(com|org)").all()
    assert c["phone"].dropna().str.fullmatch(r"\+346\d{8}").all()
    assert set(c["country"]) == {"ES"} and c["zip"].str.fullmatch(r"\d{5}").all()
    for col in synth.CONTACT_COLUMNS[6:]:
        assert set(c[col]) == {"true", "false", "unknown"}


def test_vip_share_and_origin(big: pd.DataFrame) -> None:
    n, p = len(big), 0.006
    vips = big[big["vip_flag"] == 1]
    assert abs(len(vips) - n * p) < 4 * math.sqrt(n * p * (1 - p))
    assert (vips["segment"] == "high_value_loyal").mean() >= 0.8
    assert set(vips["segment"]) <= {"high_value_loyal", "loyal"}
    assert (vips["vip_score"] >= 0.8).mean() > 0.85
    assert big["vip_score"].between(0, 1).all()
    assert big["vip_score"].corr(np.log(big["total_spent"])) > 0.5


def test_vip_like_customers_look_like_vips(big: pd.DataFrame) -> None:
    like = big[big["vip_like"]]
    vips = big[big["vip_flag"] == 1]
    assert (like["segment"] == "high_value_loyal").all() and (like["vip_flag"] == 0).all()
    assert 0.015 < len(like) / len(big) < 0.035
    for col in ("total_spent", "total_orders", "income", "avg_ticket"):
        assert like[col].mean() == pytest.approx(vips[col].mean(), rel=0.2), col
    assert like["total_spent"].mean() > 4 * big["total_spent"].mean()


def test_behaviour_correlations(big: pd.DataFrame) -> None:
    c = big
    assert c["total_spent"].corr(c["total_orders"]) > 0.5
    by = c.groupby("segment")
    rec = by["days_since_last_purchase"].median()
    assert rec["at_risk"] > 2 * rec["loyal"] and rec["high_value_loyal"] < rec["regular"]
    ticket = by["avg_ticket"].median()
    assert ticket.idxmin() == "discount_hunter" and ticket.idxmax() == "high_value_loyal"
    assert by["income"].mean().idxmax() == "high_value_loyal" and by["age"].mean()["high_value_loyal"] > 45
    assert by["tenure_months"].max()["new"] <= 5 and by["total_orders"].max()["new"] <= 4
    assert by["pct_reordered"].mean().idxmax() == "high_value_loyal"
    share = pd.crosstab(c["segment"], c["fav_category"], normalize="index")
    assert share.loc["discount_hunter", ["Grocery", "Kids"]].sum() > 0.6
    assert share.loc["high_value_loyal", ["Electronics", "Home", "Fashion"]].sum() > 0.7
    channel = pd.crosstab(c["segment"], c["signup_channel"], normalize="index")
    assert channel.loc["discount_hunter", "Mobile"] > 0.5
    within = c[c["segment"] == "regular"]  # correlated within a segment, too
    assert within["total_orders"].corr(within["avg_ticket"]) > 0.1
    assert within["total_orders"].corr(within["days_since_last_purchase"]) < -0.1


# ----------------------------------------------------------------------------------------
# the raw export
# ----------------------------------------------------------------------------------------


def test_generate_is_deterministic_and_seed_sensitive() -> None:
    a, b = synth.generate(3_000, seed=5, contact=True), synth.generate(3_000, seed=5, contact=True)
    for field in ("raw", "row_truth", "recoverable", "customers"):
        pd.testing.assert_frame_equal(getattr(a, field), getattr(b, field))
    c = synth.generate(3_000, seed=6, contact=True)
    assert not a.customers["total_spent"].equals(c.customers["total_spent"])
    assert not a.raw["total_spent_dirty"].equals(c.raw["total_spent_dirty"])
    pd.testing.assert_frame_equal(a.customers, synth.sample_customers(3_000, seed=5))


def test_raw_has_contract_columns_in_order(data: synth.SynthData) -> None:
    small = synth.generate(500, seed=3)
    assert list(small.raw.columns) == list(synth.RAW_COLUMNS) and len(synth.RAW_COLUMNS) == 22
    assert list(data.raw.columns) == [*synth.RAW_COLUMNS, *synth.CONTACT_COLUMNS]
    for d in (small, data):
        assert d.raw.index.equals(d.row_truth.index) and d.raw.index.equals(d.recoverable.index)
        assert list(d.recoverable.columns) == list(d.raw.columns)
        assert (d.recoverable.dtypes == bool).all()
        assert list(d.row_truth.columns) == [*synth.TRUTH_COLUMNS, "is_duplicate"]


def _strings(s: pd.Series) -> pd.Series:
    return s[s.map(lambda v: isinstance(v, str))]


def test_every_dirt_kind_appears(data: synth.SynthData) -> None:
    raw = data.raw

    def has(col: str, pattern: str) -> bool:
        return bool(_strings(raw[col]).str.fullmatch(pattern).any())

    def has_value(col: str, value: object, kind: type) -> bool:
        return bool(raw[col].map(lambda v: isinstance(v, kind) and v == value).any())

    ids = raw["customer_id"]
    assert ids.str.startswith(" ").any() and ids.str.endswith(" ").any() and ids.str.fullmatch(r"\s*c\d+\s*").any()
    assert raw["age"].isna().mean() == pytest.approx(0.10, abs=0.02)
    for pattern in (r"\d+ years", r"\d+", r"\d+ años", r"\d+\.0", r" \d+ ", r"\d+y", "N/A", "unknown"):
        assert has("age_str_dirty", pattern), pattern
    assert raw["age_str_dirty"].map(lambda v: type(v) is int).any()
    for value in ("female", "Mujer", "male", "Hombre", "f", " M ", "Other", "Unknown"):
        assert has("gender", re.escape(value)), value
    assert raw["gender"].isna().any()
    for pattern in (r"\d{2},\d{3}\.\d\d", r"\d{2},\d{3}", r"\$\d{2},\d{3}", r"\d+", r"USD \d{2},\d{3}\.\d\d", "N/A"):
        assert has("income", pattern), pattern
    assert raw["income"].map(lambda v: type(v) is int).mean() > 0.7 and raw["income"].isna().any()
    for col in ("tenure_months", "total_orders"):
        assert has(col, r"\d+") and has(col, r"\d+\.0") and has(col, r" \d+ ")
    assert has("avg_items_per_order", r"\d+\.\d") and has("avg_items_per_order", r" \d+\.\d ")
    assert raw["days_since_last_purchase"].isna().mean() == pytest.approx(0.20 + 0.015, abs=0.03)
    recency = raw["days_since_last_purchase_dirty"]
    for pattern in (r"\d+", r"\d+ days", r"\d+ días", "never", "Never", "NUNCA", "9999", "-1"):
        assert has("days_since_last_purchase_dirty", pattern), pattern
    for code in (9999, 99999, -1):
        assert has_value("days_since_last_purchase_dirty", code, int), code
    assert recency.map(lambda v: type(v) is int and 0 <= v <= 364).mean() > 0.7
    assert raw["pct_reordered"].isna().mean() == pytest.approx(0.15, abs=0.02)
    for pattern in (r"\d+\.\d%", r"\d+,\d %", r"0\.\d+", r" \d+\.\d % "):
        assert has("pct_reordered_dirty", pattern), pattern
    assert raw["pct_reordered_dirty"].map(lambda v: isinstance(v, float) and v > 1).any()
    assert raw["region"].isna().mean() == pytest.approx(0.15, abs=0.02)
    for value in ("este", " nortee ", "NORTE", "Nrte", "Oestee", "centro.", "North", "Centre"):
        assert has("region_dirty", re.escape(value)), value
    assert has("region_dirty", r"\w+ ")
    for value in ("Hogar", "Moda", "Deportes", "Belleza", "Electrónica", "Niños", "Alimentación", "kids", " Home "):
        assert has("fav_category", re.escape(value)), value
    for value in ("App", "Tienda", "Online", "Referido", "mobile", "Redes sociales"):
        assert has("signup_channel", re.escape(value)), value
    for pattern in (r"\d{4}-\d\d-\d\d", r"\d\d/\d\d/\d{4}", r"\d\d-\d\d-\d{4}", r"\d\d\.\d\d\.\d{4}",
                    r"\d{4}/\d\d/\d\d", r"\d{1,2} [A-Z][a-z]{2} \d{4}", r"[A-Z][a-z]{2} \d{1,2}, \d{4}",
                    r"\d{1,2} (ene|feb|mar|abr|may|jun|jul|ago|sept|oct|nov|dic) \d{4}", "not available", "N/A", ""):
        assert has("signup_date_dirty", pattern), pattern
    assert raw["signup_date_dirty"].map(lambda v: type(v) is int and 35_000 < v < 47_000).any()
    for pattern in (r"\$\d{1,3}(,\d{3})*\.\d\d", r"\d+\.\d{6}", r"\d+\.\d\d", r"\$\d+", r"USD \d{1,3}(,\d{3})*\.\d\d",
                    r"\d{1,3}(,\d{3})*\.\d\d \$", r"\$ \d{1,3}(,\d{3})*\.\d\d", r"\$\d{1,3},\d{3}"):
        assert has("total_spent_dirty", pattern), pattern
    assert raw["total_spent_dirty"].map(lambda v: type(v) is float).mean() > 0.7
    assert not _strings(raw["total_spent_dirty"]).str.contains("€|EUR").any()
    assert has("vip_score", r"0\.\d+") and raw["vip_score"].map(lambda v: type(v) is float).any()
    assert has("vip_flag", "1") and has("vip_flag", "0") and has_value("vip_flag", True, bool)
    assert raw["vip_flag"].map(lambda v: type(v) is int).mean() > 0.7
    assert has("notes", "Prefiere comunicación por WhatsApp") and raw["notes"].isna().mean() > 0.4
    prefs = raw["json_prefs"]
    for value in ('{"promo": "push", "level": 2}', "{'promo': 'sms', 'level': 1}", '{"promo": "EMAIL", "level": "3"}',
                  '{"promo":"push","level":2}', '{"promo": "push", "level": 2', "{}", "null", "promo?"):
        assert (prefs == value).any(), value
    malformed = prefs.map(lambda v: parse_prefs(v) is None)
    assert 0.005 < malformed.mean() < 0.02
    # contact renderings
    phone = _strings(raw["phone"])
    for pattern in (r"\+34 6\d\d \d{3} \d{3}", r"6\d{8}", r"\+346\d{8}", r"0034 6\d\d \d\d \d\d \d\d", r"6\d\d-\d{3}-\d{3}"):
        assert phone.str.fullmatch(pattern).any(), pattern
    assert raw["zip"].map(lambda v: type(v) is int and v < 10_000).any()


def test_recoverable_mask_matches_a_contract_reader(data: synth.SynthData) -> None:
    got = recovered_vs_truth(data.raw, data.row_truth)
    for col, ok in got.items():
        mask = data.recoverable[col].to_numpy()
        wrong = np.flatnonzero(ok != mask)
        assert wrong.size == 0, (col, data.raw[col].iloc[wrong[:5]].tolist(), mask[wrong[:5]].tolist())
    assert data.recoverable.to_numpy().mean() > 0.98


def test_money_columns_show_one_decimal_convention(data: synth.SynthData, data_eur: synth.SynthData) -> None:
    for d, decimal in ((data, "."), (data_eur, ",")):
        for col in ("income", "total_spent_dirty"):
            shown = decimal_conventions(d.raw[col])
            assert set(shown) == {decimal}, (col, shown)
    ambiguous = _strings(data.raw["total_spent_dirty"]).str.fullmatch(r"\$\d{1,3},\d{3}")
    assert ambiguous.sum() >= 5
    rows = ambiguous[ambiguous].index
    assert (data.row_truth.loc[rows, "total_spent"] % 1 == 0).all()


def test_eur_export_renders_and_reads_back(data_eur: synth.SynthData) -> None:
    spent = _strings(data_eur.raw["total_spent_dirty"])
    assert spent.str.fullmatch(r"\d{1,3}(\.\d{3})*,\d\d €").any() and spent.str.fullmatch(r"€\d{1,3}(\.\d{3})*,\d\d").any()
    assert not spent.str.contains(r"\$|USD").any()
    got = recovered_vs_truth(data_eur.raw, data_eur.row_truth)
    for col, ok in got.items():
        assert (ok == data_eur.recoverable[col].to_numpy()).all(), col


def test_duplicates_map_to_the_same_canonical_id(data: synth.SynthData) -> None:
    raw, truth = data.raw, data.row_truth
    dup = truth["is_duplicate"]
    assert len(raw) == 20_000 + dup.sum() and 50 < dup.sum() < 160
    assert (raw["customer_id"].str.strip().str.upper() == truth["customer_id"]).all()
    assert truth.loc[~dup, "customer_id"].is_unique and truth["customer_id"].nunique() == 20_000
    assert (raw.loc[dup, "customer_id"] != truth.loc[dup, "customer_id"]).mean() > 0.5
    first = pd.Series(np.arange(len(truth)), index=truth.index).groupby(truth["customer_id"]).transform("min")
    assert (first[dup] < first[dup].index).all()  # the second appearance comes later
    assert (~data.recoverable[dup]).to_numpy().mean() > (~data.recoverable[~dup]).to_numpy().mean()
    originals = truth.index[~dup]
    assert truth.loc[originals, "customer_id"].tolist() == data.customers["customer_id"].tolist()


@pytest.mark.slow
def test_unrecoverable_false_changes_only_the_designed_cells(data: synth.SynthData) -> None:
    clean = synth.generate(20_000, seed=11, contact=True, unrecoverable=False)
    assert clean.recoverable.to_numpy().all()
    pd.testing.assert_frame_equal(clean.row_truth, data.row_truth)
    differ = ~((clean.raw == data.raw) | (clean.raw.isna() & data.raw.isna())).fillna(False)
    assert not (differ & data.recoverable).to_numpy().any()
    got = recovered_vs_truth(clean.raw, clean.row_truth)
    assert all(ok.all() for ok in got.values()), [c for c, ok in got.items() if not ok.all()]


def test_dirt_rate_zero_renders_the_canonical_export() -> None:
    d = synth.generate(3_000, seed=2, dirt_rate=0.0, duplicate_rate=0.0)
    raw, c = d.raw, d.customers
    assert len(raw) == 3_000 and d.recoverable.to_numpy().all()
    assert (raw["customer_id"] == c["customer_id"]).all() and (raw["age"] == c["age"]).all()
    assert (raw["total_spent_dirty"].astype(float) == c["total_spent"]).all()
    assert (raw["region_dirty"] == c["region"]).all() and raw["region"].notna().all()
    assert (raw["days_since_last_purchase_dirty"][c["never_purchased"]] == "never").all()
    assert raw["json_prefs"].str.fullmatch(r'\{"promo": "(push|sms|email|none)", "level": [123]\}').all()


def test_parameter_errors() -> None:
    with pytest.raises(ParameterError, match="positive integer"):
        synth.generate(0)
    with pytest.raises(ParameterError, match="dirt_rate"):
        synth.generate(10, dirt_rate=1.5)
    with pytest.raises(ParameterError, match="currency"):
        synth.generate(10, currency="GBP")
    with pytest.raises(ParameterError, match="unknown option"):
        synth.generate(10, dirty=0.2)
    with pytest.raises(ParameterError, match="sample_customers"):
        synth.render_dirty(pd.DataFrame({"customer_id": ["C1"]}))


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 400), seed=st.integers(0, 2**32 - 1), dirt=st.floats(0, 1), contact=st.booleans())
def test_render_invariants(n: int, seed: int, dirt: float, contact: bool) -> None:
    d = synth.generate(n, seed=seed, dirt_rate=dirt, contact=contact, duplicate_rate=0.05)
    assert len(d.customers) == n and len(d.raw) == len(d.row_truth) == len(d.recoverable) >= n
    assert (d.raw["customer_id"].str.strip().str.upper() == d.row_truth["customer_id"]).all()
    assert d.row_truth["customer_id"].nunique() == n
    got = recovered_vs_truth(d.raw, d.row_truth)
    for col, ok in got.items():
        assert (ok == d.recoverable[col].to_numpy()).all(), col


# ----------------------------------------------------------------------------------------
# writing files
# ----------------------------------------------------------------------------------------


def test_write_parquet_and_csv_round_trip(tmp_path) -> None:
    d = synth.generate(3_000, seed=4)
    for ext in ("parquet", "csv"):
        path = synth.write_synthetic(tmp_path / f"export.{ext}", 3_000, seed=4)
        back = pd.read_parquet(path) if ext == "parquet" else pd.read_csv(path, dtype=str, keep_default_na=False)
        assert list(back.columns) == list(synth.RAW_COLUMNS) and len(back) == len(d.raw)
        ids = back["customer_id"].astype(str).str.strip().str.upper()
        assert ids.tolist() == d.row_truth["customer_id"].tolist()
    schema = pq.read_schema(tmp_path / "export.parquet")
    assert str(schema.field("age").type) == "int64" and str(schema.field("pct_reordered").type) == "double"
    assert {str(schema.field(c).type) for c in synth.RAW_COLUMNS} == {"int64", "double", "string"}
    back = pd.read_parquet(tmp_path / "export.parquet")
    for col in ("total_spent_dirty", "vip_flag", "days_since_last_purchase_dirty", "notes"):
        expected = [None if v is None else str(v) for v in d.raw[col]]  # parquet keeps str() of each cell
        assert [None if pd.isna(v) else v for v in back[col]] == expected, col
    assert not list(tmp_path.glob("*.part"))


def test_csv_of_one_chunk_is_exactly_generate(tmp_path) -> None:
    path = synth.write_synthetic(tmp_path / "one.csv", 2_000, seed=8, chunk_size=5_000)
    raw = synth.generate(2_000, seed=8).raw
    assert path.read_text("utf-8") == raw.to_csv(index=False, lineterminator="\n")


def test_xlsx_never_overflows_the_sheet(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(synth.write, "XLSX_MAX_ROWS", 120)  # pretend the sheet is tiny
    path = synth.write_synthetic(tmp_path / "full.xlsx", 100, seed=1, chunk_size=40, duplicate_rate=0.5)
    back = pd.read_excel(path, engine="calamine")
    assert len(back) <= 120 and back["customer_id"].str.strip().str.upper().nunique() == 100
    with pytest.raises(ParameterError):
        synth.write_synthetic(tmp_path / "over.xlsx", 121, seed=1)


def test_write_xlsx_round_trip(tmp_path) -> None:
    path = synth.write_synthetic(tmp_path / "export.xlsx", 300, seed=4, contact=True)
    back = pd.read_excel(path, engine="calamine")
    d = synth.generate(300, seed=4, contact=True)
    assert list(back.columns) == [*synth.RAW_COLUMNS, *synth.CONTACT_COLUMNS] and len(back) == len(d.raw)
    assert back["customer_id"].str.strip().str.upper().tolist() == d.row_truth["customer_id"].tolist()


@pytest.mark.slow
def test_chunked_parquet_has_one_row_group_per_chunk(tmp_path) -> None:
    calls: list[int] = []
    path = synth.write_synthetic(tmp_path / "big.parquet", 250_000, seed=9, chunk_size=100_000, progress=calls.append)
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == 3 and calls == [100_000, 200_000, 250_000]
    ids = pq.read_table(path, columns=["customer_id"]).column(0).to_pandas().str.strip().str.upper()
    assert ids.nunique() == 250_000 and meta.num_rows > 250_000
    assert ids.str.fullmatch(r"C\d{6}").all() and {"C000001", "C100001", "C250000"} <= set(ids)


def test_csv_chunks_continue_ids_and_are_deterministic(tmp_path) -> None:
    calls: list[int] = []
    a = synth.write_synthetic(tmp_path / "a.csv", 250, seed=3, chunk_size=100, progress=calls.append)
    b = synth.write_synthetic(tmp_path / "b.csv", 250, seed=3, chunk_size=100)
    assert calls == [100, 200, 250] and a.read_bytes() == b.read_bytes()
    text = a.read_text("utf-8")
    assert text.count("customer_id,age,") == 1
    back = pd.read_csv(a, dtype=str)
    ids = back["customer_id"].str.strip().str.upper()
    assert ids.nunique() == 250 and set(ids) == {f"C{i:06d}" for i in range(1, 251)}


def test_write_refuses_unknown_extension_and_too_big_xlsx(tmp_path) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"\.parquet"):
        synth.write_synthetic(tmp_path / "x.json", 10)
    with pytest.raises(ParameterError, match=r"\.parquet or \.csv"):
        synth.write_synthetic(tmp_path / "x.xlsx", synth.XLSX_MAX_ROWS + 1)
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------------------
# byte-identical output (recorded on the single-module generator before it became a package)
# ----------------------------------------------------------------------------------------


def _frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's column names, dtypes and every cell's type and repr (1 and "1" differ)."""
    h = hashlib.sha256()
    for name in frame.columns:
        col = frame[name]
        h.update(f"{name}\x1e{col.dtype}\x1e".encode())
        h.update("\x1f".join(f"{type(v).__name__}:{v!r}" for v in col.tolist()).encode())
    return h.hexdigest()[:16]


_GENERATE_CASES = {
    # (n, seed, options): digests of raw, row_truth, recoverable, customers
    (1, 0, ()): ('865abaeaa425a703', 'c6101cc627ad2fcd', '8fac5d041af247d2', '1b3aa2d5741157e9'),
    (7, 1, ()): ('0f216fd1b5410790', '5382cdb7050da472', '33216a6384f29d80', '48104ae9e6ca22f9'),
    (257, 3, (("contact", True),)): ('819ce35757a8de25', 'f1d201b2340dabe7', '4eecbf7318182739', 'a67f3ad8c4ca6dad'),
    (2000, 11, ()): ('001dd88ab4ed300d', '5d1206691511c98c', 'd6d846168bee68a2', '1c3df6d7a97b93db'),
    (3000, 12, (("contact", True), ("currency", "EUR"))):
        ('2a2eb136d0415429', '4923330089831c63', '81705bd2382efae7', '120a871156395395'),
    (1500, 7, (("dirt_rate", 0.6), ("unrecoverable", False), ("duplicate_rate", 0.2))):
        ('44c03e00b370f1e8', '0d1d5e752c3f43a3', '8370419580af2e68', '37b96b7c125b7c4d'),
    (800, 2**40, (("dirt_rate", 0.0), ("duplicate_rate", 0.0), ("contact", True))):
        ('5873460ae5d5b024', '2fe0a8c1d822bc0c', '675c20aaa83e8866', 'f3be3a1d1e313452'),
    (4000, 99, (("duplicate_rate", 0.5), ("dirt_rate", 1.0), ("contact", True))):
        ('4a5732f0c0cd6fb3', '8d01e055a6b73cdb', '3e29d410e4e0cb2b', 'f31c9edfb9675ad1'),
}


@pytest.mark.parametrize(("n", "seed", "options"), list(_GENERATE_CASES))
def test_generate_output_is_unchanged(n: int, seed: int, options: tuple) -> None:
    d = synth.generate(n, seed, **dict(options))
    got = tuple(_frame_digest(getattr(d, f)) for f in ("raw", "row_truth", "recoverable", "customers"))
    assert got == _GENERATE_CASES[(n, seed, options)]


_WRITE_CASES = {
    # (file, n, seed, chunk_size, contact): SHA-256 of the CSV bytes / digest of the schema and cells read back
    ("x.csv", 2500, 5, 1000, True): "0685446ded25d8b9",
    ("x.parquet", 2500, 5, 1000, True): "dde6179f648bafcb",
    ("y.csv", 900, 8, 100000, False): "eadc46e48a7d6afc",
    ("y.parquet", 900, 8, 100000, False): "ed46703f2a56a355",
    ("z.xlsx", 300, 4, 100, True): "e4cb33535d284e16",
}


@pytest.mark.parametrize(("name", "n", "seed", "chunk_size", "contact"), list(_WRITE_CASES))
def test_write_synthetic_output_is_unchanged(tmp_path, name: str, n: int, seed: int, chunk_size: int,
                                             contact: bool) -> None:
    path = synth.write_synthetic(tmp_path / name, n, seed, chunk_size=chunk_size, contact=contact)
    if path.suffix == ".csv":
        got = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    elif path.suffix == ".xlsx":  # the workbook's bytes carry its creation time: compare the cells
        got = _frame_digest(pd.read_excel(path, engine="calamine"))
    else:  # parquet bytes carry the pyarrow version: compare schema, row groups and cells
        pf = pq.ParquetFile(path)
        got = _frame_digest(pf.read().to_pandas()) + f"/{pf.schema_arrow}/{pf.metadata.num_row_groups}"
        got = hashlib.sha256(got.encode()).hexdigest()[:16]
    assert got == _WRITE_CASES[(name, n, seed, chunk_size, contact)]
