"""What the faces say about an audience (issue 18, items 1, 3 and 6): reasons in business language with a
resemblance level, the audience summary, the profile as ×-bars, the method and its validation table, the
funnels and warnings, in Spanish and English from the one catalogue."""

from __future__ import annotations

import re

import numpy as np
import pytest

import lookalike as lk
from lookalike.audience.explain import summary
from lookalike.errors import ResultWarning
from lookalike.i18n import warning_text
from lookalike.report import words
from lookalike.synth import generate

#: Raw column names a marketer should never read in a reason or a bar label.
COLUMNS = ("total_spent", "total_orders", "pct_reordered", "avg_ticket", "days_since_last_purchase", "fav_category")


@pytest.fixture(scope="module")
def built():
    finder = lk.LookalikeFinder().fit(lk.clean_customers(generate(3000, seed=5).raw).customers)
    return finder, finder.build_audience("vip", "10%")


@pytest.mark.parametrize("lang", ["en", "es"])
def test_reasons_say_features_in_words_and_numbers_and_never_resemble_when_weak(built, lang):
    _, res = built
    aud = res.audience
    reasons = words.member_reasons(aud, res.profile, res.params, lang)
    assert len(reasons) == len(aud)
    assert len(set(reasons)) > 0.8 * len(aud)  # each member its own reason, not one sentence for all
    assert not any(c in r for r in reasons for c in COLUMNS)
    assert all(re.search(r"\d", r) for r in reasons)  # numbers, not only words
    assert not any("close" in r for r in reasons)
    strong, weak = ("Resembles", "Weak resemblance") if lang == "en" else ("Se parece a ", "Parecido débil")
    levels = aud["resemblance"].to_numpy()
    # the level is the member's distance to its nearest seeds against the seeds' own, whatever the
    # scorer (auto's rank average puts every top-10% member near 1.0 similarity): not all "strong"
    assert set(levels) <= {"strong", "partial", "weak"} and len(set(levels)) >= 2
    assert res.params["distance_reference"] > 0
    for reason, level in zip(reasons, levels):
        assert reason.startswith(strong) == (level == "strong")
        assert reason.startswith(weak) == (level == "weak")


@pytest.mark.parametrize("lang", ["en", "es"])
def test_far_members_of_a_wide_audience_read_as_weak(built, lang):
    finder, _ = built
    wide = finder.build_audience("vip", "60%")
    levels = wide.audience["resemblance"].to_numpy()
    assert {"strong", "weak"} <= set(levels)
    weak = "Weak resemblance" if lang == "en" else "Parecido débil"
    reasons = words.member_reasons(wide.audience, wide.profile, wide.params, lang)
    assert all(r.startswith(weak) == (lv == "weak") for r, lv in zip(reasons, levels))
    # farther down the ranking, weaker: the last fifth holds a larger share of weak members than the first
    fifth = len(levels) // 5
    assert (levels[-fifth:] == "weak").mean() > (levels[:fifth] == "weak").mean()


def test_the_audience_summary_compares_with_all_customers(built):
    _, res = built
    es, en = summary(res.profile, len(res.audience), lang="es"), summary(res.profile, len(res.audience), lang="en")
    spent = res.profile.set_index("feature").loc["total_spent"]
    ratio = f"{spent.audience / spent.base:.1f}"
    assert es.startswith(f"Esta audiencia de {len(res.audience)} clientes gasta {ratio.replace('.', ',')}× la media")
    assert en.startswith(f"This audience of {len(res.audience)} customers spends {ratio}× the average")


def test_profile_bars_are_the_strongest_differences_in_words(built):
    _, res = built
    bars = words.profile_bars(res.profile, "es")
    assert 0 < len(bars) <= 12
    numeric = [b for b in bars if "=" not in b["feature"]]
    strength = [abs(np.log(float(b["ratio"].rstrip("×").replace(",", ".")))) for b in numeric]
    assert strength == sorted(strength, reverse=True)  # strongest first
    assert all(0 <= b["width"] <= 50 for b in bars)
    assert all(b["up"] == (float(b["ratio"].rstrip("×").replace(",", ".")) > 1) for b in numeric)
    assert not any(b["label"] in COLUMNS for b in bars)
    assert bars[0]["label"] == "Gasto total"


def test_the_method_disclosure_shows_any_validation_table():
    params = {"scorer": "seed_share", "scorer_asked": "auto", "validation": {
        "kind": "random", "chosen": ["seed_share"], "note": "",
        "table": [{"candidate": "seed_share", "score": 0.41, "spread": 0.02, "seconds": 1.2},
                  {"candidate": "classifier", "score": 0.38, "spread": 0.031, "seconds": 3.4}, "not a row"]}}
    view = words.method_view(params, "es")
    assert view["auto"] and view["method"] == "votación del vecindario"
    rows = view["validation"]["rows"]
    assert [r["code"] for r in rows] == ["seed_share", "classifier"]
    assert [r["chosen"] for r in rows] == [True, False]
    assert rows[1]["score"] == "0,380" and rows[1]["seconds"] == "3,4"
    assert view["validation"]["kind"] == "comprobado encontrando semillas apartadas al azar"
    assert words.method_view({"scorer": "classifier"}, "en")["validation"] is None
    assert "classifier" not in words.method_view({"scorer": "classifier"}, "en")["method"]  # no jargon


def test_funnels_and_warnings_in_the_readers_language():
    steps = words.funnel({"base": 1000, "excluded: seeds": 50, "filtered: fav_category without seeds": 7,
                          "candidates": 943}, "es")
    assert [s["label"] for s in steps] == ["Todos los clientes", "Fuera: los propios clientes de partida",
                                           "Fuera: categoría favorita con muy pocos clientes de partida para comparar",
                                           "Cumplen las condiciones"]
    export = words.export_funnel({"audience": 300, "channel=email": 120, "consent": 100,
                                  "excluded (holdout/suppression)": 100, "no usable identifier": 95}, "es",
                                 identifiers=["email"])
    assert [s["count"] for s in export] == [300, 120, 100, 100, 95]
    assert export[1]["label"] == "Prefieren correo electrónico" and "dirección de correo" in export[-1]["label"]
    w = ResultWarning("too_few_candidates", "only 2140 customers qualify", candidates=2140, size=5000)
    assert "2.140" in warning_text(w, "es") and "5.000" in warning_text(w, "es")
    srm = ResultWarning("sample_ratio_mismatch", "x", p_value=0.00001)
    assert "(p < 0,001)" in warning_text(srm, "es")
