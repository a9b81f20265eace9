"""The web UI in a real browser (Playwright + Debian's Chromium, headless): the CRM manager's flow,
both languages, 375 px and 1280 px layouts, and an axe-core accessibility check on every main page."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect

from lookalike.audience.expand import parse_size

from .conftest import SCREENSHOTS, axe_violations, overflows

N_DEMO = 3000
pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def page(live, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def _number(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def test_full_flow(live, page, tmp_path):
    # log in
    page.goto(live.url + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("#api_key", live.editor_key)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="Datasets")).to_be_visible()

    # load the demo data: a background job, polled by the page until it is done
    page.fill("#demo_n", str(N_DEMO))
    page.click("#load-demo")
    expect(page.locator("#open-dataset")).to_be_visible(timeout=90_000)
    page.click("#open-dataset")
    rows_in = _number(page.locator("#rows-in").inner_text())
    quality = live.app.state.workspace.quality("demo")
    assert rows_in == quality["rows"]["in"] > N_DEMO  # the demo export carries duplicate rows
    page.screenshot(path=str(SCREENSHOTS / "quality.png"), full_page=False)

    # build an audience from the VIPs; the size slider shows reach live
    page.goto(live.url + "/datasets/demo/build")
    n = live.app.state.workspace.finder("demo").n_customers_
    reach = page.locator("#reach-size")
    assert _number(reach.inner_text()) == parse_size("5%", n)
    slider = page.locator("#size_pct")
    slider.focus()
    for _ in range(10):  # arrow keys: what a keyboard user does; 5% -> 10% in 0.5% steps
        page.keyboard.press("ArrowRight")
    expect(page.locator("#size_out")).to_have_text("10")
    expect(reach).to_have_text(re.compile(rf"^{parse_size('10%', n):,} "), timeout=20_000)
    page.screenshot(path=str(SCREENSHOTS / "build.png"), full_page=False)
    page.fill("#audience_name", "browser-vips")
    page.click("#build-button")
    expect(page).to_have_url(re.compile(r"/audiences/browser-vips$"))
    assert _number(page.locator("#audience-size").inner_text()) == parse_size("10%", n)
    first = page.locator("#members tbody tr").first
    # the top of auto's ranking can be a partial resemblance (a big spender far from typical VIPs)
    expect(first).to_contain_text(re.compile(r"(Resembles|Partly resembles) the VIPs: .*× the average"))
    page.screenshot(path=str(SCREENSHOTS / "audience.png"), full_page=False)

    # export the e-mail channel file and check the downloaded file
    with page.expect_download() as info:
        page.click("#export-email")
    download = info.value
    assert download.suggested_filename == "browser-vips_email.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    got = pd.read_csv(path, dtype={"customer_id": str})
    assert list(got.columns) == ["customer_id", "email", "first_name", "rank", "similarity", "reason"]
    assert got.email.str.contains("@").all()  # the address the e-mail tool sends to
    audience = live.app.state.workspace.audience_table("browser-vips")
    customers = live.app.state.workspace.finder("demo").customers_.set_index("customer_id")
    assert set(got.customer_id) <= set(audience.customer_id) and len(got) > 0
    assert customers.loc[got.customer_id, "promo_channel"].eq("email").all()
    assert got["rank"].is_monotonic_increasing

    # the map with seeds and audience
    page.goto(live.url + "/datasets/demo/map?audience=browser-vips")
    expect(page.locator(".chart svg")).to_be_visible()
    assert "audience browser-vips" in page.locator(".chart").inner_html()
    page.screenshot(path=str(SCREENSHOTS / "map.png"), full_page=False)

    # campaigns and their results: a campaign on this audience with simulated outcomes (campaigns package)
    from lookalike.campaigns.simulate import run_simulated_campaign

    _, results = run_simulated_campaign(live.app.state.engine, audience, name="spring-email", customers=None,
                                        holdout_share=0.2, base_rate=0.05, uplift=0.05, random_state=3)
    page.click("nav >> text=Campaigns")
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()
    page.click("text=spring-email")
    reading = page.locator("#campaign-reading")
    expect(reading).to_contain_text("spring-email")
    c = results.uplifts["conversion_rate"]
    assert f"{c.diff * 100:+.2f}" in reading.inner_text()
    expect(page.locator(".chart svg")).to_be_visible()
    treated = results.arms.loc["treatment", "customers"]
    expect(page.locator("main")).to_contain_text(f"{int(treated):,}")
    page.screenshot(path=str(SCREENSHOTS / "campaign.png"), full_page=False)


def test_language_switch(live, page):
    page.goto(live.url + "/audiences")
    page.click("a[lang=es]")
    expect(page.get_by_role("heading", name="Audiencias")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "es"
    page.goto(live.url + "/playbooks")  # the choice is kept in the session
    expect(page.locator("nav")).to_contain_text("Campañas")
    page.click("a[lang=en]")
    expect(page.get_by_role("heading", name="Playbooks")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "en"


PAGES = ["/", "/datasets/demo", "/datasets/demo/build", "/audiences", "/audiences/browser-vips",
         "/datasets/demo/map?audience=browser-vips", "/playbooks", "/campaigns", "/campaigns/1",
         "/campaigns/new?audience=browser-vips"]


@pytest.mark.parametrize("width", [375, 1280])
def test_layout_and_accessibility(live, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(live.url + "/login")
    assert axe_violations(page) == []
    page.fill("#api_key", live.editor_key)
    page.click("button[type=submit]")
    page.wait_for_url(live.url + "/")
    problems = {}
    for path in PAGES:
        page.goto(live.url + path)
        page.wait_for_load_state("networkidle")
        if overflows(page) > 1:
            problems[path] = f"{overflows(page)} px wider than the {width} px viewport"
        violations = axe_violations(page)
        if violations:
            problems[path] = violations
    if width == 375:
        page.goto(live.url + "/audiences/browser-vips")
        page.screenshot(path=str(SCREENSHOTS / "audience-375.png"), full_page=False)
    page.goto(live.url + "/")
    if width == 1280:
        page.screenshot(path=str(SCREENSHOTS / "home.png"), full_page=False)
    context.close()
    assert problems == {}


def _english_phrases() -> set[str]:
    """The product's English words that Spanish says differently: the pieces of every English catalogue
    string between its placeholders, of two words or more (one word may be a data value or a name)."""
    import tomllib
    from importlib import resources

    def load(lang: str) -> dict:
        return tomllib.loads(resources.files("lookalike").joinpath("locales", f"{lang}.toml").read_text("utf-8"))

    en, es = load("en"), load("es")
    phrases = set()
    for key, text in en.items():
        if text == es.get(key):
            continue
        for piece in re.split(r"\{[^}]*\}|<[^>]*>", text):
            piece = piece.strip(" .,:;·()—-")
            if len(piece.split()) >= 2 and piece not in str(es.get(key)):
                phrases.add(piece)
    return phrases


def test_a_spanish_page_shows_none_of_the_products_english(live, browser):
    """Every main page in Spanish (reasons, funnel, charts' SVG text, tables, warnings) holds no English
    phrase of the catalogue."""
    phrases = _english_phrases()
    assert len(phrases) > 200  # the catalogue, not an empty set that passes anything
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-ES")
    page = context.new_page()
    page.goto(live.url + "/login")
    page.fill("#api_key", live.editor_key)
    page.click("button[type=submit]")
    page.wait_for_url(live.url + "/")
    page.goto(live.url + "/lang/es")
    found = {}
    for path in PAGES:
        page.goto(live.url + path)
        page.wait_for_load_state("networkidle")
        assert page.locator("html").get_attribute("lang") == "es"
        # what a reader sees; matplotlib draws a chart's words as glyph paths and writes each one in a
        # comment beside them, which is how the charts' titles, axes and legends are read here
        charts = re.findall(r"<!-- (.*?) -->", page.content())
        text = re.sub(r"\s+", " ", page.locator("body").inner_text() + " " + " ".join(charts))
        hits = sorted(p for p in phrases if p in text)
        if path == "/audiences/browser-vips":
            page.screenshot(path=str(SCREENSHOTS / "audience-es.png"), full_page=False)
        if hits:
            found[path] = hits[:30]
    context.close()
    assert found == {}, found


@pytest.mark.parametrize("lang", ["es", "en"])
def test_reports_are_readable_at_375_px(live, browser, tmp_path, lang):
    """The full report and the standalone campaign report fit a phone's width: no sideways scrolling of
    the page; tables and charts scroll inside their own boxes."""
    from lookalike.campaigns.report import results_from_frame
    from lookalike.report.campaigns import render_campaign_report
    from lookalike.report.full import build_report

    finder = live.app.state.workspace.finder("demo")
    rng = np.random.default_rng(0)
    n = 3000
    arm = np.where(rng.random(n) < 0.2, "control", "treatment")
    conv = rng.random(n) < np.where(arm == "treatment", 0.08, 0.04)
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)], "arm": arm, "sends": 1, "opens": 0,
                          "clicks": 0, "conversions": conv.astype(int), "revenue": conv * 50.0})
    results = results_from_frame(frame, name="spring-email", holdout_share=0.2)
    pages = {"report.html": build_report(finder, campaigns=[results], lang=lang, source="work/demo/model"),
             "campaign.html": render_campaign_report([results], lang=lang)}
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    wide = {}
    for name, html in pages.items():
        (tmp_path / name).write_text(html, encoding="utf-8")
        page.goto((tmp_path / name).as_uri())
        assert page.locator("html").get_attribute("lang") == lang
        if overflows(page) > 1:
            wide[name] = overflows(page)
        # a chart keeps a readable size and scrolls inside its own box, never the page
        widest = page.evaluate("() => Math.max(...[...document.querySelectorAll('.chart')]"
                               ".map(s => s.getBoundingClientRect().right))")
        assert page.locator(".chart svg").count() >= 1 and widest <= 375
    assert page.evaluate("() => document.title") != ""
    context.close()
    assert wide == {}
