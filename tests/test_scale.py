"""The memory-lean data path: parquet read in batches, cleaned in chunks, same result as one-shot cleaning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lookalike as lk
from lookalike.cleaning.chunked import clean_in_chunks
from lookalike.errors import InputError, ParameterError
from lookalike.io import iter_parquet_batches
from lookalike.synth import generate


@pytest.fixture(scope="module")
def shuffled_raw() -> pd.DataFrame:
    """A dirty export with unusable rows, its rows shuffled so duplicates straddle batches."""
    raw = _with_unusable_rows(generate(4000, seed=11, duplicate_rate=0.02).raw)
    return raw.sample(frac=1, random_state=3).reset_index(drop=True)


def _with_unusable_rows(raw: pd.DataFrame) -> pd.DataFrame:
    """Every 150th row loses its id, every 200th row every value but its id: both are quarantined."""
    raw = raw.copy()
    raw.loc[raw.index[::150], "customer_id"] = None
    raw.loc[raw.index[7::200], [c for c in raw.columns if c != "customer_id"]] = None
    return raw


def test_chunked_cleaning_equals_one_shot(shuffled_raw):
    one = lk.clean_customers(shuffled_raw)
    ids = shuffled_raw["customer_id"].astype(str).str.strip().str.upper()
    # the test is only meaningful if some duplicated ids really sit in different batches
    batch_of = pd.Series(np.arange(len(ids)) // 700)
    spread = batch_of.groupby(ids.to_numpy()).nunique()
    assert (spread > 1).sum() >= 5
    ch = clean_in_chunks(shuffled_raw.iloc[i : i + 700] for i in range(0, len(shuffled_raw), 700))
    assert ch.report.balanced and ch.report.rows_in == len(shuffled_raw) == one.report.rows_in
    assert ch.report.rows_quarantined == one.report.rows_quarantined > 0
    assert ch.report.duplicates_merged == one.report.duplicates_merged > 0
    assert ch.report.quarantine_reasons == one.report.quarantine_reasons
    assert sorted(ch.quarantine.row_number) == sorted(one.quarantine.row_number)
    pd.testing.assert_frame_equal(ch.customers, one.customers)  # same rows, order, values and dtypes
    for col, rep in one.report.columns.items():
        for key in ("clean", "fixed", "ambiguous", "code", "missing", "invalid", "parsed", "parsed_share"):
            assert ch.report.columns[col][key] == rep[key], (col, key)
    assert ch.report.read["batches"] == 6


@pytest.mark.slow
def test_parquet_batches_keep_file_row_numbers(tmp_path):
    path = tmp_path / "raw.parquet"
    raw = _with_unusable_rows(generate(3000, seed=5).raw)
    mixed = raw.select_dtypes(include="object").columns  # parquet columns have one type: text
    raw[mixed] = raw[mixed].astype("string")
    raw.to_parquet(path, index=False, row_group_size=1000)
    whole = lk.read_customers(path)
    batches = list(iter_parquet_batches(path, batch_size=800))
    assert [len(b) for b in batches[:-1]] == [800] * (len(batches) - 1)
    assert sum(len(b) for b in batches) == len(whole)
    assert [b.attrs["read"]["first_row"] for b in batches] == list(range(1, len(whole) + 1, 800))
    ch = clean_in_chunks(iter_parquet_batches(path, batch_size=800))
    one = lk.clean_customers(whole)
    assert ch.report.balanced and len(ch.quarantine) == len(one.quarantine) > 0
    # quarantined rows carry their row number in the file, with the original values
    q = ch.quarantine.set_index("row_number")
    for row_number, row in q.head(5).iterrows():
        original = whole.iloc[row_number - 1]
        assert str(row["customer_id"]) == str(original["customer_id"])
    pd.testing.assert_frame_equal(ch.customers, one.customers)


def test_batch_reader_refuses_bad_input(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        next(iter_parquet_batches(tmp_path / "none.parquet"))
    fake = tmp_path / "fake.parquet"
    fake.write_text("id,age\n1,2\n")
    with pytest.raises(InputError, match="not a parquet file"):
        next(iter_parquet_batches(fake))
    with pytest.raises(ParameterError, match="batch_size"):
        next(iter_parquet_batches(fake, batch_size=0))


@pytest.mark.slow
def test_large_tables_fit_features_on_a_sample_in_batches(monkeypatch, tmp_path):
    import lookalike.finder as finder_module
    from tests.conftest import make_clean_customers

    table = make_clean_customers(4000, seed=1)
    full = lk.LookalikeFinder().fit(table)
    monkeypatch.setattr(finder_module, "FIT_SAMPLE", 4000)  # same statistics, features in batches
    monkeypatch.setattr(finder_module, "TRANSFORM_BATCH", 900)
    np.testing.assert_array_equal(lk.LookalikeFinder().fit(table).X_, full.X_)
    monkeypatch.setattr(finder_module, "FIT_SAMPLE", 2500)  # statistics from a 2,500-row sample
    sampled = lk.LookalikeFinder().fit(table)
    assert sampled.X_.dtype == np.float32 and sampled.X_.shape == full.X_.shape
    assert np.median(np.abs(sampled.X_ - full.X_)) < 0.05  # close to the full fit, not identical
    sampled.save(tmp_path / "m")  # load refits on the same sample, so the saved features check out
    np.testing.assert_array_equal(lk.LookalikeFinder.load(tmp_path / "m").X_, sampled.X_)


@pytest.mark.slow
def test_parallel_parquet_cleaning_equals_sequential(tmp_path):
    from lookalike.cleaning.chunked import clean_parquet

    path = tmp_path / "raw.parquet"
    raw = _with_unusable_rows(generate(2400, seed=8).raw)
    mixed = raw.select_dtypes(include="object").columns
    raw[mixed] = raw[mixed].astype("string")
    raw.to_parquet(path, index=False, row_group_size=600)
    one = clean_parquet(path, batch_size=1000, workers=1)
    two = clean_parquet(path, batch_size=1000, workers=2)
    pd.testing.assert_frame_equal(two.customers, one.customers)
    pd.testing.assert_frame_equal(two.quarantine, one.quarantine)
    assert two.report.to_dict()["rows"] == one.report.to_dict()["rows"] and two.report.read["batches"] == 3  # 1200 + 1200 + 9 rows
    with pytest.raises(ParameterError, match="workers"):
        clean_parquet(path, workers=0)


def test_rank_order_sorts_ids_only_where_needed():
    from lookalike.audience.expand import rank_order

    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(rng.integers(1, 300))
        score = rng.integers(0, 5, n) / 4  # many ties on purpose
        tiebreak = rng.integers(0, 3, n).astype(float)
        tiebreak[rng.random(n) < 0.2] = np.inf
        ids = np.array([f"C{i:04d}" for i in rng.permutation(n)], dtype=object)
        reference = np.lexsort((ids, tiebreak, -score))
        np.testing.assert_array_equal(rank_order(score, tiebreak, ids), reference)
        # the finder's Arrow-backed id index, as build_audience passes it (never turned into 10M strings)
        np.testing.assert_array_equal(rank_order(score, tiebreak, pd.Index(ids, dtype="str")), reference)
        head = int(rng.integers(1, n + 1))
        got = rank_order(score, tiebreak, ids, head=head)
        np.testing.assert_array_equal(got[:head], reference[:head])
        np.testing.assert_array_equal(rank_order(score, tiebreak, pd.Index(ids, dtype="str"), head=head), got)
        # with a head, the rows that can be in it: every row scoring at least the head's last
        assert len(set(got)) == len(got) and set(got) == set(np.flatnonzero(score >= score[reference[head - 1]]))


@pytest.mark.slow
def test_core_install_works_without_pyspark():
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['pyspark'] = None\n"  # as if PySpark were not installed
        "import lookalike, lookalike.cli, lookalike.distributed as d\n"
        "from lookalike.errors import ParameterError\n"
        "try:\n    d.require_pyspark()\nexcept ParameterError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install 'lookalike[spark]'" in out


def test_scale_tables_in_readme_and_docs_are_the_committed_results():
    # the README and docs/scale.md tables are written from bench/results/scale.json, never by hand
    import importlib.util
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("bench_scale", root / "bench" / "scale.py")
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    results = json.loads((root / "bench" / "results" / "scale.json").read_text("utf-8"))
    for path, render in ((root / "README.md", scale.readme_table), (root / "docs" / "scale.md", scale.doc_table)):
        text = path.read_text("utf-8")
        assert text.count(scale.TABLE_START) == 1 and text.count(scale.TABLE_END) == 1, path
        between = text.split(scale.TABLE_START, 1)[1].split(scale.TABLE_END, 1)[0].strip()
        assert between == render(results), f"{path.name}: stale scale table, run python bench/scale.py --tables"
    for n, r in results["sizes"].items():  # every size says how loaded the machine was
        assert len(r["load_average_at_start"]) == 3 and r["date"], n
        assert {"ingest_to_index_s", "peak_rss_gib_to_index", "recall_at_10", "query_p50_ms", "expand_auto_s"} <= set(r)


def test_foundation_table_in_readme_is_the_committed_run():
    # README's foundation table is written from bench/results/foundation.md, never by hand
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("bench_foundation", root / "bench" / "foundation.py")
    foundation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(foundation)
    text = (root / "README.md").read_text("utf-8")
    assert text.count(foundation.TABLE_START) == 1 and text.count(foundation.TABLE_END) == 1
    between = text.split(foundation.TABLE_START, 1)[1].split(foundation.TABLE_END, 1)[0].strip()
    md = (root / "bench" / "results" / "foundation.md").read_text("utf-8")
    assert between == foundation.readme_table(md), "stale foundation table: run python bench/foundation.py --tables"
    assert "Load average at start" in md and "seed script" in md  # the run says its load and its baseline
