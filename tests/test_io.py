import os
import numpy as np
import pandas as pd
import pytest

from lookalike.errors import EmptyDataError, InputError, UnsupportedFormatError
from lookalike.io import atomic_path, detect_delimiter, read_csv, read_customers, write_csv, write_table

ROWS = [["C000001", "35 years", "$2,464.06", "Norte"], ["C000002", "41", "1.234,50 €", " sur "]]
HEADER = ["customer_id", "age_str_dirty", "total_spent_dirty", "region_dirty"]


def _csv(path, sep=",", encoding="utf-8", bom=False):
    text = "\n".join(sep.join(f'"{v}"' if sep in v else v for v in row) for row in [HEADER, *ROWS]) + "\n"
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_delimiters_are_detected(tmp_path, sep):
    df = read_customers(_csv(tmp_path / "x.csv", sep=sep))
    assert list(df.columns) == HEADER
    assert df.iloc[1]["total_spent_dirty"] == "1.234,50 €"
    assert df.attrs["read"]["delimiter"] == sep


@pytest.mark.parametrize("encoding, bom", [("utf-8", True), ("utf-8", False), ("cp1252", False), ("utf-16", False)])
def test_csv_encodings_are_detected(tmp_path, encoding, bom):
    df = read_customers(_csv(tmp_path / "x.csv", encoding=encoding, bom=bom))
    assert list(df.columns) == HEADER  # a BOM must not stick to the first column name
    assert df.iloc[1]["total_spent_dirty"] == "1.234,50 €"


def test_csv_keeps_raw_text_and_blank_is_missing(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("customer_id,total_orders,notes\nC1,007,N/A\nC2,,\n", encoding="utf-8")
    df = read_customers(p)
    assert df.loc[0, "total_orders"] == "007" and df.loc[0, "notes"] == "N/A"
    assert pd.isna(df.loc[1, "total_orders"])


def test_spanish_column_names_are_mapped(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("ID Cliente;Edad;Gasto Total\nC1;35;10\n", encoding="utf-8")
    df = read_customers(p)
    assert list(df.columns) == ["customer_id", "age", "total_spent_dirty"]
    assert df.attrs["read"]["renamed_columns"]["Edad"] == "age"


def test_xlsx_and_parquet(tmp_path):
    df = pd.DataFrame([dict(zip(HEADER, r)) for r in ROWS])
    df.to_excel(tmp_path / "x.xlsx", index=False, engine="xlsxwriter")
    got = read_customers(tmp_path / "x.xlsx")
    assert got.shape == (2, 4) and got.iloc[0]["total_spent_dirty"] == "$2,464.06"
    write_table(df, tmp_path / "x.parquet")
    pd.testing.assert_frame_equal(read_customers(tmp_path / "x.parquet"), df, check_dtype=False)


def test_sql_source(tmp_path):
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'crm.db'}"
    pd.DataFrame({"id_cliente": ["C1", "C2"], "pedidos": [3, 4]}).to_sql("clientes", sa.create_engine(url))
    df = read_customers(url, query="clientes")
    assert list(df.columns)[-2:] == ["customer_id", "total_orders"] and len(df) == 2
    with pytest.raises(InputError, match="query"):
        read_customers(url)


def test_bad_files_get_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_customers(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(EmptyDataError, match="empty"):
        read_customers(tmp_path / "empty.csv")
    (tmp_path / "fake.xlsx").write_text("customer_id\nC1\n")
    with pytest.raises(UnsupportedFormatError, match="not an Excel workbook"):
        read_customers(tmp_path / "fake.xlsx")
    (tmp_path / "fake.parquet").write_text("customer_id\nC1\n")
    with pytest.raises(UnsupportedFormatError, match="not a parquet file"):
        read_customers(tmp_path / "fake.parquet")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(UnsupportedFormatError, match="unsupported file type"):
        read_customers(tmp_path / "x.json")
    (tmp_path / "corrupt.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(InputError, match="corrupt"):
        read_customers(tmp_path / "corrupt.xlsx")


def test_header_only_csv_reads_as_zero_rows(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("customer_id,total_orders\n")
    df = read_customers(p)
    assert len(df) == 0 and list(df.columns) == ["customer_id", "total_orders"]


def test_detect_delimiter_prefers_consistent_counts():
    assert detect_delimiter("a;b;c\n1;2,5;3\n4;5,1;6\n") == ";"


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "t.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


def test_atomic_write_gives_new_files_the_umask_mode_and_keeps_an_old_files_mode(tmp_path):
    old = os.umask(0o027)
    try:
        fresh = tmp_path / "fresh.txt"
        with atomic_path(fresh) as tmp:
            tmp.write_text("x")
        assert fresh.stat().st_mode & 0o777 == 0o640  # not mkstemp's 0600
        kept = tmp_path / "kept.txt"
        kept.write_text("old")
        kept.chmod(0o604)
        with atomic_path(kept) as tmp:
            tmp.write_text("new")
        assert kept.stat().st_mode & 0o777 == 0o604 and kept.read_text() == "new"
    finally:
        os.umask(old)


def test_read_csv_options_missing_values_strictness_and_gzip(tmp_path):
    import gzip

    p = tmp_path / "x.csv"
    p.write_bytes("id;note;n\nC1;N/A;1\nC2;;2\n".encode("cp1252"))
    blank, meta = read_csv(p)
    assert meta == {"encoding": "utf-8", "delimiter": ";"}
    assert blank.loc[0, "note"] == "N/A" and pd.isna(blank.loc[1, "note"]) and blank.loc[0, "n"] == "1"
    pandas_na, _ = read_csv(p, dtype={"id": str}, na="pandas")
    assert pandas_na["note"].isna().all() and pandas_na["n"].tolist() == [1, 2]
    exact, _ = read_csv(p, na="none")
    assert exact["note"].tolist() == ["N/A", ""]  # every cell as written: an erasure rewrite changes nothing else
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,name\n" + b"C1,caf\xc3\xa9 cr\xc3\xa8me\n" * 10 + b"C2,caf\xe9\n")  # one stray cp1252 byte
    replaced, meta = read_csv(bad)
    assert meta["undecodable_cells"] == {"name": 1} and replaced.loc[0, "name"] == "café crème"
    with pytest.raises(InputError, match="not valid utf-8"):
        read_csv(bad, strict=True)
    gz = tmp_path / "lines.csv.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as fh:
        fh.write("a|b\n1|2\n")
    df, meta = read_csv(gz, compression="gzip")
    assert df.to_dict("list") == {"a": ["1"], "b": ["2"]} and meta["delimiter"] == "|"
    with pytest.raises(InputError, match="not a readable gzip file"):
        read_csv(p, compression="gzip")
    (tmp_path / "empty.csv.gz").write_bytes(gzip.compress(b""))
    with pytest.raises(EmptyDataError, match="export the order lines"):
        read_csv(tmp_path / "empty.csv.gz", compression="gzip", what="the order lines")


def test_write_csv_escapes_formulas_unless_asked_and_keeps_the_old_file_on_encoding_errors(tmp_path):
    df = pd.DataFrame({"name": ["=HYPERLINK(1)", "Ana"], "n": [-1, 2]})
    p = write_csv(df, tmp_path / "x.csv", lineterminator="\n")
    assert p.read_text("utf-8") == "name,n\n'=HYPERLINK(1),-1\nAna,2\n"
    write_csv(df, p, escape=False, sep=";", lineterminator="\n")
    assert p.read_text("utf-8") == "name;n\n=HYPERLINK(1);-1\nAna;2\n"
    with pytest.raises(UnicodeEncodeError):
        write_csv(pd.DataFrame({"name": ["Łódź"]}), p, encoding="cp1252")
    assert p.read_text("utf-8").startswith("name;n") and [f.name for f in tmp_path.iterdir()] == ["x.csv"]


# ---- issue 16, item 16: decimal money (parquet decimal128, SQL NUMERIC) -------------------------
def _decimal_table():
    from decimal import Decimal

    import pyarrow as pa

    return pa.table({
        "customer_id": pa.array([Decimal("12345678901234567890"), Decimal(102), Decimal(103)], pa.decimal128(20, 0)),
        "total_orders": pa.array([Decimal(3), Decimal(5), None], pa.decimal128(10, 0)),
        "total_spent": pa.array([Decimal("2464.06"), Decimal("0.10"), Decimal("99999999.99")], pa.decimal128(12, 2)),
        "income": pa.array([Decimal("30000.50"), None, Decimal("1")], pa.decimal128(12, 2)),
    })


DECIMAL_EXPECTED = {"customer_id": ["12345678901234567890", "102", "103"], "total_orders": [3, 5, None],
                    "total_spent": [2464.06, 0.10, 99999999.99], "income": [30000.5, None, 1.0]}


def _assert_decimal_clean(raw: pd.DataFrame) -> None:
    import lookalike as lk

    r = lk.clean_customers(raw)
    got = r.customers
    assert got["customer_id"].tolist() == DECIMAL_EXPECTED["customer_id"]  # every digit of a 20-digit id
    assert got["total_orders"].astype("Float64").tolist() == [3, 5, pd.NA]
    assert got["total_spent"].dtype == np.float64 and got["total_spent"].tolist() == DECIMAL_EXPECTED["total_spent"]
    np.testing.assert_array_equal(got["income"].to_numpy(), [30000.5, np.nan, 1.0])
    assert r.report.columns["total_spent_dirty"]["invalid"] == 0 and r.report.rows_quarantined == 0


def test_parquet_decimal_money_and_ids_are_numbers(tmp_path):
    import pyarrow.parquet as pq

    pq.write_table(_decimal_table(), tmp_path / "dec.parquet")
    _assert_decimal_clean(read_customers(tmp_path / "dec.parquet"))
    # the same columns as pandas' Arrow decimal dtype (dtype_backend="pyarrow")
    _assert_decimal_clean(_decimal_table().to_pandas(types_mapper=pd.ArrowDtype))


@pytest.mark.postgres
def test_sql_numeric_is_read_exactly():
    import sqlalchemy as sa

    url = os.environ.get("LOOKALIKE_TEST_PG_URL", "").strip()
    if not url:
        pytest.fail("LOOKALIKE_TEST_PG_URL is not set: run `make test` (it starts a PostgreSQL server)", pytrace=False)
    engine = sa.create_engine(url)
    table = f"numeric_money_{os.getpid()}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {table} (customer_id NUMERIC(20, 0), total_orders NUMERIC, "
                             "total_spent NUMERIC(12, 2), income NUMERIC(12, 2))"))
        conn.execute(sa.text(f"INSERT INTO {table} VALUES (12345678901234567890, 3, 2464.06, 30000.50), "
                             "(102, 5, 0.10, NULL), (103, NULL, 99999999.99, 1)"))
    try:
        _assert_decimal_clean(read_customers(url, query=f"SELECT * FROM {table} ORDER BY total_orders NULLS LAST"))
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {table}"))
