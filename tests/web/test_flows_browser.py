"""Issue 18's "done when": a new CRM manager goes from upload to campaign results in the UI, in Spanish
(and, the same flow, in English), without the command line — upload → a rule written with the condition builder → audience → campaign →
treatment file → outcomes (a bad file first: refused whole, its problems inline) → results; at 375 and
1280 px, every page axe-core clean (serious/critical) and no page wider than the screen."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from playwright.sync_api import expect

from lookalike.audience.seeds import parse_rule, rule_mask
from lookalike.campaigns.store import assignments_frame, campaign_frame, control_ids
from lookalike.i18n import format_number, translator
from lookalike.synth import generate

from .conftest import SCREENSHOTS, axe_violations, overflows

pytestmark = [pytest.mark.browser, pytest.mark.slow]


# the innermost elements that reach past the right edge of the screen (what to fix when a page overflows)
_WIDE = """() => Array.from(document.querySelectorAll('body *')).filter(e => {
  const r = e.getBoundingClientRect(); return r.right > window.innerWidth + 1 && r.width > 0 &&
  !Array.from(e.children).some(c => c.getBoundingClientRect().right > window.innerWidth + 1); })
  .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def _check(page, problems: dict, where: str, lang: str) -> None:
    """Record what is wrong with the page now: horizontal overflow, serious accessibility violations."""
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == lang, where
    if overflows(page) > 1:
        problems[f"{where} (overflow)"] = (f"{overflows(page)} px wider than the screen", page.evaluate(_WIDE))
    violations = axe_violations(page)
    if violations:
        problems[where] = violations


@pytest.mark.parametrize("lang, width", [("es", 375), ("es", 1280), ("en", 375), ("en", 1280)])
def test_crm_manager_from_upload_to_results(live, browser, tmp_path, lang, width):
    ws, engine = live.app.state.workspace, live.app.state.engine
    t = translator(lang)
    dataset, audience, campaign = f"tienda-{lang}{width}", f"norte-{lang}{width}", f"primavera-{lang}{width}"
    raw = tmp_path / "clientes.csv"
    generate(1200, seed=width).raw.to_csv(raw, index=False)
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True, locale="es-ES" if lang == "es" else "en-GB")
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems: dict = {}

    page.goto(live.url + "/login")
    page.fill("#api_key", live.editor_key)
    page.click("button[type=submit]")
    page.wait_for_url(live.url + "/")
    if lang == "es":
        page.click("a[lang=es]")
    _check(page, problems, "home", lang)

    # 1. upload the CRM export: a background job, then the quality page
    page.fill("#up_name", dataset)
    page.set_input_files("#up_file", str(raw))
    page.click("form[action='/datasets/upload'] button[type=submit]")
    expect(page.locator("#open-dataset")).to_be_visible(timeout=120_000)
    _check(page, problems, "job", lang)

    # 2. the build page: a rule from the condition builder (the data's own regions), the live estimate
    page.goto(f"{live.url}/datasets/{dataset}/build")
    customers = ws.finder(dataset).customers_
    region = customers["region"].astype(str).value_counts().index[0]
    page.select_option("#cb-column", "region")
    panel = page.locator(".cb-panel[data-column=region]")
    expect(panel).to_be_visible()
    panel.locator(f"input[type=checkbox][value='{region}']").check()
    page.click("#cb-add")
    expect(page.locator("#seed_rule")).to_have_value(f"region in {region}")
    expect(page.locator("#seed_rule_r")).to_be_checked()
    seeds = int(rule_mask(customers, parse_rule(f"region in {region}")).sum())
    expect(page.locator("#preview-seeds")).to_contain_text(format_number(seeds, lang), timeout=30_000)
    expect(page.locator("#reach-curve svg")).to_be_visible()
    _check(page, problems, "build", lang)
    page.screenshot(path=str(SCREENSHOTS / f"build-{lang}-{width}.png"), full_page=False)
    page.fill("#audience_name", audience)
    page.click("#build-button")
    expect(page).to_have_url(re.compile(rf"/audiences/{audience}$"), timeout=60_000)
    assert ws.audience_info(audience)["seeds"] == seeds
    expect(page.locator("#versions-table")).to_be_visible()
    _check(page, problems, "audience", lang)

    # 3. a campaign from the audience: control share, strata, cost; the detectable-uplift preview
    page.click("#use-in-campaign")
    expect(page.locator("#campaign-form")).to_be_visible()
    page.fill("#c-name", campaign)
    page.fill("#c-holdout", "20")
    page.select_option("#c-stratify", "region")
    page.fill("#c-cost", "250")
    expect(page.locator("#power")).not_to_contain_text(t("estimating"), timeout=30_000)
    _check(page, problems, "new campaign", lang)
    page.click("#create-campaign")
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"), timeout=60_000)
    cid = int(page.url.rsplit("/", 1)[1])
    size = ws.audience_info(audience)["size"]
    expect(page.locator("#campaign-treatment")).to_have_text(format_number(len(assignments_frame(engine, cid)) - len(control_ids(engine, cid)), lang))
    _check(page, problems, "campaign", lang)
    expect(page.locator("#outcome-upload")).to_have_text(t("outcomes_upload"))  # the page's language

    # 4. the treatment group's file: never a control customer
    with page.expect_download() as info:
        page.click("#campaign-export-email")
    sent_path = tmp_path / info.value.suggested_filename
    info.value.save_as(sent_path)
    sent = pd.read_csv(sent_path, dtype={"customer_id": str})
    assert len(sent) > 0 and not set(sent["customer_id"]) & set(control_ids(engine, cid))

    # 5. outcomes: a file with a bad row is refused whole, its problems shown next to the form
    with page.expect_download() as info:
        page.click("#outcome-template")
    template_path = tmp_path / "plantilla.csv"
    info.value.save_as(template_path)
    template = pd.read_csv(template_path, dtype={"customer_id": str})
    assert len(template) == size
    good = template[["customer_id"]].assign(conversions=(template.index % 6 == 0).astype(int),
                                            revenue=(template.index % 6 == 0) * 35.0)
    bad = pd.concat([good, pd.DataFrame({"customer_id": ["NO-ES-CLIENTE"], "conversions": [1], "revenue": [5.0]})])
    bad.to_csv(tmp_path / "malo.csv", index=False)
    good.to_csv(tmp_path / "bueno.csv", index=False)
    page.set_input_files("#outcome-file", str(tmp_path / "malo.csv"))
    page.click("#outcome-upload")
    expect(page.locator("#outcome-error")).to_contain_text("NO-ES-CLIENTE")
    assert campaign_frame(engine, cid)["conversions"].fillna(0).sum() == 0  # nothing was imported
    _check(page, problems, "outcome error", lang)
    page.set_input_files("#outcome-file", str(tmp_path / "bueno.csv"))
    page.click("#outcome-upload")

    # 6. the results, in words
    expect(page.locator("#campaign-reading")).to_be_visible(timeout=60_000)
    expect(page.locator("#outcomes-loaded")).to_be_visible()
    _check(page, problems, "results", lang)
    page.screenshot(path=str(SCREENSHOTS / f"campaign-{lang}-{width}.png"), full_page=True)
    context.close()
    assert problems == {}
