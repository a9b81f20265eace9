import pandas as pd
import pytest

from lookalike.config import ColumnMapping, normalize_name
from lookalike.errors import InputError


@pytest.mark.parametrize("raw, canonical", [
    ("Edad", "age"), (" EDAD ", "age"), ("ingresos", "income"), ("Región", "region"),
    ("Customer ID", "customer_id"), ("customer-id", "customer_id"), ("Gasto Total", "total_spent_dirty"),
    ("days_since_last_purchase", "days_since_last_purchase"), ("Categoría Favorita", "fav_category"),
])
def test_column_names_map_to_contract(raw, canonical):
    df = pd.DataFrame({raw: [1]})
    out, renamed = ColumnMapping.load().apply(df)
    assert list(out.columns) == [canonical]


def test_unknown_columns_keep_their_name_and_first_alias_wins():
    df = pd.DataFrame({"Edad": [1], "age": [2], "loyalty_tier": ["gold"]})
    out, renamed = ColumnMapping.load().apply(df)
    assert list(out.columns) == ["Edad", "age", "loyalty_tier"]  # canonical "age" exists: alias not renamed onto it
    df = pd.DataFrame({"edad": [1], "ingresos": [2]})
    out, renamed = ColumnMapping.load().apply(df)
    assert renamed == {"edad": "age", "ingresos": "income"}


def test_custom_mapping_file(tmp_path):
    f = tmp_path / "cols.toml"
    f.write_text('[columns]\ncustomer_id = ["socio"]\ntotal_orders = ["compras"]\n', encoding="utf-8")
    out, _ = ColumnMapping.load(f).apply(pd.DataFrame({"Socio": ["a"], "Compras": [3]}))
    assert list(out.columns) == ["customer_id", "total_orders"]
    bad = tmp_path / "bad.toml"
    bad.write_text("[columns\n", encoding="utf-8")
    with pytest.raises(InputError, match="not valid TOML"):
        ColumnMapping.load(bad)


def test_normalize_name():
    assert normalize_name("  Días desde última compra ") == "dias_desde_ultima_compra"
