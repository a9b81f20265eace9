import numpy as np
import pandas as pd
import pytest

from lookalike.errors import MissingColumnsError, ParameterError
from lookalike.features import FeatureSpec, make_feature_pipeline, resolve_weights


def test_default_spec_never_uses_label_sensitive_or_contact_columns():
    cols = set(FeatureSpec.default().columns)
    assert not cols & {"vip_flag", "vip_score", "gender", "email", "phone", "customer_id", "notes"}
    assert {"age", "income", "total_spent", "total_orders", "days_since_last_purchase", "frequency",
            "avg_items_per_order", "pct_reordered", "avg_ticket", "region", "fav_category",
            "signup_channel", "never_purchased"} <= cols


def test_pipeline_output_is_float32_scaled_with_names(clean_table):
    pipe = make_feature_pipeline()
    X = pipe.fit_transform(clean_table)
    names = list(pipe.get_feature_names_out())
    assert X.dtype == np.float32 and X.shape == (len(clean_table), len(names))
    assert np.isfinite(X).all()
    num = [names.index(c) for c in ("age", "income", "total_spent", "days_since_last_purchase")]
    np.testing.assert_allclose(X[:, num].mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(X[:, num].std(axis=0), 1, atol=1e-3)
    assert "region_Norte" in names and "fav_category_Electronics" in names


def test_one_hot_mismatch_is_one_standard_deviation(clean_table):
    pipe = make_feature_pipeline()
    X = pipe.fit_transform(clean_table)
    names = np.asarray(pipe.get_feature_names_out())
    block = X[:, np.char.startswith(names.astype(str), "region_")]
    a, b = np.flatnonzero(clean_table.region == "Norte")[0], np.flatnonzero(clean_table.region == "Sur")[0]
    assert np.sum((block[a] - block[b]) ** 2) == pytest.approx(1.0, rel=1e-5)


def test_never_purchased_recency_is_imputed_not_a_magic_number(clean_table):
    table = clean_table.copy()
    table.loc[0, "days_since_last_purchase"] = np.nan
    table.loc[0, "never_purchased"] = True
    pipe = make_feature_pipeline()
    X = pipe.fit_transform(table)
    col = list(pipe.get_feature_names_out()).index("days_since_last_purchase")
    assert abs(X[0, col]) < 1.0  # the median, not a 9999-like outlier
    assert X[0, list(pipe.get_feature_names_out()).index("never_purchased")] == 1.0


def test_unknown_category_at_transform_is_all_zero(clean_table):
    pipe = make_feature_pipeline().fit(clean_table)
    row = clean_table.iloc[:1].copy()
    row["region"] = "Atlantis"
    names = list(pipe.get_feature_names_out())
    x = pipe.transform(row)[0]
    assert all(x[i] == 0 for i, n in enumerate(names) if n.startswith("region_"))


def test_weights_by_group_and_column(clean_table):
    base = make_feature_pipeline().fit_transform(clean_table)
    pipe = make_feature_pipeline(weights={"value": 2.0, "avg_ticket": 0.0})
    X = pipe.fit_transform(clean_table)
    names = list(pipe.get_feature_names_out())
    i, j = names.index("total_spent"), names.index("avg_ticket")
    np.testing.assert_allclose(X[:, i], 2 * base[:, i], rtol=1e-5)
    assert np.all(X[:, j] == 0)
    w = resolve_weights(FeatureSpec.default(), {"preferences": 0.5})
    assert w["region"] == 0.5 and w["age"] == 1.0


@pytest.mark.parametrize("weights, msg", [({"nope": 1}, "unknown weight key"), ({"age": -1}, ">= 0"),
                                          ({"age": "x"}, "must be a number")])
def test_bad_weights_are_refused(weights, msg):
    with pytest.raises(ParameterError, match=msg):
        make_feature_pipeline(weights=weights)


def test_spec_refuses_label_and_sensitive_columns():
    with pytest.raises(ParameterError, match="excluded"):
        FeatureSpec(numeric=("age", "vip_score"), log=()).validate()
    with pytest.raises(ParameterError, match="sensitive"):
        FeatureSpec(categorical=("gender",)).validate()
    spec = FeatureSpec.default().without("total_spent", "avg_ticket")
    assert "total_spent" not in spec.columns and "total_spent" in spec.excluded


def test_missing_input_columns_are_named(clean_table):
    from lookalike.features import check_feature_input

    with pytest.raises(MissingColumnsError, match="income"):
        check_feature_input(clean_table.drop(columns=["income"]), FeatureSpec.default())
