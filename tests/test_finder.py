import json

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import NearestNeighbors

import lookalike as lk
from lookalike.errors import InputError, ModelFormatError, ParameterError, UnknownCustomerError
from lookalike.index import build_index


@pytest.fixture
def finder(clean_table):
    return lk.LookalikeFinder().fit(clean_table)


def test_find_lookalikes_contract(finder, clean_table):
    out = finder.find_lookalikes("C000001", k=10)
    assert list(out.columns) == ["customer_id", "vip_flag", "total_spent", "total_orders", "region",
                                 "fav_category", "distance"]
    assert len(out) == 10
    assert "C000001" not in set(out.customer_id)
    assert out.distance.is_monotonic_increasing and (out.distance >= 0).all()


def test_find_lookalikes_frame_is_what_the_public_constructor_builds(finder, clean_table):
    # find_lookalikes builds its frame with pandas' fast private constructor: same frame, dtypes included
    out = finder.find_lookalikes("C000001", k=10)
    pos = finder.ids_.get_indexer(out["customer_id"].astype(str))
    cols = [c for c in out.columns if c != "distance"]
    expected = pd.DataFrame({c: finder.customers_[c].array.take(pos) for c in cols} | {"distance": out["distance"].to_numpy()},
                            index=pd.RangeIndex(10))
    pd.testing.assert_frame_equal(out, expected, check_exact=True)
    assert out.columns.equals(expected.columns) and out.columns.dtype == expected.columns.dtype
    assert out["total_orders"].dtype == finder.customers_["total_orders"].dtype  # Int64 kept, not float
    out.loc[0, "total_spent"] = -1.0  # a result is the caller's own: writing to it leaves the finder alone
    assert finder.find_lookalikes("C000001", k=10).loc[0, "total_spent"] != -1.0


def test_matches_sklearn_exact_neighbours(finder):
    X = finder.X_
    nn = NearestNeighbors(n_neighbors=6).fit(X)
    dist, idx = nn.kneighbors(X[[7]])
    out = finder.find_lookalikes(finder.ids_[7], k=5)
    expected = [finder.ids_[i] for i in idx[0] if i != 7][:5]
    assert list(out.customer_id) == expected
    np.testing.assert_allclose(out.distance, dist[0][1:6], rtol=1e-4, atol=1e-4)


def test_ids_are_matched_after_trimming_and_upper_casing(finder):
    a = finder.find_lookalikes("C000003", k=3)
    b = finder.find_lookalikes("  c000003 ", k=3)
    pd.testing.assert_frame_equal(a, b)


def test_query_excluded_even_with_exact_duplicates(clean_table):
    table = clean_table.copy()
    twin = table.iloc[[0]].copy()
    twin["customer_id"] = "TWIN"
    table = pd.concat([table, twin], ignore_index=True)
    finder = lk.LookalikeFinder().fit(table)
    out = finder.find_lookalikes("TWIN", k=3)
    assert "TWIN" not in set(out.customer_id)
    assert out.customer_id.iloc[0] == "C000001" and out.distance.iloc[0] == pytest.approx(0, abs=1e-6)


def test_unknown_id_and_bad_k(finder):
    with pytest.raises(UnknownCustomerError, match="X999"):
        finder.find_lookalikes("X999", k=3)
    n = finder.n_customers_
    with pytest.raises(ParameterError, match=rf"k <= {n - 1}.*k = {n}"):
        finder.find_lookalikes("C000001", k=n)
    for bad in (0, -1, 2.5, "3", True):
        with pytest.raises(ParameterError):
            finder.find_lookalikes("C000001", k=bad)
    # the largest valid k returns every other customer
    assert len(finder.find_lookalikes("C000001", k=n - 1)) == n - 1


def test_fit_refuses_bad_tables(clean_table):
    with pytest.raises(InputError, match="duplicated id"):
        lk.LookalikeFinder().fit(pd.concat([clean_table, clean_table.iloc[:2]]))
    with pytest.raises(InputError, match="at least 2"):
        lk.LookalikeFinder().fit(clean_table.iloc[:1])
    with pytest.raises(InputError, match="customer_id"):
        lk.LookalikeFinder().fit(clean_table.drop(columns=["customer_id"]))
    with pytest.raises(ParameterError, match="DataFrame"):
        lk.LookalikeFinder().fit([1, 2, 3])
    with pytest.raises(ParameterError, match="not fitted"):
        lk.LookalikeFinder().find_lookalikes("C000001")


def test_save_load_round_trip(finder, tmp_path):
    finder.save(tmp_path / "m")
    again = lk.LookalikeFinder.load(tmp_path / "m")
    pd.testing.assert_frame_equal(finder.find_lookalikes("C000010", k=7), again.find_lookalikes("C000010", k=7))
    assert again.feature_names_ == finder.feature_names_


def test_load_refuses_tampered_and_other_versions(finder, tmp_path):
    root = finder.save(tmp_path / "m")
    X = np.load(root / "features.npy")
    X[0, 0] += 1
    np.save(root / "features.npy", X)
    with pytest.raises(ModelFormatError, match="checksum"):
        lk.LookalikeFinder.load(root)
    root = finder.save(tmp_path / "m2")
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["format_version"] = 99
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="format 99"):
        lk.LookalikeFinder.load(root)
    with pytest.raises(ModelFormatError, match="not a Lookalike model"):
        lk.LookalikeFinder.load(tmp_path)


def test_index_backends_agree(finder):
    X = finder.X_
    d1, i1 = build_index(X, "faiss-flat").search(X[:20], 5)
    d2, i2 = build_index(X, "sklearn").search(X[:20], 5)
    np.testing.assert_allclose(d1, d2, rtol=1e-4, atol=1e-4)
    assert (i1 == i2).mean() > 0.99  # exact ties may order differently
    with pytest.raises(ParameterError, match="unknown index"):
        build_index(X, "hnsw-please")


def test_sensitive_columns_do_not_move_neighbours(clean_table):
    a = lk.LookalikeFinder().fit(clean_table)
    changed = clean_table.copy()
    changed["gender"] = pd.Categorical(np.where(changed.gender == "F", "M", "F"))
    changed["vip_flag"] = 1 - changed["vip_flag"]
    b = lk.LookalikeFinder().fit(changed)
    np.testing.assert_array_equal(a.X_, b.X_)


@pytest.mark.parametrize("raw", [" c000001 ", "C000001", "c 000 001", "ｃ０００００１", "C000001\u200b", 17.0, 17, "x-9"])
def test_canonical_id_agrees_with_the_cleaner(raw):
    from lookalike.cleaning.text import normalize_id
    from lookalike.finder import canonical_id, canonical_ids

    expected = normalize_id(pd.Series([raw], dtype=object)).values.iloc[0]
    assert canonical_id(raw) == expected
    assert list(canonical_ids([raw])) == [expected]


def test_the_base_profile_is_kept_with_the_fitted_table(finder, tmp_path, monkeypatch):
    """The audience profile's base column depends on the table alone: fit computes it once, every
    expansion reads it, and the profile is the one computed from the whole table (derived features
    and category order included)."""
    from lookalike.audience import expand

    base = finder.base_profile()
    assert base == expand.base_profile(finder.customers_, finder.spec_)
    assert any(c == "frequency" for c, _, _ in base)  # derived: not a column of the clean table
    assert [c for c, cat, _ in base if cat is not None][:1] == [finder.spec_.categorical[0]]

    calls = []
    real = expand.base_profile
    monkeypatch.setattr(expand, "base_profile", lambda *a: calls.append(1) or real(*a))
    result = finder.build_audience("vip", 40, scorer="auto")
    assert calls == []  # read from the finder, not computed again
    chosen = finder.ids_.get_indexer(result.audience["customer_id"])
    seeds = finder.ids_.get_indexer(result.seed_ids)
    want = expand.audience_profile(finder.customers_, seeds, chosen, finder.spec_)  # computes its base
    assert calls == [1]
    pd.testing.assert_frame_equal(result.profile, want)
    # the old way, every column of every group taken and derived in full
    derived = expand.derive_features(finder.customers_)
    for row in want.itertuples():
        column, _, category = row.feature.partition("=")
        col = derived[column]
        if not category:
            assert row.base == pytest.approx(float(col.astype("float64").mean()))
            assert row.seeds == pytest.approx(float(col.iloc[seeds].astype("float64").mean()))
        else:
            assert row.base == pytest.approx(float((col.astype(str) == category).mean()))
            assert row.audience == pytest.approx(float((col.iloc[chosen].astype(str) == category).mean()))

    finder.save(tmp_path / "m")  # not saved: a loaded finder computes it when an expansion asks
    loaded = lk.LookalikeFinder.load(tmp_path / "m")
    assert loaded._base is None and loaded.base_profile() == base


def test_value_ranks_are_kept_with_the_fitted_table(finder, tmp_path, monkeypatch):
    """The value column's percentiles and ranks depend on the table alone: fit computes them once,
    every expansion reads them, and the audience is the one computed without them."""
    from lookalike.audience import candidates, scoring

    pct, ranks = finder.value_ranks("total_spent")
    want = candidates.value_percentile_ranks(finder.customers_["total_spent"])
    np.testing.assert_array_equal(pct, want[0])
    np.testing.assert_array_equal(ranks, want[1])
    assert "total_spent" in finder._values and not pct.flags.writeable and not ranks.flags.writeable
    with pytest.raises(ValueError):
        pct[0] = 1.0  # shared by every expansion: nobody writes into them

    calls = []
    real = scoring.value_percentile_ranks
    monkeypatch.setattr(scoring, "value_percentile_ranks", lambda col: calls.append(col.name) or real(col))
    kept = finder.build_audience("vip", 40, scorer="auto")
    assert calls == []  # read from the finder, not sorted again
    fresh = lk.LookalikeFinder().fit(finder.customers_)
    fresh._values.clear()
    again = fresh.build_audience("vip", 40, scorer="auto")
    assert calls == []  # the finder computes them on first use
    pd.testing.assert_frame_equal(kept.audience, again.audience)
    with pytest.raises(ParameterError, match="not in the customer table"):
        finder.value_ranks("no_such_column")

    finder.save(tmp_path / "m")  # not saved: a loaded finder computes them when an expansion asks
    loaded = lk.LookalikeFinder.load(tmp_path / "m")
    assert loaded._values == {}
    np.testing.assert_array_equal(loaded.value_ranks("total_spent")[1], ranks)
