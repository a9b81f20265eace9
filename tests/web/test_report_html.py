"""The self-contained HTML report, the translations and the PCA map's extra groups."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import lookalike as lk
from lookalike.report.full import build_report, gain_at, gain_backtest
from lookalike.synth import generate


@pytest.fixture(scope="module")
def data():
    result = lk.clean_customers(generate(2500, seed=11, contact=True).raw)
    return result, lk.LookalikeFinder().fit(result.customers)


def _external_refs(html: str) -> list[str]:
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html) + re.findall(r"url\(([^)]*)\)", html)
    return [r for r in refs if not r.startswith(("data:", "#"))]


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "es"])
def test_report_is_self_contained_with_readings(data, lang):
    result, finder = data
    html = build_report(finder, quality=result.report.to_dict(), lang=lang,
                        evaluation=gain_backtest(finder.customers_, n_splits=1))
    assert _external_refs(html) == []
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert f'<html lang="{lang}">' in html
    for section in ("quality", "distributions", "pca", "profiles", "gain", "campaigns"):
        assert f'id="{section}"' in html
    readings = re.findall(r'<p class="reading"><strong>[^<]+</strong> (.*?)</p>', html)
    assert len(readings) == 5  # quality, distributions, map, profile, gain (no campaign store given)
    assert html.count("<svg") == 3  # distributions, map, gain chart
    rows = result.report.to_dict()["rows"]
    sep = "." if lang == "es" else ","
    assert f"{rows['in']:,}".replace(",", sep) in readings[0]
    spend = result.customers.total_spent
    vip_median = spend[result.customers.vip_flag.eq(1)].median()
    assert f"{vip_median:,.0f}".replace(",", sep) in readings[1]
    word = "VIP" if lang == "en" else "VIP"
    assert word in readings[2]
    # the VIP audience's validation table says why this method in the page's language
    title, caption = {"en": ("Why this method", "<caption>Score: "), "es": ("Por qué este método", "<caption>Puntuación: ")}[lang]
    assert title in html and caption in html


def test_gain_reading_interpolates_the_curve():
    gains = pd.DataFrame({"method": ["a"] * 3, "share_targeted": [0.0, 0.2, 1.0], "share_of_positives": [0.0, 0.5, 1.0]})
    assert gain_at(gains, "a", 0.1) == pytest.approx(0.25)
    assert np.isnan(gain_at(gains, "missing"))


@pytest.mark.slow
def test_report_cli_with_campaigns(data, tmp_path):
    from lookalike.campaigns.simulate import run_simulated_campaign
    from lookalike.cli import app
    from lookalike.database import open_database

    result, finder = data
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    result.customers.to_parquet(clean_dir / "customers.parquet")
    (clean_dir / "quality.json").write_text(__import__("json").dumps(result.report.to_dict(), default=str))
    url = f"sqlite:///{tmp_path}/c.db"
    engine = open_database(url)
    audience = finder.expand("vip", size="10%")
    _, res = run_simulated_campaign(engine, audience, name="winter-sms", holdout_share=0.2, uplift=0.04)
    engine.dispose()
    out = tmp_path / "report.html"
    r = CliRunner().invoke(app, ["report", str(clean_dir / "customers.parquet"), "-o", str(out), "--lang", "es",
                                 "--campaigns", url, "--splits", "1"])
    assert r.exit_code == 0, r.output
    html = out.read_text("utf-8")
    assert _external_refs(html) == []
    assert "winter-sms" in html and "Resultados de campañas" in html
    c = res.uplifts["conversion_rate"]
    assert f"{c.diff * 100:+.2f}".replace(".", ",") in html  # the measured uplift, in Spanish numbers
    assert "p = < " not in html and "Informe Lookalike: customers" in html  # titled from the data's file
    assert "US$" in html.split('id="campaigns"')[1]  # campaign money in the data's currency
    assert "Calidad de los datos" in html  # quality.json next to the table was found


def test_report_cli_bad_input(tmp_path):
    from lookalike.cli import app

    (tmp_path / "x.csv").write_text("")
    r = CliRunner().invoke(app, ["report", str(tmp_path / "x.csv"), "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 3 and "Traceback" not in r.output


def _keys(lang: str) -> set[str]:
    return set(tomllib.loads(resources.files("lookalike").joinpath("locales", f"{lang}.toml").read_text("utf-8")))


def test_translations_have_the_same_keys_and_cover_the_templates():
    en, es = _keys("en"), _keys("es")
    assert en == es
    used = set()
    for folder in (Path(lk.__file__).parent / "web" / "templates", Path(lk.__file__).parent / "report" / "templates"):
        for f in folder.glob("*"):
            used |= set(re.findall(r"\bt\('([a-z_0-9]+)'", f.read_text("utf-8")))
    assert used and used <= en, used - en


def test_pca_map_draws_extra_groups():
    from lookalike.report.plots import pca_map

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    seeds = np.zeros(400, bool)
    seeds[:10] = True
    aud = np.zeros(400, bool)
    aud[5:60] = True  # overlaps the seeds: seeds are drawn as seeds only
    fig = pca_map(X, seeds, labels=("customers", "seeds"), groups={"audience": aud})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["customers (390)", "audience (50)", "seeds (10)"]  # the base is everyone but the seeds
    with pytest.raises(lk.ParameterError):
        pca_map(X, seeds, groups={"bad": np.ones(3, bool)})


@pytest.mark.slow
def test_campaign_view_formats_rates_as_shares_and_revenue_as_money():
    from lookalike.campaigns.report import results_from_frame
    from lookalike.report.campaigns import campaign_view
    from lookalike.i18n import translator

    rng = np.random.default_rng(0)
    n = 4000
    arm = np.where(rng.random(n) < 0.2, "control", "treatment")
    conv = rng.random(n) < np.where(arm == "treatment", 0.08, 0.04)
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)], "arm": arm, "sends": (arm == "treatment") * 1,
                          "opens": 0, "clicks": 0, "conversions": conv.astype(int), "revenue": conv * 50.0})
    res = results_from_frame(frame, name="t", holdout_share=0.2)
    view = campaign_view(res, translator("es"), "es")
    uplift = {r[0]: r for r in view["tables"][0]["rows"]}
    treat_rate = conv[arm == "treatment"].mean()
    assert uplift["tasa de conversión"][1] == f"{treat_rate * 100:.2f}\u00a0%".replace(".", ",")
    assert uplift["ingresos por cliente"][1] == f"{treat_rate * 50:.2f}".replace(".", ",")  # money, not a share
    assert uplift["tasa de conversión"][6] == "< 0,001"  # a p-value as people read it
    assert view["tables"][1]["title"] == "Tratamiento y control"
    # the full verdict in Spanish too, the cost caveat included
    assert view["reading"].startswith("t ") and view["verdict"].startswith("La campaña aumentó la conversión")
    assert "p < 0,001" in view["verdict"] and "No hay ningún coste registrado" in view["verdict"]
    en = campaign_view(res, translator("en"), "en")
    assert en["verdict"].startswith("The campaign raised conversion") and "No cost is recorded" in en["verdict"]
    assert view["chart"].startswith("<svg")
