"""LookalikeFinder follows scikit-learn's estimator contract (the parts that apply to it)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils import estimator_checks as checks
from sklearn.utils.validation import check_is_fitted

import lookalike as lk
from lookalike.features import FeatureSpec
from lookalike.synth import generate

#: The scikit-learn checks that apply. The others fit on numeric arrays (X, y): LookalikeFinder is fitted
#: on a clean customer table (its feature pipeline — scikit-learn transformers, checked there — turns the
#: table into numbers), it is neither a classifier, regressor, transformer, clusterer nor outlier
#: detector, and its parameters are checked in ``fit`` with the project's one-line ParameterError
#: instead of ``_parameter_constraints``. The fit-time rules are checked below on a customer table.
APPLICABLE = (
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_valid_tag_types",
    "check_estimator_tags_renamed",
    "check_mixin_order",
)


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return lk.clean_customers(generate(1500, seed=4).raw).customers


@pytest.mark.parametrize("check", APPLICABLE)
def test_sklearn_estimator_checks(check):
    getattr(checks, check)("LookalikeFinder", lk.LookalikeFinder())


def test_params_clone_and_set_params():
    spec = FeatureSpec.default()
    finder = lk.LookalikeFinder(features=spec, weights={"value": 2.0}, index="exact")
    params = finder.get_params()
    assert set(params) == {"features", "weights", "scorer", "index", "recall_floor", "on_low_recall"}
    assert params["features"] is spec and params["index"] == "exact"
    twin = clone(finder)
    assert type(twin) is lk.LookalikeFinder and twin is not finder
    assert twin.get_params()["weights"] == {"value": 2.0} and twin.get_params()["weights"] is not finder.weights
    assert finder.set_params(index="sklearn", scorer="classifier") is finder
    assert (finder.index, finder.scorer) == ("sklearn", "classifier")
    with pytest.raises(ValueError, match="Invalid parameter"):
        finder.set_params(n_neighbours=5)


def test_fit_keeps_params_sets_only_trailing_underscore_attributes_and_is_idempotent(customers):
    finder = lk.LookalikeFinder(index="exact")
    before = copy.deepcopy(finder.get_params())
    attrs_before = set(vars(finder))
    assert finder.fit(customers) is finder
    check_is_fitted(finder)
    after = finder.get_params()
    assert after.keys() == before.keys() and all(after[k] == before[k] for k in before)
    new_public = {a for a in set(vars(finder)) - attrs_before if not a.startswith("_")}
    assert new_public and all(a.endswith("_") for a in new_public), new_public
    first = finder.find_lookalikes(customers.customer_id.iloc[0], k=5)
    X = finder.X_.copy()
    finder.fit(customers)
    np.testing.assert_array_equal(finder.X_, X)
    pd.testing.assert_frame_equal(finder.find_lookalikes(customers.customer_id.iloc[0], k=5), first)


def test_clone_of_a_fitted_finder_is_unfitted_with_the_same_params(customers):
    fitted = lk.LookalikeFinder(index="exact").fit(customers)
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params()
    assert not hasattr(twin, "X_") and hasattr(fitted, "X_")
    with pytest.raises(lk.ParameterError, match="not fitted yet"):
        twin.find_lookalikes(customers.customer_id.iloc[0])
    pd.testing.assert_frame_equal(twin.fit(customers).find_lookalikes(customers.customer_id.iloc[0], k=5),
                                  fitted.find_lookalikes(customers.customer_id.iloc[0], k=5))
