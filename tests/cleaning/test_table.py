"""The table cleaner's row rules: rows that are not customers (issue 16, item 19)."""

from __future__ import annotations

import pandas as pd

import lookalike as lk
from lookalike.cleaning.chunked import clean_in_chunks
from lookalike.cleaning.table import REPEATED_HEADER, TOTAL_ROW


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, dtype=object)


CUSTOMERS = [{"first_name": f"N{i}", "customer_id": f"C{i}", "total_orders": str(i), "total_spent": f"{10 * i}.00",
              "region": "Norte"} for i in range(1, 7)]


def test_labels_in_the_id_or_first_column_and_sums_make_total_rows() -> None:
    rows = [*CUSTOMERS[:3],
            {"first_name": "Subtotal", "customer_id": None, "total_orders": "6", "total_spent": "60.00"},
            *CUSTOMERS[3:],
            {"first_name": None, "customer_id": None, "total_orders": "15", "total_spent": "150.00"},  # 4+5+6
            {"first_name": "Suma", "customer_id": None, "total_orders": "21"},
            {"first_name": "x", "customer_id": " total: ", "total_orders": "21"},
            {"first_name": "Ana", "customer_id": None, "total_orders": "3", "region": "Sur"}]  # no id, no total
    r = lk.clean_customers(_frame(rows))
    q = r.quarantine.set_index("row_number")["reason"]
    assert q.to_dict() == {4: TOTAL_ROW, 8: TOTAL_ROW, 9: TOTAL_ROW, 10: TOTAL_ROW, 11: "missing customer_id"}
    assert r.customers["customer_id"].tolist() == [f"C{i}" for i in range(1, 7)]
    assert r.report.balanced and r.report.rows_in == 11


def test_ids_that_only_look_like_labels_are_customers() -> None:
    rows = [dict(CUSTOMERS[0], customer_id=cid) for cid in ("TOTAL1", "SUMMIT", "ID-7", "C-TOTAL", "Customer 9")]
    r = lk.clean_customers(_frame(rows))
    assert r.customers["customer_id"].tolist() == ["TOTAL1", "SUMMIT", "ID-7", "C-TOTAL", "CUSTOMER9"]
    assert r.report.rows_quarantined == 0


def test_a_custom_id_column_name_repeated_is_a_header() -> None:
    mapping = lk.config.ColumnMapping.load()
    aliases = {**mapping.aliases, "customer_id": (*mapping.aliases["customer_id"], "Nº socio")}
    mapping = lk.config.ColumnMapping(aliases, mapping.required, mapping.any_of)
    raw = pd.DataFrame({"Nº socio": ["S1", "Nº SOCIO", "S2"], "pedidos": ["1", "pedidos", "2"],
                        "total_spent": ["1", "total_spent", "2"]}, dtype=object)
    r = lk.clean_customers(raw, columns=mapping)
    assert r.quarantine["reason"].tolist() == [REPEATED_HEADER]
    assert r.customers["customer_id"].tolist() == ["S1", "S2"]


def test_chunks_hold_header_and_total_rows_with_file_row_numbers() -> None:
    rows = [*CUSTOMERS, {"customer_id": "customer_id", "total_orders": "total_orders"}, *CUSTOMERS[:2],
            {"customer_id": "Total", "total_orders": "24"}]
    raw = _frame(rows)
    r = clean_in_chunks(raw.iloc[i : i + 4] for i in range(0, len(raw), 4))
    assert r.quarantine.set_index("row_number")["reason"].to_dict() == {7: REPEATED_HEADER, 10: TOTAL_ROW}
    assert r.report.balanced and r.report.duplicates_merged == 2 and len(r.customers) == 6
