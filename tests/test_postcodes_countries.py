"""Countries and postcodes in the ad-platform files (issue 16, item 9): countries normalised to
ISO 3166-1 alpha-2 from codes and English or Spanish names, postcodes validated per country (a
leading zero lost in a spreadsheet restored; an invalid code left empty and counted, never hashed)."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from typer.testing import CliRunner

from lookalike.cli import app
from lookalike.export import export_audience, normalize_country, normalize_zip

runner = CliRunner()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("spelling", ["ES", "es", " ES", "ESP", "esp", "España", "ESPAÑA", "Spain", "spain", "Espana"])
def test_every_spelling_of_spain_is_es(spelling):
    assert normalize_country(pd.Series([spelling])).tolist() == ["es"]


def test_other_countries_in_english_and_spanish_and_unknown_ones():
    got = normalize_country(pd.Series(["Alemania", "Germany", "DEU", "Reino Unido", "UK", "Francia", "Narnia", None, ""]))
    assert got.tolist() == ["de", "de", "de", "gb", "gb", "fr", pd.NA, pd.NA, pd.NA]


def test_postcodes_are_validated_per_country():
    zips = pd.Series([8001, "08001", "28001", "53001", "1234567", "75001", "7501", "SW1A 1AA", "12", "1000", "X1"])
    countries = pd.Series(["ES", "es", "España", "ES", "ES", "FR", "France", "GB", "GB", "BE", "Narnia"])
    assert normalize_zip(zips, countries).tolist() == [
        "08001", "08001", "28001", pd.NA, pd.NA, "75001", "07501", "sw1a1aa", pd.NA, "1000", "x1"]


@pytest.mark.slow
def test_a_meta_file_from_a_spreadsheet_export_has_right_zips_and_countries(tmp_path):
    """The synthetic xlsx stores two of three postcodes as numbers (leading zeros lost) and spells
    Spain six ways, as real CRM exports do."""
    xlsx = tmp_path / "export.xlsx"
    for args in (["generate", "--n", "3000", "--seed", "2", "--contact", "-o", str(xlsx)],
                 ["fit", str(xlsx), "-o", str(tmp_path / "model")],
                 ["expand", str(tmp_path / "model"), "--size", "40%", "--keep-opted-out", "-o", str(tmp_path / "a.parquet")]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["export", str(tmp_path / "a.parquet"), str(tmp_path / "model"), "--format", "meta",
                              "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    meta = pd.read_csv(tmp_path / "out" / "a_meta.csv", dtype=str)
    valid_es = {_sha(f"{p:02d}{n:03d}") for p in range(1, 53) for n in range(1000)}
    zips = meta["zip"].dropna()
    assert len(zips) > 0.9 * len(meta) and zips.isin(valid_es).all()  # no 4-digit postcode hashed
    countries = meta["country"]
    assert countries.notna().all() and countries.eq(_sha("es")).all()  # no Spain left without a country


def test_unusable_values_are_counted_in_the_export(tmp_path):
    aud = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "rank": [1, 2, 3], "similarity": [0.9, 0.8, 0.7],
                        "reason": ["r"] * 3})
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "email": ["a@x.es", "b@x.es", "nope"],
                              "zip": ["08001", "99999", "28001"], "country": ["ES", "ES", "Narnia"],
                              "consent_ads": [True] * 3})
    res = export_audience(aud, customers, "meta", tmp_path, name="t", user="test")
    text = " ".join(res.warnings)
    assert "email 1" in text and "zip 1" in text and "country 1" in text
