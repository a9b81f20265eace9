"""The Arrow fast path of the cleaners gives exactly the results of the Python path.

Every column parser runs twice on the same input, once as usual (ASCII texts through
``pyarrow.compute``) and once inside ``_fast.disabled()`` (Python string methods only):
values, statuses, notes and extra outputs must be identical, and so must the whole
cleaned table and its quality report. Inputs: every column of the synthetic export at a
few seeds and currencies, the same columns with pandas' Arrow-backed ``str`` dtype (as
the xlsx and csv readers give them), and the fuzzers' cell strategies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lookalike as lk
from lookalike.cleaning import _common, _fast
from lookalike.cleaning._base import ColumnParse
from lookalike.cleaning.table import _column_parsers
from lookalike.cleaning.text import load_vocabulary
from lookalike.synth import generate

from .test_properties import CELLS, PARSERS

COLUMN_PARSERS = _column_parsers(load_vocabulary())
# the fuzzers' text cells (tests/reliability/test_fuzz.py) plus shapes the fast path reads itself
FUZZ_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="0123456789.,-+$€% eE()'", max_size=10),
    st.text(alphabet="0123456789.,' -+$%()eEUSDusdkr\t", max_size=16),
    st.text(alphabet="0123456789-/.: TZtamp", max_size=24),
    st.text(alphabet="cC0123456789 \t`", max_size=10),
    st.sampled_from(["", "N/A", "never", "9999", "=1+1", '"', "\n", "\r\n", ";", "\t", "|", "NaN", "1e999",
                     "2.464", "1,250", "0.500", "1,23,456", "12'345.50", "1 234,56", "(12.50)", "12.50-",
                     "USD12", "usd 12", "USDA 12", "12 USDX", "$-12", "-$12", "2022-02-30", "2022-1-5",
                     "2022-12-17 10:30", "2022.12.17", "17/12/22", "C000001", " c 01 ", "`a`"]),
)
FUZZ_COLUMNS = st.lists(st.one_of(CELLS, FUZZ_TEXT), max_size=40)


def assert_same_parse(fast: ColumnParse, slow: ColumnParse) -> None:
    pd.testing.assert_series_equal(fast.values, slow.values, check_exact=True)
    pd.testing.assert_series_equal(fast.status, slow.status)
    assert fast.notes == slow.notes
    assert fast.extra.keys() == slow.extra.keys()
    for key in fast.extra:
        pd.testing.assert_series_equal(fast.extra[key], slow.extra[key], check_exact=True)


def both_ways(parse, s: pd.Series) -> tuple[ColumnParse, ColumnParse]:
    fast = parse(s.copy())
    with _fast.disabled():
        slow = parse(s.copy())
    return fast, slow


def synthetic_exports() -> list[tuple[str, pd.DataFrame]]:
    out = []
    for seed, options in ((1, {}), (2, {"currency": "EUR"}), (3, {"dirt_rate": 0.6, "contact": True})):
        raw = generate(3000, seed=seed, **options).raw
        out.append((f"seed{seed}", raw))
    return out


EXPORTS = synthetic_exports()


@pytest.mark.parametrize("name,raw", EXPORTS, ids=[n for n, _ in EXPORTS])
def test_every_column_of_the_synthetic_export(name: str, raw: pd.DataFrame) -> None:
    checked = 0
    for column, parse in COLUMN_PARSERS.items():
        if column not in raw.columns:
            continue
        variants = [raw[column]]
        if raw[column].map(lambda v: v is None or isinstance(v, str)).all():
            variants.append(raw[column].astype("str"))  # Arrow-backed text, as the readers give it
        for s in variants:
            fast, slow = both_ways(parse, s)
            assert_same_parse(fast, slow)
            checked += 1
    assert checked >= 22


@pytest.mark.parametrize("name,raw", EXPORTS, ids=[n for n, _ in EXPORTS])
def test_the_whole_clean_agrees(name: str, raw: pd.DataFrame) -> None:
    fast = lk.clean_customers(raw.copy())
    with _fast.disabled():
        slow = lk.clean_customers(raw.copy())
    pd.testing.assert_frame_equal(fast.customers, slow.customers, check_exact=True)
    pd.testing.assert_frame_equal(fast.quarantine, slow.quarantine, check_exact=True)
    assert fast.report.to_dict() == slow.report.to_dict()


@pytest.mark.slow
@given(cells=FUZZ_COLUMNS)
def test_every_parser_on_fuzzed_columns(cells: list) -> None:
    s = pd.Series(cells, dtype=object)
    for parse, _ in PARSERS.values():
        fast, slow = both_ways(parse, s)
        assert_same_parse(fast, slow)


@pytest.mark.slow
@given(cells=st.lists(FUZZ_TEXT, min_size=1, max_size=40))
def test_every_parser_on_fuzzed_text_columns(cells: list) -> None:
    # all text: the columns the fast path reads almost entirely itself
    s = pd.Series(cells, dtype=object)
    for parse, _ in PARSERS.values():
        fast, slow = both_ways(parse, s)
        assert_same_parse(fast, slow)


@given(cells=st.lists(st.one_of(st.integers(-(2**60), 2**60), st.floats(), st.none(), FUZZ_TEXT,
                                st.sampled_from([0, 1, 0.0, -0.0, 1.0, 2, 2.0, "1", "x"])), max_size=40))
def test_factorize_agrees_on_mixed_columns(cells: list) -> None:
    # text and plain numbers are factorized apart on the fast path (numbers as float64)
    s = pd.Series(cells, dtype=object)
    fast = _common.factorize(s)
    with _fast.disabled():
        slow = _common.factorize(s)
    np.testing.assert_array_equal(fast.codes, slow.codes)
    np.testing.assert_array_equal(fast.counts, slow.counts)
    assert [(type(v), repr(v)) for v in fast.values] == [(type(v), repr(v)) for v in slow.values]


def _reference_factorize(cells: list) -> tuple[list[int], list]:
    """The factorize rule cell by cell: nulls -1; booleans apart from the numbers equal to them;
    otherwise Python equality (1 == 1.0, 0.0 == -0.0); each unique is its first cell."""
    seen: dict = {}
    codes, values = [], []
    for v in cells:
        if v is None or (isinstance(v, float) and v != v):
            codes.append(-1)
            continue
        key = (isinstance(v, (bool, np.bool_)), v)
        if key not in seen:
            seen[key] = len(values)
            values.append(v)
        codes.append(seen[key])
    return codes, values


def _assert_factorize_matches_reference(cells: list) -> None:
    s = pd.Series(cells, dtype=object)
    want_codes, want_values = _reference_factorize(cells)
    for u in (_common.factorize(s), _slow_factorize(s)):
        np.testing.assert_array_equal(u.codes, want_codes)
        assert [(type(v), v) for v in u.values] == [(type(v), v) for v in want_values]
        np.testing.assert_array_equal(u.counts, np.bincount([c for c in want_codes if c >= 0],
                                                            minlength=len(want_values)))
        np.testing.assert_array_equal(_common.kinds_of(u), _common.kinds(np.array(want_values, dtype=object)))
        nums = np.array([float(v) if k == _common.K_NUM else np.nan
                         for v, k in zip(want_values, _common.kinds(np.array(want_values, dtype=object)))])
        np.testing.assert_array_equal(_common.numbers_of(u), nums)


def _slow_factorize(s: pd.Series) -> _common.Uniques:
    with _fast.disabled():
        return _common.factorize(s)


ADVERSARIAL = [0, 1, 0.0, -0.0, 1.0, True, False, np.bool_(True), 2**53, 2**53 + 1, float("inf"), float("-inf"),
               float("nan"), None, "1", "1.0", " 1", "\u0661", "\uff11", "1\u00a0", "\t1\n", "", "x", np.float32(0.1),
               0.1, np.int64(7), 7, 7.0, 12345678901234567890]


@pytest.mark.parametrize("head", ["text", "amounts"])
@pytest.mark.parametrize("tail", ["plain", "adversarial"])
def test_near_unique_columns_factorize_like_the_general_path(head: str, tail: str) -> None:
    # columns whose first cells are mostly distinct take the Arrow (text) or float64 (amounts) route
    rng = np.random.default_rng(5)
    n = 6000
    if head == "text":
        cells = [f"C{i:06d}" if i % 97 else None for i in rng.permutation(n)] + ["C000005", "c000005", "Ñ1"]
    else:
        cells = [round(float(x), 2) if i % 7 else f"${x:,.2f}" for i, x in enumerate(rng.uniform(0, 5000, n))]
        cells += [12, 12.0, 0, -0.0, 0.0, None, float("nan"), "12", 1, 1.0]
    if tail == "adversarial":
        cells += ADVERSARIAL + cells[:50]
    _assert_factorize_matches_reference(cells)


def test_the_near_unique_routes_are_taken() -> None:
    # guards the test above against comparing the general path with itself
    ids = pd.Series([f"C{i:06d}" for i in range(5000)], dtype=object)
    assert _common.factorize(ids).text is not None and _slow_factorize(ids).text is None
    amounts = pd.Series([i * 1.01 for i in range(5000)] + ["$1.00"], dtype=object)
    assert _common._factorize_split(amounts, amounts.to_numpy()) is not None
    mixed = pd.Series([i * 1.01 for i in range(5000)] + [True], dtype=object)  # a boolean: the general path
    assert _common._factorize_split(mixed, mixed.to_numpy()) is None


def test_the_fast_path_is_taken() -> None:
    # guards the agreement tests above against comparing the slow path with itself
    values = np.array([" C000001 ", "c 2", "Ñandú"], dtype=object)
    part = _fast.ascii_part(values)
    assert part is not None and part[0].tolist() == [True, True, False]
    with _fast.disabled():
        assert _fast.ascii_part(values) is None


def test_money_of_every_currency_and_annotation_agrees() -> None:
    # issue 16: currency words and symbols of CLDR, annotations ("HT", "+ VAT", "*"), "12.-"
    from .test_money import REAL_WORLD, REFUSED

    texts = [raw for raw, _ in REAL_WORLD] + REFUSED
    for s in (pd.Series(texts, dtype=object), pd.Series(texts).astype("str")):
        fast, slow = both_ways(COLUMN_PARSERS["total_spent_dirty"], s)
        assert_same_parse(fast, slow)
