"""The scorers' large-table paths (row-wise weighting, blocked and threaded prediction, threaded
ranking) give exactly the numbers of the plain whole-matrix computations they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from lookalike.audience import candidates as C


def _data(n: int = 3000, d: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    seeds = np.flatnonzero(X[:, 0] + 0.5 * rng.standard_normal(n) > 1.6)
    return X, seeds


def _large_path(monkeypatch) -> None:
    """Make a 3,000-row table take the path of a 10M-row one: threads, many small blocks."""
    monkeypatch.setattr(C, "PARALLEL_PREDICT_ROWS", 1)
    monkeypatch.setattr(C, "PREDICT_THREADS", 2)
    monkeypatch.setattr(C, "PREDICT_BLOCK", 257)


def test_weighted_features_read_rows_as_the_weighted_copy():
    X, _ = _data()
    before = X.copy()
    w = np.random.default_rng(1).uniform(0, 3, X.shape[1]).astype(np.float32)
    W, full = C.weighted(X, w), X * w
    rows = np.array([5, 0, 5, len(X) - 1])
    assert np.array_equal(W[rows], full[rows])
    assert np.array_equal(W[rows.reshape(2, 2)], full[rows.reshape(2, 2)])  # the explanations' rows × k reads
    assert np.array_equal(W[10:20], full[10:20])
    assert W.shape == X.shape and len(W) == len(X)
    assert np.array_equal(X, before)  # reading never weights the matrix itself (a slice is a view)
    assert C.weighted(X, None) is X


@pytest.mark.parametrize("kind", [pytest.param("gbm", marks=pytest.mark.slow), "classifier"])
def test_blocked_threaded_prediction_gives_the_whole_matrix_numbers(kind, monkeypatch):
    X, seeds = _data()
    base = C._base_sample(len(X), seeds, 0, size=1000)
    plain = C._seed_vs_base(kind, X, seeds, None, base)
    _large_path(monkeypatch)
    fast = C._seed_vs_base(kind, X, seeds, None, base)
    assert np.array_equal(plain.similarity, fast.similarity)
    assert np.array_equal(plain.tiebreak, fast.tiebreak)

    # the cross-fit by hand: each half of the base is scored by the model fitted against the other
    # half, every other customer by the model fitted against the whole sample
    perm = np.random.default_rng(0).permutation(base)
    halves = (np.sort(perm[: len(perm) // 2]), np.sort(perm[len(perm) // 2:]))

    def logits(against):
        model, shift = C._fit_model(kind, X, seeds, None, against, 0)
        return model.decision_function(X).astype(np.float64) + shift

    logit = logits(base)
    logit[halves[0]], logit[halves[1]] = logits(halves[1])[halves[0]], logits(halves[0])[halves[1]]
    logit += C._prior_logit(len(seeds), len(X))
    np.testing.assert_allclose(fast.similarity, 1 / (1 + np.exp(-logit)), rtol=1e-12, atol=0)
    assert not np.isin(seeds, base).any() and np.isin(halves[0], base).all()


def test_weighted_scoring_matches_scoring_the_weighted_copy(monkeypatch):
    X, seeds = _data()
    base = C._base_sample(len(X), seeds, 0, size=1000)
    w = np.array([3.0, 0.0, 1.0, 0.5, 0.0, 1.5], dtype=np.float32)
    _large_path(monkeypatch)
    for score in (C.score_gbm, C.score_classifier):
        a = score(C.weighted(X, w), seeds, base=base)
        b = score(X * w, seeds, base=base)
        assert np.array_equal(a.similarity, b.similarity)
    a = C.score_seed_share(C.weighted(X, w), seeds, reference=base)
    b = C.score_seed_share(X * w, seeds, reference=base)
    assert np.array_equal(a.similarity, b.similarity) and np.array_equal(a.tiebreak, b.tiebreak)


@pytest.mark.parametrize("subset", [False, True])
def test_threaded_rank_average_is_the_plain_mean_rank(subset, monkeypatch):
    rng = np.random.default_rng(3)
    sims = [rng.random(5000), np.round(rng.random(5000), 2), rng.integers(0, 5, 5000).astype(float)]  # with ties
    rows = np.sort(rng.choice(5000, 1200, replace=False)) if subset else None
    picked = np.arange(5000) if rows is None else rows
    expected = np.zeros(5000)
    for s in sims:
        expected[picked] += rankdata(s[picked], method="average") / len(picked)
    expected[picked] /= len(sims)
    assert np.array_equal(C.rank_average(sims, rows), expected)
    _large_path(monkeypatch)
    assert np.array_equal(C.rank_average(sims, rows), expected)


def test_value_percentile_is_pandas_percentile_rank():
    rng = np.random.default_rng(4)
    v = pd.Series(np.round(rng.lognormal(3, 1, 20_000), 1))  # many ties
    v[rng.random(len(v)) < 0.1] = np.nan
    v = v.astype(object)
    v[:3] = ["12,5", "n/a", None]  # text the value column may still hold: not a number, ranked last
    expected = pd.to_numeric(v, errors="coerce").astype("float64").rank(method="average", pct=True).fillna(0.0)
    assert np.array_equal(C.value_percentile(v), expected.to_numpy())
    assert np.array_equal(C.value_percentile(pd.Series([None, None], dtype=object)), np.zeros(2))


def test_average_ranks_are_scipy_average_ranks():
    rng = np.random.default_rng(5)
    for x in (rng.random(10_000), np.round(rng.normal(size=10_000), 1), np.array([0.0, -0.0, 1.0, 0.0]),
              np.array([2.0]), rng.integers(0, 3, 50).astype(np.float32)):
        assert np.array_equal(C.average_ranks(x), rankdata(x, method="average"))
    with_nan = np.array([1.0, np.nan, 0.5])
    assert np.array_equal(C.average_ranks(with_nan), rankdata(with_nan, method="average"), equal_nan=True)


def test_fill_formats_every_row_as_the_plain_loop():
    from lookalike.audience.explain import _fill

    rng = np.random.default_rng(3)
    n = 2000
    columns = {"value": rng.choice(np.array(["1", "2", "3,5", "–"], dtype=object), n),
               "share": rng.choice(np.array(["10 %", "20 %", float("nan")], dtype=object), n),
               "seeds": np.full(n, "the VIPs", dtype=object),
               "category": rng.choice(np.array([f"c{i}" for i in range(300)], dtype=object), n)}
    template = "{value} and {share} of {seeds} in {category}"
    plain = [template.format(**{k: v[i] for k, v in columns.items()}) for i in range(n)]
    assert _fill(template, columns).tolist() == plain
    assert _fill("{value}!", {"value": columns["value"]}).tolist() == [f"{v}!" for v in columns["value"]]
    assert _fill("{value}", {"value": np.array([], dtype=object)}).tolist() == []


@pytest.mark.parametrize("dtype", ["Int64", "Float64", "boolean", "bool", "int64", "float32", "uint8",
                                   "int64[pyarrow]", "object", "str", "category"])
def test_number_and_flag_shortcuts_are_pandas_to_numeric(dtype):
    from lookalike.audience.seeds import flag_set
    from lookalike.features import to_number

    raw = {"bool": [True, False, True], "int64": [1, 0, 2], "uint8": [1, 0, 2]}.get(
        dtype, [True, None, False] if dtype == "boolean" else ["1", None, "x"] if dtype in ("object", "str", "category")
        else [1, None, 0])
    s = pd.Series(raw, dtype=dtype)
    pd.testing.assert_series_equal(to_number(s), pd.to_numeric(s, errors="coerce"))
    # a nullable boolean with a gap made pandas' spelling raise (fillna(0) on booleans): a gap is "not set"
    expected = (s.eq(True).fillna(False) if dtype == "boolean"
                else pd.to_numeric(s, errors="coerce").fillna(0).eq(1)).tolist()
    assert flag_set(s).tolist() == expected


def _tree_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows the trees must send the right way: gaps, ±inf, few distinct values, wide ranges."""
    rng = np.random.default_rng(seed)
    n = 4000
    X = rng.standard_normal((n, 7)).astype(np.float32)
    X[:, 1] = rng.integers(0, 4, n)                          # four values: few thresholds
    X[rng.random(n) < 0.15, 2] = np.nan                      # gaps the splits send left or right
    X[:, 3] = np.where(rng.random(n) < 0.5, np.nan, X[:, 3])  # half missing: "split on nan" (+inf threshold)
    X[:, 4] *= 1e6
    y = (X[:, 0] + 0.7 * X[:, 1] + np.nan_to_num(X[:, 2]) + np.isnan(X[:, 3]) + rng.standard_normal(n) > 1.5)
    return X, y.astype(int)


def _fitted_gbm(X, y, **kw):
    from sklearn.ensemble import HistGradientBoostingClassifier

    params = dict(max_iter=C.GBM_ITER, learning_rate=0.1, max_leaf_nodes=C.GBM_LEAVES, max_bins=C.GBM_BINS,
                  min_samples_leaf=20, l2_regularization=1.0, early_stopping=False, random_state=0)
    return HistGradientBoostingClassifier(**(params | kw)).fit(X, y)


@pytest.mark.parametrize("seed", [0, 1])
def test_compiled_trees_give_decision_function_bit_for_bit(seed):
    from lookalike.audience import trees

    X, y = _tree_data(seed)
    model = _fitted_gbm(X, y)
    compiled = trees.compile_trees(model)
    assert compiled is not None and compiled.masks.dtype == np.uint16
    assert np.isinf(compiled.thresholds[3, : compiled.n_thresholds[3]]).any()  # the "split on nan" case is in
    # the data, plus rows sitting exactly on every threshold, just around them, and at ±inf
    probe = np.repeat(X[:64], 8, axis=0)
    for f in range(X.shape[1]):
        real = compiled.thresholds[f, : compiled.n_thresholds[f]]
        real = real[np.isfinite(real)]
        vals = np.concatenate([real, np.nextafter(real, np.inf), np.nextafter(real, -np.inf),
                               [np.inf, -np.inf, np.nan]])
        probe[: len(vals), f] = vals.astype(np.float32)
        probe = np.roll(probe, 97, axis=0)
    for rows in (X, probe, X.astype(np.float64)):
        assert np.array_equal(trees.decision(compiled, rows), model.decision_function(rows))


def test_trees_the_tables_cannot_hold_are_left_to_scikit_learn():
    from lookalike.audience import trees

    X, y = _tree_data()
    assert trees.compile_trees(_fitted_gbm(X, y, max_leaf_nodes=31, max_iter=5)) is None  # 31 leaves > 16 bits
    Xc = X.copy()
    Xc[:, 1] = np.abs(Xc[:, 1])
    assert trees.compile_trees(_fitted_gbm(Xc, y, categorical_features=[1], max_iter=5)) is None
    assert trees.compile_trees(_fitted_gbm(X, y, max_leaf_nodes=16, max_iter=5)) is not None


def test_large_predictions_go_through_the_compiled_trees(monkeypatch):
    X, seeds = _data()
    base = C._base_sample(len(X), seeds, 0, size=1000)
    calls = []
    real = C.tree_decision
    monkeypatch.setattr(C, "tree_decision", lambda compiled, rows: calls.append(len(rows)) or real(compiled, rows))
    plain = C._seed_vs_base("gbm", X, seeds, None, base)
    assert calls == []  # small tables: scikit-learn's own prediction
    _large_path(monkeypatch)
    fast = C._seed_vs_base("gbm", X, seeds, None, base)
    assert sum(calls) == len(X) and max(calls) == 257
    assert np.array_equal(plain.similarity, fast.similarity)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_reason_opens_with_a_capital_whatever_opens_it(lang):
    from lookalike.audience.explain import describe

    members = pd.DataFrame({"total_spent": [3200.0, 50.0, 3000.0, 10.0, 2900.0],
                            "fav_category": ["home", "Home", "électronique", "Home", "Home"]})
    profile = pd.DataFrame({"feature": ["total_spent", "fav_category=home", "fav_category=électronique"],
                            "seeds": [3000.0, 0.6, 0.3], "audience": [2000.0, 0.4, 0.2], "base": [1000.0, 0.1, 0.1]})
    features = np.array([["fav_category", "total_spent"], ["", ""], ["fav_category", ""],
                         ["total_spent", "fav_category"], ["fav_category", "total_spent"]], dtype=object)
    levels = np.array(["strong", "weak", "", "seed", ""], dtype=object)
    out = describe(members, features, profile, levels=levels, lang=lang)
    plain = describe(members, features, profile, lang=lang)  # no levels: the first phrase opens every sentence
    for text in [*out, *plain]:
        assert text and text[0] == text[0].upper() and text[0].isalpha(), text
    # the phrases after the opening keep their case; a lead-less sentence is its phrases, capitalised
    assert out[2] == plain[2] and out[2].startswith(("Prefers électronique", "Prefiere électronique"))
    assert out[0].lower().count("home") == 1 and "; " in out[0]
    assert out[4] == plain[4] and out[3] != plain[3]  # a kept seed says it is one


@pytest.mark.parametrize("missing", [0.0, 0.3, 1.0])
def test_value_ranks_from_the_percentile_sort_are_the_percentiles_own_ranks(missing):
    rng = np.random.default_rng(11)
    n = 5000
    values = pd.Series(np.round(rng.lognormal(3, 1, n), 0))  # many ties
    values[rng.random(n) < missing] = np.nan
    pct, ranks = C.value_percentile_ranks(values)
    assert np.array_equal(pct, C.value_percentile(values))
    assert np.array_equal(ranks, rankdata(pct, method="average"))
    other = rng.random(n)
    assert np.array_equal(C.rank_average([other, pct], ranks=[None, ranks]), C.rank_average([other, pct]))
    rows = np.arange(0, n, 3)  # a subset ranks its own values: the full ranks are not read
    assert np.array_equal(C.rank_average([other, pct], rows, ranks=[None, ranks]), C.rank_average([other, pct], rows))


def test_without_numba_large_predictions_fall_back_to_scikit_learn(monkeypatch):
    import builtins

    from lookalike.audience import trees

    X, seeds = _data()
    base = C._base_sample(len(X), seeds, 0, size=1000)
    _large_path(monkeypatch)
    compiled = C._seed_vs_base("gbm", X, seeds, None, base)
    real_import = builtins.__import__

    def no_numba(name, *args, **kwargs):
        if name == "numba" or name.startswith("numba."):
            raise ImportError("No module named 'numba'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_numba)
    monkeypatch.setattr(trees, "_KERNEL", [])  # as in a process that never loaded it
    model = C._fit_model("gbm", X, seeds, None, base, 0)[0]
    assert trees.compile_trees(model) is None
    fallback = C._seed_vs_base("gbm", X, seeds, None, base)
    assert np.array_equal(compiled.similarity, fallback.similarity)


def test_a_read_only_install_compiles_the_kernel_in_memory(monkeypatch):
    import numba

    from lookalike.audience import trees

    real = numba.njit
    asked = []

    def njit(*args, **kwargs):
        asked.append(kwargs.get("cache", False))
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function '_quickscore': no locator available")
        return real(*args, **kwargs)

    monkeypatch.setattr(numba, "njit", njit)
    monkeypatch.setattr(trees, "_KERNEL", [])
    X, y = _tree_data()
    model = _fitted_gbm(X, y, max_iter=10)
    compiled = trees.compile_trees(model)
    assert asked == [True, False] and compiled is not None
    assert np.array_equal(trees.decision(compiled, X[:500]), model.decision_function(X[:500]))


def test_mean_cdf_is_the_mean_of_the_mid_rank_cdf_in_any_order():
    """The weights' separation reads the mean mid-rank CDF from sorted keys: the same value as the
    mean of each key's own CDF (ties counting half), whatever order the keys come in."""
    from lookalike.audience.candidates import _mean_cdf

    rng = np.random.default_rng(3)
    base = np.sort(np.round(rng.normal(size=5_000), 1)).astype(np.float32)  # many ties
    keys = np.round(rng.normal(0.3, 1.2, size=1_234), 1).astype(np.float32)
    per_key = (np.searchsorted(base, keys, "left") + np.searchsorted(base, keys, "right")) / (2.0 * len(base))
    assert _mean_cdf(base, keys) == pytest.approx(per_key.mean(), rel=1e-12)
    assert _mean_cdf(base, keys[::-1]) == _mean_cdf(base, keys)  # exact: whole counts
    assert _mean_cdf(base, base) == pytest.approx(0.5)  # the base against itself sits at the middle
