"""Vocabulary, normalize_category, normalize_id, clean_text."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lookalike.cleaning._base import CLEAN, FIXED, INVALID, MISSING
from lookalike.cleaning.text import clean_text, load_vocabulary, normalize_category, normalize_id
from lookalike.errors import InputError, ParameterError

VOCAB = load_vocabulary()


def test_vocabulary_shape() -> None:
    assert set(VOCAB) >= {"region", "fav_category", "signup_channel", "gender"}
    assert set(VOCAB["region"]) == {"Norte", "Sur", "Este", "Oeste", "Centro"}
    assert set(VOCAB["fav_category"]) == {"Kids", "Grocery", "Sports", "Beauty", "Electronics", "Fashion", "Home"}
    assert set(VOCAB["signup_channel"]) == {"Mobile", "Web", "Store", "Referral", "Social", "Call Center"}
    assert set(VOCAB["gender"]) == {"F", "M", "Other", "Unknown"}
    for table in VOCAB.values():
        assert all(isinstance(a, str) for aliases in table.values() for a in aliases)


def test_load_vocabulary_from_path(tmp_path) -> None:
    p = tmp_path / "v.toml"
    p.write_text('[tier]\nGold = ["oro", "G"]\nSilver = ["plata"]\n', encoding="utf-8")
    assert load_vocabulary(p) == {"tier": {"Gold": ["oro", "G"], "Silver": ["plata"]}}
    p.write_text("[tier\n", encoding="utf-8")
    with pytest.raises(InputError):
        load_vocabulary(p)
    p.write_text('[tier]\nGold = "oro"\n', encoding="utf-8")
    with pytest.raises(InputError):
        load_vocabulary(p)
    with pytest.raises(InputError):
        load_vocabulary(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("column", "raw", "expected", "status"),
    [
        # region
        ("region", "Norte", "Norte", CLEAN),
        ("region", "Centro", "Centro", CLEAN),
        ("region", "este", "Este", FIXED),
        ("region", "ESTE", "Este", FIXED),
        ("region", " Sur ", "Sur", FIXED),
        ("region", "Norte\u00a0", "Norte", FIXED),
        ("region", "North", "Norte", FIXED),
        ("region", "south", "Sur", FIXED),
        ("region", "East", "Este", FIXED),
        ("region", "West", "Oeste", FIXED),
        ("region", "Center", "Centro", FIXED),
        ("region", "Centre", "Centro", FIXED),
        ("region", "Central", "Centro", FIXED),
        ("region", "Nte", "Norte", FIXED),
        ("region", "Nte.", "Norte", FIXED),
        ("region", "N", "Norte", FIXED),
        ("region", "Zona Norte", "Norte", FIXED),
        ("region", "zona-norte", "Norte", FIXED),
        ("region", "Süd", "Sur", FIXED),
        ("region", "Ouest", "Oeste", FIXED),
        # typos
        ("region", " nortee ", "Norte", FIXED),
        ("region", "Nrte", "Norte", FIXED),
        ("region", "oestee", "Oeste", FIXED),
        ("region", "Centr0", "Centro", FIXED),
        ("region", "Esste", "Este", FIXED),
        ("region", "Suur", "Sur", FIXED),
        ("region", "Oest", "Oeste", FIXED),
        ("region", "Cnetro", "Centro", FIXED),
        ("region", "Nroth", "Norte", FIXED),
        # fav_category
        ("fav_category", "Sports", "Sports", CLEAN),
        ("fav_category", "sportss", "Sports", FIXED),
        ("fav_category", "Deportes", "Sports", FIXED),
        ("fav_category", "Niños", "Kids", FIXED),
        ("fav_category", "ninos", "Kids", FIXED),
        ("fav_category", "Infantil", "Kids", FIXED),
        ("fav_category", "Alimentación", "Grocery", FIXED),
        ("fav_category", "SUPERMERCADO", "Grocery", FIXED),
        ("fav_category", "Belleza", "Beauty", FIXED),
        ("fav_category", "Electrónica", "Electronics", FIXED),
        ("fav_category", "electronics ", "Electronics", FIXED),
        ("fav_category", "Electronis", "Electronics", FIXED),
        ("fav_category", "Moda", "Fashion", FIXED),
        ("fav_category", "Ropa", "Fashion", FIXED),
        ("fav_category", "Hogar", "Home", FIXED),
        ("fav_category", "Casa", "Home", FIXED),
        ("fav_category", "Groceries", "Grocery", FIXED),
        # signup_channel
        ("signup_channel", "Call Center", "Call Center", CLEAN),
        ("signup_channel", "call-center", "Call Center", FIXED),
        ("signup_channel", "CallCenter", "Call Center", FIXED),
        ("signup_channel", "App", "Mobile", FIXED),
        ("signup_channel", "Móvil", "Mobile", FIXED),
        ("signup_channel", "movil", "Mobile", FIXED),
        ("signup_channel", "Online", "Web", FIXED),
        ("signup_channel", "Website", "Web", FIXED),
        ("signup_channel", "Internet", "Web", FIXED),
        ("signup_channel", "Tienda", "Store", FIXED),
        ("signup_channel", "In-store", "Store", FIXED),
        ("signup_channel", "POS", "Store", FIXED),
        ("signup_channel", "Referido", "Referral", FIXED),
        ("signup_channel", "Recomendación", "Referral", FIXED),
        ("signup_channel", "Redes sociales", "Social", FIXED),
        ("signup_channel", "Facebook", "Social", FIXED),
        ("signup_channel", "instagram", "Social", FIXED),
        ("signup_channel", "Teléfono", "Call Center", FIXED),
        ("signup_channel", "Refferal", "Referral", FIXED),
        # gender
        ("gender", "F", "F", CLEAN),
        ("gender", "M", "M", CLEAN),
        ("gender", "Other", "Other", CLEAN),
        ("gender", "Unknown", "Unknown", CLEAN),
        ("gender", "f", "F", FIXED),
        ("gender", "female", "F", FIXED),
        ("gender", "Mujer", "F", FIXED),
        ("gender", "femenino", "F", FIXED),
        ("gender", "Woman", "F", FIXED),
        ("gender", "male", "M", FIXED),
        ("gender", "Hombre", "M", FIXED),
        ("gender", "masculino", "M", FIXED),
        ("gender", "man", "M", FIXED),
        ("gender", "H", "M", FIXED),
        ("gender", "otro", "Other", FIXED),
        ("gender", "non-binary", "Other", FIXED),
        ("gender", "NB", "Other", FIXED),
        ("gender", "x", "Other", FIXED),
        ("gender", "unknown", "Unknown", FIXED),
        ("gender", "desconocido", "Unknown", FIXED),
        ("gender", "Prefer not to say", "Unknown", FIXED),
        ("gender", "NS", "Unknown", FIXED),
        ("gender", "nc", "Unknown", FIXED),
        ("gender", "femal", "F", FIXED),
    ],
)
def test_known_spellings(column: str, raw: str, expected: str, status: str) -> None:
    r = normalize_category(pd.Series([raw]), VOCAB[column])
    assert r.values.iloc[0] == expected
    assert r.status.iloc[0] == status


@pytest.mark.parametrize(
    ("column", "raw", "status"),
    [
        ("region", None, MISSING),
        ("region", math.nan, MISSING),
        ("region", "", MISSING),
        ("region", "  ", MISSING),
        ("region", "N/A", MISSING),
        ("region", "unknown", MISSING),
        ("region", "desconocido", MISSING),
        ("region", "-", MISSING),
        ("region", "?", MISSING),
        ("region", "Atlantis", INVALID),
        ("region", "Noreste", INVALID),  # as close to Norte as to Oeste: not guessed
        ("region", "Noroeste", INVALID),
        ("region", "zz", INVALID),
        ("region", 5, INVALID),
        ("region", True, INVALID),
        ("fav_category", "Pets", INVALID),
        ("signup_channel", "WhatsApp", INVALID),
        ("gender", "", MISSING),
    ],
)
def test_unmatched_and_missing(column: str, raw: object, status: str) -> None:
    r = normalize_category(pd.Series([raw], dtype=object), VOCAB[column])
    assert r.values.iloc[0] == "Unknown"
    assert r.status.iloc[0] == status


def test_notes_and_custom_unknown() -> None:
    s = pd.Series(["Norte", " nortee ", "Nrte", "Atlantis", "Atlantis", "Mordor", None])
    r = normalize_category(s, VOCAB["region"], unknown="Desconocida")
    assert r.notes["typos"] == {" nortee ": "Norte", "Nrte": "Norte"}
    assert r.notes["unmatched"] == {"Atlantis": 2, "Mordor": 1}
    assert r.values.tolist()[-4:] == ["Desconocida"] * 4
    assert r.values.dtype == object


def test_fuzzy_cutoff() -> None:
    s = pd.Series(["Nrte"])
    assert normalize_category(s, VOCAB["region"], fuzzy_cutoff=1.0).status.iloc[0] == INVALID
    assert normalize_category(s, VOCAB["region"], fuzzy_cutoff=0.5).values.iloc[0] == "Norte"


@pytest.mark.parametrize(
    ("vocabulary", "kwargs"),
    [
        ({}, {}),
        (["Norte"], {}),
        ({"Norte": "North"}, {}),
        ({"Norte": ["N"], "Nord": ["N"]}, {}),
        ({"Norte": [], "NORTE": []}, {}),
        ({"Norte": [1]}, {}),
        ({"Norte": []}, {"fuzzy_cutoff": 1.5}),
        ({"Norte": []}, {"fuzzy_cutoff": "high"}),
        ({"Norte": []}, {"unknown": None}),
    ],
)
def test_bad_vocabulary_or_arguments(vocabulary: object, kwargs: dict) -> None:
    with pytest.raises(ParameterError):
        normalize_category(pd.Series(["x"]), vocabulary, **kwargs)


@pytest.mark.parametrize(
    ("raw", "expected", "status"),
    [
        ("C000001", "C000001", CLEAN),
        (" C000001 ", "C000001", FIXED),
        ("c000001", "C000001", FIXED),
        ("C 000 001", "C000001", FIXED),
        ("C000001\t", "C000001", FIXED),
        ("C\u00a0000001", "C000001", FIXED),
        ("ＣＯＯＯ１", "COOO1", FIXED),
        (17, "17", FIXED),
        (np.int64(17), "17", FIXED),
        (17.0, "17", FIXED),
        (1.5, "1.5", FIXED),
        (10**20, "100000000000000000000", FIXED),
        (None, None, MISSING),
        (math.nan, None, MISSING),
        ("", None, MISSING),
        ("  ", None, MISSING),
        ("N/A", None, MISSING),
        (math.inf, None, INVALID),
        (True, None, INVALID),
    ],
)
def test_normalize_id(raw: object, expected: str | None, status: str) -> None:
    r = normalize_id(pd.Series([raw], dtype=object))
    assert r.values.iloc[0] == expected
    assert r.status.iloc[0] == status


def test_normalize_id_makes_duplicates_visible() -> None:
    r = normalize_id(pd.Series(["C000001", " c000001", "C000001 ", "C000002"]))
    assert r.values.duplicated(keep=False).tolist() == [True, True, True, False]


@pytest.mark.parametrize(
    ("raw", "expected", "status"),
    [
        ("Prefiere comunicación por WhatsApp", "Prefiere comunicación por WhatsApp", CLEAN),
        ("  Prefiere   WhatsApp ", "Prefiere WhatsApp", FIXED),
        ("línea 1\nlínea 2", "línea 1 línea 2", FIXED),
        ("a\u00a0b", "a b", FIXED),
        ("", None, MISSING),
        ("   ", None, MISSING),
        (None, None, MISSING),
        (math.nan, None, MISSING),
        ("N/A", None, MISSING),
        (42, "42", FIXED),
    ],
)
def test_clean_text(raw: object, expected: str | None, status: str) -> None:
    r = clean_text(pd.Series([raw], dtype=object))
    assert r.values.iloc[0] == expected
    assert r.status.iloc[0] == status
