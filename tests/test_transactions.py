"""lookalike.transactions on a hand-made log: every feature of every customer computed by hand.

The log is tests/data/transactions/small_log.csv (its README says what each customer exercises).
As of 2011-01-31 (a Monday is 2011-01-03; 2010-12-20 is a Monday too).
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import lookalike as lk
from lookalike.errors import InputError, MissingColumnsError, ParameterError
from lookalike.transactions import (
    TransactionConfig,
    customers_from_transactions,
    read_transactions,
    transaction_feature_spec,
)

LOG = Path(__file__).parent / "data" / "transactions" / "small_log.csv"
AS_OF = "2011-01-31"


@pytest.fixture(scope="module")
def lines() -> pd.DataFrame:
    return read_transactions(LOG)


@pytest.fixture(scope="module")
def result(lines):
    return customers_from_transactions(lines, as_of=AS_OF)


@pytest.fixture(scope="module")
def table(result) -> pd.DataFrame:
    return result.customers.set_index("customer_id")


# ------------------------------------------------------------------ line accounting


def test_every_line_is_used_or_counted(result):
    r = result.report
    assert r.lines_read == 23
    assert r.bad_timestamp == 1            # 1006 "not a date"
    assert r.after_as_of == 1              # 1005 on 2011-02-02
    assert r.missing_customer_id == 2      # 5001, two lines
    assert r.bad_quantity == 1             # 3003 quantity 0
    assert r.bad_price == 1                # 3003 price -1
    assert r.lines_used == 23 - 6
    assert r.balanced
    assert r.purchase_lines == 7 + 3 + 4   # customers 100, 200, 300
    assert r.return_lines == 3             # C1003, 2002 (negative qty), C4001
    assert r.cancelled_lines == 2 and r.cancelled_orders == 2
    assert r.zero_price_lines == 1 and r.non_product_lines == 1
    assert r.duplicate_lines == 0
    assert r.customers == 4 and r.customers_without_purchase == 1
    assert r.orders == 3 + 1 + 2
    assert r.categories_from == "description keywords"
    assert r.uncategorised_lines == 1      # "SOMETHING ODD"
    assert r.as_of == "2011-01-31"
    text = "\n".join(r.summary_lines())
    assert "missing customer id: 2" in text and "after as of: 1" in text


# ------------------------------------------------------------------ per-customer features


def test_customer_with_reorders_postage_and_a_cancelled_invoice(table):
    c = table.loc["100"]
    gross = 2 * 1.50 + 1 * 4.00 + 1 * 2.00 + 4 * 1.50 + 10 * 0.20 + 5 * 0.20 + 1 * 3.00  # = 21
    returned = 1 * 4.00                                                                   # C1003
    assert c["total_orders"] == 3                                    # 1001, 1002, 1004
    assert c["gross_spent"] == pytest.approx(gross) and c["returned_spent"] == pytest.approx(returned)
    assert c["total_spent"] == pytest.approx(gross - returned)
    assert c["avg_ticket"] == pytest.approx((gross - returned) / 3)
    assert c["avg_items_per_order"] == pytest.approx((2 + 1 + 4 + 10 + 5 + 1) / 3)  # postage is no item
    assert c["pct_reordered"] == pytest.approx(2 / 3)  # 1002 repeats P1, 1004 repeats P3; 1001 is first
    assert c["days_since_last_purchase"] == 31 - 20      # last purchase 2011-01-20
    assert c["tenure_days"] == 31 - 3 and c["tenure_months"] == 0
    assert c["first_purchase"] == pd.Timestamp("2011-01-03 09:15")
    assert c["last_purchase"] == pd.Timestamp("2011-01-20 19:05")
    assert c["signup_date"] == pd.Timestamp("2011-01-03")
    assert not c["never_purchased"]
    assert c["preferred_weekday"] == "Mon"               # Mon 3rd, Mon 10th, Thu 20th
    assert c["hour_band"] == "morning"                   # 09:15, 14:30, 19:05: a three-way tie -> first band
    assert c["share_lighting"] == pytest.approx(9 / gross)   # candles 3 + 6
    assert c["share_kitchen"] == pytest.approx(4 / gross)    # the mug (its return does not enter shares)
    assert c["share_fees"] == pytest.approx(2 / gross)       # postage
    assert c["share_toys"] == pytest.approx(3 / gross)       # balloons 2 + 1
    assert c["share_decoration"] == pytest.approx(3 / gross)
    assert c["share_bags"] == 0 and c["share_other"] == 0
    assert c["fav_category"] == "Lighting"
    assert c["return_lines"] == 1 and c["cancelled_orders"] == 1 and c["n_products"] == 4
    assert c["region"] == "United Kingdom"


def test_customer_with_one_order_and_a_plain_return(table):
    c = table.loc["200"]
    assert c["total_orders"] == 1                     # 2002 holds only a return: not an order
    assert c["total_spent"] == pytest.approx(3 * 2 + 2 * 2 + 5 - 2)
    assert c["avg_ticket"] == pytest.approx(13.0)
    assert c["avg_items_per_order"] == pytest.approx(6.0)
    assert c["pct_reordered"] == 0.0                  # P5 twice in the same order is not a reorder
    assert c["days_since_last_purchase"] == 31 - 15  # the return on the 16th is not a purchase
    assert c["tenure_months"] == 0
    assert c["preferred_weekday"] == "Sat" and c["hour_band"] == "evening"   # 23:30
    assert c["share_bags"] == pytest.approx(10 / 15) and c["share_other"] == pytest.approx(5 / 15)
    assert c["fav_category"] == "Bags"
    assert c["return_lines"] == 1 and c["cancelled_orders"] == 0 and c["n_products"] == 2
    assert c["region"] == "France"


def test_ties_free_lines_and_excluded_lines(table):
    c = table.loc["300"]
    assert c["total_orders"] == 2                          # 3003's two lines were excluded (qty 0, price -1)
    assert c["total_spent"] == pytest.approx(5 + 5 + 0 + 1)
    assert c["avg_items_per_order"] == pytest.approx(4 / 2)  # the free mug is an item
    assert c["pct_reordered"] == 0.0                       # 3002 (Dec) P5, then 3001 P2, P1: nothing repeats
    assert c["days_since_last_purchase"] == 26             # 2011-01-05
    assert c["tenure_days"] == 42 and c["tenure_months"] == 1   # from 2010-12-20
    assert c["fav_category"] == "Kitchen"                  # Kitchen 5 = Lighting 5: alphabetical first
    assert c["preferred_weekday"] == "Mon"                 # Mon 20 Dec = Wed 5 Jan: Monday first
    assert c["hour_band"] == "night"                       # 02:00 = 07:00: night before morning
    assert c["share_kitchen"] == pytest.approx(5 / 11) and c["share_bags"] == pytest.approx(1 / 11)


def test_customer_with_returns_only(table):
    c = table.loc["400"]
    assert c["never_purchased"] and c["total_orders"] == 0
    assert c["total_spent"] == pytest.approx(-8.0)
    for col in ("avg_ticket", "pct_reordered", "avg_items_per_order", "days_since_last_purchase", "tenure_days"):
        assert math.isnan(c[col]), col
    assert pd.isna(c["signup_date"]) and pd.isna(c["preferred_weekday"])
    assert c["fav_category"] == "Unknown"
    share_cols = [k for k in c.index if k.startswith("share_")]
    assert all(c[k] == 0 for k in share_cols)
    assert c["cancelled_orders"] == 1


def test_exact_repeats_are_kept_and_counted(lines, table):
    doubled = pd.concat([lines, lines.iloc[[0]]], ignore_index=True)   # 1001 RED CANDLE 2 x 1.50 again
    got = customers_from_transactions(doubled, as_of=AS_OF)
    assert got.report.duplicate_lines == 1
    again = got.customers.set_index("customer_id").loc["100"]
    assert again["total_spent"] == pytest.approx(table.loc["100", "total_spent"] + 3.0)
    assert again["total_orders"] == 3


def test_customers_without_id_are_not_in_the_table(table):
    assert sorted(table.index) == ["100", "200", "300", "400"]


# ------------------------------------------------------------------ no leakage


@pytest.mark.slow
def test_nothing_after_as_of_changes_the_table(lines, result):
    """Append, change and delete lines after the as-of date: the table is bit-identical."""
    late = pd.DataFrame({
        "order_id": ["9001", "9001", "C9002", "9003"],
        "product": ["P9", "P1", "P1", "P2"],
        "description": ["GARDEN GNOME", "RED CANDLE", "RED CANDLE", "TEA MUG"],
        "quantity": ["1000", "5", "-3", "1"],
        "timestamp": ["2011-01-31 23:59:59.999", "2011-02-01 00:00:00", "2011-03-05 10:00:00", "2012-01-01"],
        "unit_price": ["99.0", "1.5", "1.5", "4.0"],
        "customer_id": ["100", "200", "300", "999"],   # 999 exists only after the as-of date
        "region": ["Japan", "Japan", "Japan", "Japan"],
    })
    late.loc[0, "timestamp"] = "2011-02-01 00:00:01"
    changed = lines.copy()
    after = changed["order_id"] == "1005"
    changed.loc[after, "quantity"] = "-50"
    changed.loc[after, "description"] = "CHRISTMAS TREE"
    for variant in (pd.concat([lines, late], ignore_index=True), changed, lines[~after]):
        other = customers_from_transactions(variant, as_of=AS_OF).customers
        pd.testing.assert_frame_equal(other, result.customers, check_exact=True)
    # and the line that is after the as-of date does matter once the as-of date moves past it
    later = customers_from_transactions(lines, as_of="2011-02-02").customers.set_index("customer_id")
    assert later.loc["100", "total_orders"] == 4


def test_as_of_with_a_time_and_default_as_of(lines):
    at_noon = customers_from_transactions(lines, as_of="2011-01-10 12:00").customers.set_index("customer_id")
    assert at_noon.loc["100", "total_orders"] == 1        # 1002 at 14:30 is after noon
    assert at_noon.loc["100", "days_since_last_purchase"] == 7
    default = customers_from_transactions(lines)
    assert default.report.after_as_of == 0 and default.report.as_of.startswith("2011-02-02")


# ------------------------------------------------------------------ contract and the rest of the product


def test_output_is_a_clean_customer_table(result):
    from lookalike.synth import generate

    clean = lk.clean_customers(generate(200, seed=3).raw).customers
    out = result.customers
    assert list(out.columns[: len(clean.columns)]) == list(clean.columns)
    for col in clean.columns:
        if col == "age":   # all missing: float NaN (see the module docstring)
            assert out[col].isna().all() and out[col].dtype.kind == "f"
            continue
        if isinstance(clean[col].dtype, pd.CategoricalDtype):   # categories depend on the data
            assert isinstance(out[col].dtype, pd.CategoricalDtype), col
        else:
            assert out[col].dtype == clean[col].dtype, col
    assert out["customer_id"].is_unique


def test_finder_fits_and_expands_with_default_and_transaction_spec(result):
    for spec in (None, transaction_feature_spec(result.customers)):
        finder = lk.LookalikeFinder(features=spec).fit(result.customers)
        got = finder.find_lookalikes("100", k=2)
        assert len(got) == 2 and "100" not in set(got["customer_id"])
        audience = finder.expand(["100"], size=2)
        assert len(audience) == 2
    spec = transaction_feature_spec(result.customers)
    assert {"share_kitchen", "share_fees"} <= set(spec.numeric)
    assert {"preferred_weekday", "hour_band"} <= set(spec.categorical)
    assert "age" not in spec.columns and "income" not in spec.columns   # empty in a log
    assert "vip_flag" not in spec.columns


def test_category_column_and_gzip_and_custom_names(tmp_path):
    raw = pd.read_csv(LOG, dtype=str)
    raw["Department"] = raw["Description"].map(lambda d: "Home" if "MUG" in str(d) else "Toys")
    raw = raw.rename(columns={"CustomerID": "Client Id", "UnitPrice": "Precio"})
    path = tmp_path / "log.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        raw.to_csv(fh, index=False)
    got = customers_from_transactions(read_transactions(path), as_of=AS_OF)
    assert got.report.categories_from == "column"
    c = got.customers.set_index("customer_id").loc["300"]
    assert c["share_home"] == pytest.approx(5 / 11)       # the mug (the free one adds 0)
    assert c["share_toys"] == pytest.approx(6 / 11)       # candle 5 + bag 1 (Department says Toys)
    assert got.report.renamed_columns["Client Id"] == "customer_id"


def test_bad_input_is_refused_with_a_clear_message(lines):
    with pytest.raises(MissingColumnsError, match="unit_price.*transactions.toml"):
        customers_from_transactions(lines.drop(columns=["unit_price"]))
    with pytest.raises(ParameterError, match="not a date"):
        customers_from_transactions(lines, as_of="yesterday-ish")
    with pytest.raises(InputError, match="no usable line"):
        customers_from_transactions(lines, as_of="1999-01-01")
    with pytest.raises(InputError, match="no lines"):
        customers_from_transactions(lines.iloc[:0])


def test_cli_builds_a_table_that_other_commands_read(tmp_path):
    from lookalike.cli import app

    runner = CliRunner()
    out = tmp_path / "customers.parquet"
    res = runner.invoke(app, ["customers-from-transactions", str(LOG), "--as-of", AS_OF, "-o", str(out),
                              "--report", str(tmp_path / "report.json")])
    assert res.exit_code == 0, res.output
    assert "missing customer id: 2" in res.output
    table = pd.read_parquet(out)
    assert sorted(table["customer_id"]) == ["100", "200", "300", "400"]
    res = runner.invoke(app, ["find", str(out), "100", "-k", "2", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(__import__("io").StringIO(res.stdout))) == 2
    res = runner.invoke(app, ["customers-from-transactions", str(tmp_path / "nope.csv"), "-o", str(out)])
    assert res.exit_code == 3


def test_mapping_file_is_validated(tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text('[rules]\nhour_bands = { late = 20 }\n')
    with pytest.raises(InputError, match="hour_bands"):
        TransactionConfig.load(bad)
    assert np.isfinite(len(TransactionConfig.load().category_keywords))
