"""Contact rules through the API and the UI (issue 19): audience build, reach, playbook run, campaign export.

The service's store is shared with the other API tests (their exports are contacts too), so the expected
exclusions are counted here with SQL on the whole contacts table, independently of the library.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from lookalike import database as db
from lookalike.audience.store import audience_manifest
from lookalike.campaigns.contacts import contact_history, record_contacts
from lookalike.campaigns.store import assignments_frame, create_campaign

from .service import browser, csrf_of, ui_login


def _at_least(engine, n: int, days: int, but_campaign: int | None = None) -> set[str]:
    """Customers with ``n`` or more contacts in the last ``days`` days (a GROUP BY in the store), not
    counting those of ``but_campaign``."""
    since = (pd.Timestamp.now(tz="UTC") - timedelta(days=days)).to_pydatetime()
    c = db.contacts
    q = sa.select(c.c.customer_id).where(c.c.contacted_at >= since)
    if but_campaign is not None:
        q = q.where(sa.or_(c.c.campaign_id.is_(None), c.c.campaign_id != but_campaign))
    q = q.group_by(c.c.customer_id).having(sa.func.count() >= n)
    with engine.connect() as conn:
        return set(conn.execute(q).scalars())


def _candidates(finder) -> set[str]:
    cust = finder.customers_
    return set(cust.loc[cust["vip_flag"].ne(1) & cust["promo_channel"].astype(str).ne("none"), "customer_id"])


@pytest.fixture(scope="module")
def planted(client, editor, service, finder):
    """Contacts of the best lookalikes of the VIPs: two sends for 12 of them, one for 12 more."""
    r = client.post("/api/v1/datasets/demo/audiences", headers=editor,
                    json={"name": "contacts-free", "size": "200", "top": 0})
    assert r.status_code == 201, r.text
    top = service.app.state.workspace.audience_table("contacts-free")["customer_id"].tolist()
    engine = service.app.state.engine
    now = pd.Timestamp.now(tz="UTC")
    record_contacts(engine, top[:24], "email", audience="api-test-a", at=now - timedelta(days=3))
    record_contacts(engine, top[:12], "sms", audience="api-test-b", at=now - timedelta(days=9))
    return top


@pytest.mark.slow
def test_api_build_and_reach_honour_the_caps(client, editor, service, finder, planted):
    engine = service.app.state.engine
    capped = _at_least(engine, 2, 30) & _candidates(finder)
    recent = _at_least(engine, 1, 7) & _candidates(finder)
    # (the other API tests' channel exports are contacts too: planted[12:24] may be capped by them)
    assert set(planted[:12]) <= capped and set(planted[12:24]) <= recent
    body = {"size": "200", "max_contacts": "2/30d", "top": 0}
    r = client.post("/api/v1/datasets/demo/audiences", headers=editor, json={"name": "contacts-capped", **body})
    assert r.status_code == 201, r.text
    counts = r.json()["counts"]
    assert counts["excluded: at the contact cap (2 in 30d)"] == len(capped)
    members = set(service.app.state.workspace.audience_table("contacts-capped")["customer_id"])
    # the uncapped ones of the 24 best lookalikes stay: leaving customers out only moves the others up
    assert len(members) == 200 and not members & capped and set(planted[12:24]) - capped <= members
    assert r.json()["parameters"]["max_contacts"] == "2/30d"
    # both rules; the reach slider counts the same candidates
    both = {**body, "exclude_contacted_within": "1w"}
    r = client.post("/api/v1/datasets/demo/audiences", headers=editor, json={"name": "contacts-both", **both})
    assert r.status_code == 201, r.text
    counts = r.json()["counts"]
    assert counts["excluded: contacted in the last 1w"] == len(recent)
    assert counts["excluded: at the contact cap (2 in 30d)"] == len(capped - recent)
    members = set(service.app.state.workspace.audience_table("contacts-both")["customer_id"])
    assert not members & (capped | recent)
    reach = client.post("/api/v1/datasets/demo/reach", headers=editor,
                        json={k: v for k, v in both.items() if k != "top"}).json()
    assert reach["candidates"] == counts["candidates"] == len(_candidates(finder) - capped - recent)
    # the rules read the history as of now, never through a kept ranking: a new contact counts at once
    fresh = sorted(_candidates(finder) - capped - recent)[:3]
    record_contacts(engine, fresh, "email", audience="api-test-f")
    again = client.post("/api/v1/datasets/demo/reach", headers=editor,
                        json={k: v for k, v in both.items() if k != "top"}).json()
    assert again["candidates"] == reach["candidates"] - 3


def test_api_bad_rule_is_a_400_naming_the_option(client, editor):
    r = client.post("/api/v1/datasets/demo/audiences", headers=editor,
                    json={"name": "contacts-bad", "max_contacts": "3 per month"})
    assert r.status_code == 400 and "max_contacts must be contacts per window such as 3/30d" in r.json()["detail"]


def test_api_playbook_run_takes_the_caps(client, editor, service, finder, planted):
    capped = _at_least(service.app.state.engine, 2, 30)
    r = client.post("/api/v1/datasets/demo/playbooks/acquisition-lookalike", headers=editor,
                    json={"name": "contacts-pb", "size": "200", "top": 0, "max_contacts": "2/30d"})
    assert r.status_code == 201, r.text
    members = set(service.app.state.workspace.audience_table("contacts-pb")["customer_id"])
    assert not members & capped and r.json()["counts"]["excluded: at the contact cap (2 in 30d)"] == len(
        capped & _candidates(finder))


def test_api_campaign_export_leaves_control_out_and_checks_the_caps(client, editor, service, planted):
    ws, engine = service.app.state.workspace, service.app.state.engine
    r = client.post("/api/v1/datasets/demo/audiences", headers=editor,
                    json={"name": "contacts-camp", "size": "300", "top": 0, "max_contacts": "3/30d"})
    assert r.status_code == 201, r.text
    table = ws.audience_table("contacts-camp")
    camp = create_campaign(engine, "api-contacts", table, holdout_share=0.25,
                           manifest=audience_manifest(ws.audience_path("contacts-camp"))).campaign
    arms = assignments_frame(engine, camp.id)
    control = set(arms.loc[arms.arm == "control", "customer_id"])
    treated = arms.loc[arms.arm == "treatment", "customer_id"].tolist()
    r = client.post("/api/v1/audiences/contacts-camp/exports", headers=editor,
                    json={"profile": "email", "campaign": camp.id})
    assert r.status_code == 201, r.text
    hist = contact_history(engine)
    mine = set(hist.loc[hist["campaign"] == "api-contacts", "customer_id"])
    written = client.get(r.json()["files"][0]["url"], headers=editor).text.splitlines()[1:]
    assert mine == {line.split(",")[0] for line in written} and mine and not mine & control
    # two more sends reach 6 treated customers: the audience's own cap (3 in 30 days) refuses them
    for audience in ("api-test-c", "api-test-d", "api-test-e"):
        record_contacts(engine, treated[:6], "push", audience=audience)
    over = len(_at_least(engine, 3, 30, but_campaign=camp.id) & set(treated))  # its own contacts do not count
    assert over >= 6
    r = client.post("/api/v1/audiences/contacts-camp/exports", headers=editor,
                    json={"profile": "sms", "campaign": camp.id})
    assert r.status_code == 400 and f"{over} of the {len(treated):,} treated customers" in r.json()["detail"]
    r = client.post("/api/v1/audiences/contacts-camp/exports", headers=editor,
                    json={"profile": "sms", "campaign": camp.id, "allow_over_cap": True})
    assert r.status_code == 201 and any("break the contact rules" in w for w in r.json()["warnings"])
    r = client.post("/api/v1/audiences/contacts-camp/exports", headers=editor,
                    json={"profile": "sms", "campaign": camp.id, "max_contacts": "9/30d"})
    assert r.status_code == 201, r.text  # a rule given with the export replaces the audience's
    r = client.post("/api/v1/audiences/contacts-camp/exports", headers=editor,
                    json={"profile": "sms", "max_contacts": "9/30d"})
    assert r.status_code == 400 and "max_contacts apply to a campaign's export: pass campaign" in r.json()["detail"]


def test_ui_build_reads_the_contact_fields(service, finder, planted):
    capped = _at_least(service.app.state.engine, 2, 30)
    with browser(service.app) as c:
        ui_login(c, service.editor_key)
        page = c.get("/datasets/demo/build").text  # the form is generated from the options: the rules are on it
        assert 'name="opt_max_contacts"' in page and 'name="opt_exclude_contacted_within"' in page
        reach = c.post("/ui/datasets/demo/preview", data={"seed_kind": "vip", "size_pct": "5",
                                                          "opt_max_contacts": "2 per month", "csrf_token": csrf_of(c)})
        assert 'id="preview-error"' in reach.text and "max_contacts" in reach.text
        r = c.post("/datasets/demo/build", data={"seed_kind": "vip", "size_pct": "5", "audience_name": "ui-capped",
                                                 "opt_max_contacts": "2/30d", "opt_exclude_contacted_within": "",
                                                 "csrf_token": csrf_of(c)}, follow_redirects=False)
        assert r.status_code == 303, r.text
    info = service.app.state.workspace.audience_info("ui-capped")
    members = set(service.app.state.workspace.audience_table("ui-capped")["customer_id"])
    assert info["counts"]["excluded: at the contact cap (2 in 30d)"] == len(capped & _candidates(finder))
    assert not members & capped
