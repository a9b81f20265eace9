"""The web UI in a real browser (Playwright + Debian's Chromium, headless): the CRM manager's flow,
both languages, 375 px and 1280 px layouts, and an axe-core accessibility check on every main page."""

from __future__ import annotations

import re

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
    expect(first).to_contain_text("close to the seeds")
    page.screenshot(path=str(SCREENSHOTS / "audience.png"), full_page=False)

    # export the e-mail channel file and check the downloaded file
    with page.expect_download() as info:
        page.click("#export-email")
    download = info.value
    assert download.suggested_filename == "browser-vips_email.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    got = pd.read_csv(path, dtype={"customer_id": str})
    assert list(got.columns) == ["customer_id", "rank", "similarity", "reason"]
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
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
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
         "/datasets/demo/map?audience=browser-vips", "/playbooks", "/campaigns", "/campaigns/1"]


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
