"""The web UI's flows through its forms (no browser): the build page with rules and ids, audience
versions, roles, failed uploads, and a campaign from creation to results (issue 18, items 2, 4, 5, 7)."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from lookalike.audience.expand import parse_size
from lookalike.audience.seeds import parse_rule, rule_mask

from .service import browser, csrf_of, make_service, ui_login

pytestmark = pytest.mark.slow  # a service of its own: campaigns here must not meet the API tests' ones


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    return make_service(tmp_path_factory.mktemp("web-flows"), n=1500, seed=11)


@pytest.fixture(scope="module")
def ws(svc):
    return svc.app.state.workspace


def _build(client, audience: str, **fields) -> object:
    data = {"seed_kind": "rule", "size_pct": "5", "audience_name": audience, "csrf_token": csrf_of(client), **fields}
    return client.post("/datasets/demo/build", data=data, follow_redirects=False)


def test_build_from_rule_then_a_new_version_never_an_overwrite(svc, ws):
    with browser(svc.app) as c:
        ui_login(c, svc.editor_key)
        r = _build(c, "flow-a", seed_rule="total_spent top 10%")
        assert r.status_code == 303 and r.headers["location"] == "/audiences/flow-a"
        first = ws.audience_table("flow-a")
        customers = ws.finder("demo").customers_
        assert len(first) == parse_size("5%", len(customers))
        page = c.get("/audiences/flow-a").text
        assert 'id="versions-table"' in page and "eddie" in page  # one version: who built it

        r = _build(c, "flow-a", seed_rule="region in Norte")
        assert r.status_code == 303
        second = ws.audience_table("flow-a")
        versions = ws.audience_versions("flow-a")
        assert [v["version"] for v in versions] == [1, 2]
        assert [v["user"] for v in versions] == ["eddie", "eddie"]
        # the first version is kept as it was; entered/left count the changed members
        assert ws.audience_table("flow-a", 1)["customer_id"].tolist() == first["customer_id"].tolist()
        a, b = set(first["customer_id"]), set(second["customer_id"])
        assert (versions[1]["entered"], versions[1]["left"]) == (len(b - a), len(a - b))
        assert versions[0]["entered"] is None
        page = c.get("/audiences/flow-a").text
        assert 'id="versions-table"' in page and page.count("<tr><td>") >= 2
        api = c.get("/api/v1/audiences/flow-a/versions", headers={"X-API-Key": svc.viewer_key}).json()
        assert [v["version"] for v in api] == [2, 1] and api[0]["current"]


def test_a_refused_build_keeps_the_form_and_says_why(svc, ws):
    with browser(svc.app) as c:
        ui_login(c, svc.editor_key)
        r = _build(c, "flow-bad", seed_rule="shoe_size >= 42", opt_exclude_vips="on", opt_flags="exclude_vips")
        assert r.status_code == 400
        assert 'id="build-error"' in r.text and "shoe_size" in r.text
        assert 'value="shoe_size &gt;= 42"' in r.text and 'value="flow-bad"' in r.text  # what was typed stays
        r = _build(c, "flow-bad", seed_rule="total_spent >= 1e12")  # matches nobody
        assert r.status_code == 400 and 'id="build-error"' in r.text
        assert "flow-bad" not in [a["name"] for a in ws.audiences()]


def test_unknown_ids_are_listed_and_the_build_goes_on(svc, ws):
    ids = ws.finder("demo").ids_[:30].tolist()
    with browser(svc.app) as c:
        ui_login(c, svc.editor_key)
        r = _build(c, "flow-ids", seed_kind="ids", seed_ids="\n".join([*ids, "NOPE-1", "NOPE-2"]))
        assert r.status_code == 303
        page = c.get(r.headers["location"]).text
        assert 'class="flash warn"' in page and "NOPE-1" in page and "NOPE-2" in page  # the warning names them
        assert ws.audience_info("flow-ids")["seeds"] == len(ids)
        again = c.get("/audiences/flow-ids").text  # the notice once; the audience keeps the warning
        assert 'class="flash warn"' not in again and "NOPE-2" in again
        # a seed file (a CSV with a customer_id column) adds to the typed ids; nothing of it stays behind
        data = {"seed_kind": "ids", "seed_ids": ids[0], "size_pct": "5", "audience_name": "flow-file",
                "csrf_token": csrf_of(c)}
        csv = "email,customer_id\n" + "".join(f"x{i}@example.com,{x}\n" for i, x in enumerate(ids[1:12]))
        r = c.post("/datasets/demo/build", data=data, files={"seed_file": ("seeds.csv", csv, "text/csv")},
                   follow_redirects=False)
        assert r.status_code == 303 and ws.audience_info("flow-file")["seeds"] == 12
        assert list((ws.home / ".spool").iterdir()) == []


def test_live_preview_matches_the_build(svc, ws):
    with browser(svc.app) as c:
        ui_login(c, svc.viewer_key)  # the estimate is for viewers too
        offered = set(re.findall(r'class="cb-panel" data-column="([^"]+)"', c.get("/datasets/demo/build").text))
        customers = ws.finder("demo").customers_
        assert {"region", "total_spent"} <= offered
        assert not offered & {"gender", "email", "phone", "first_name", "customer_id"}  # never people's data
        region = customers["region"].astype(str).value_counts()
        page = c.get("/datasets/demo/build").text  # the data's own values, with their counts
        assert f'value="{region.index[0]}"' in page and f"({region.iloc[0]:,})" in page
        data = {"seed_kind": "rule", "seed_rule": "total_spent top 10%", "size_pct": "7.5",
                "csrf_token": csrf_of(c)}
        r = c.post("/ui/datasets/demo/preview", data=data)
        assert r.status_code == 200
        n = len(ws.finder("demo").customers_)
        size = int(re.sub(r"\D", "", re.search(r'id="reach-size">([^<]+)<', r.text).group(1)))
        assert size == parse_size("7.5%", n)
        assert 'id="reach-curve"' in r.text and "<polyline" in r.text
        seeds = int(rule_mask(ws.finder("demo").customers_, parse_rule("total_spent top 10%")).sum())
        assert f"{seeds:,}" in r.text
        r = c.post("/ui/datasets/demo/preview", data={**data, "seed_rule": "nonsense ~~ 3"})
        assert 'id="preview-error"' in r.text


def test_viewers_see_no_editor_actions(svc, ws):
    with browser(svc.app) as c:
        ui_login(c, svc.editor_key)
        assert _build(c, "flow-v", seed_rule="total_spent top 10%").status_code == 303
    with browser(svc.app) as c:
        ui_login(c, svc.viewer_key)
        page = c.get("/datasets/demo/build").text
        assert 'id="build-button"' not in page and 'id="viewer-note"' in page
        page = c.get("/audiences/flow-v").text
        assert 'id="use-in-campaign"' not in page
        r = _build(c, "flow-viewer", seed_rule="total_spent top 10%")
        assert r.status_code == 403
        assert "flow-viewer" not in [a["name"] for a in ws.audiences()]


def test_a_failed_upload_shows_its_reason_and_can_be_deleted(svc, ws):
    def broken():
        raise ValueError("the file has no customer_id column")

    with pytest.raises(ValueError):
        ws.prepare("broken", broken, {"kind": "upload"}, lambda share, msg: None)
    with browser(svc.app) as c:
        ui_login(c, svc.viewer_key)
        home = c.get("/").text
        assert 'id="failed-broken"' in home and "no customer_id column" in home
        assert 'action="/datasets/broken/delete"' not in home  # viewers: no delete button
    with browser(svc.app) as c:
        ui_login(c, svc.editor_key)
        assert 'action="/datasets/broken/delete"' in c.get("/").text
        r = c.post("/datasets/demo/delete", data={"csrf_token": csrf_of(c)}, follow_redirects=False)
        assert r.status_code == 400 and ws.dataset_info("demo")["ready"]  # only failed ones
        r = c.post("/datasets/broken/delete", data={"csrf_token": csrf_of(c)}, follow_redirects=False)
        assert r.status_code == 303
        assert "broken" not in [d["name"] for d in ws.datasets()]


def test_campaign_from_audience_to_results(svc, ws):
    engine = svc.app.state.engine
    with browser(svc.app) as c:
        ui_login(c, svc.editor_key)
        assert _build(c, "flow-camp", seed_rule="total_spent top 10%", size_pct="10").status_code == 303
        size = ws.audience_info("flow-camp")["size"]
        page = c.get("/campaigns/new?audience=flow-camp").text
        assert 'id="campaign-form"' in page
        power = c.get("/ui/campaigns/power", params={"audience": "flow-camp", "holdout_pct": "20",
                                                      "base_rate_pct": "5"}).text
        assert f"{round(size * 0.2):,}" in power
        bad = c.post("/campaigns/new", data={"audience": "flow-camp", "name": "spring", "holdout_pct": "80",
                                             "csrf_token": csrf_of(c)}, follow_redirects=False)
        assert bad.status_code == 400 and 'id="campaign-error"' in bad.text and 'value="80"' in bad.text
        r = c.post("/campaigns/new", data={"audience": "flow-camp", "name": "spring", "holdout_pct": "20",
                                           "stratify": "region", "channel": "email", "cost": "150",
                                           "csrf_token": csrf_of(c)}, follow_redirects=False)
        assert r.status_code == 303
        cid = int(r.headers["location"].rsplit("/", 1)[1])
        from lookalike.campaigns.store import assignments_frame, control_ids

        arms = assignments_frame(engine, cid)
        assert len(arms) == size and set(arms["customer_id"]) == set(ws.audience_table("flow-camp")["customer_id"])
        control = set(control_ids(engine, cid))
        n_regions = ws.finder("demo").customers_["region"].nunique()
        assert abs(len(control) - size * 0.2) <= n_regions  # rounded within each region

        # the treatment file: never a control customer
        r = c.post(f"/campaigns/{cid}/export/email", data={"csrf_token": csrf_of(c)})
        assert r.status_code == 200
        sent = pd.read_csv(io.StringIO(r.text), dtype={"customer_id": str})
        assert len(sent) > 0 and not (set(sent["customer_id"]) & control)

        # outcomes: one bad row refuses the whole file, the problems listed by the form
        template = pd.read_csv(io.StringIO(c.get(f"/campaigns/{cid}/outcomes-template.csv").text),
                               dtype={"customer_id": str})
        assert set(template["customer_id"]) == set(arms["customer_id"])
        good = template[["customer_id"]].assign(conversions=(template.index % 7 == 0).astype(int),
                                                revenue=(template.index % 7 == 0) * 40.0)
        bad_file = pd.concat([good, pd.DataFrame({"customer_id": ["NOT-IN-IT"], "conversions": [-1], "revenue": [0]})])
        r = c.post(f"/campaigns/{cid}/outcomes", data={"csrf_token": csrf_of(c)},
                   files={"file": ("outcomes.csv", bad_file.to_csv(index=False), "text/csv")}, follow_redirects=False)
        assert r.status_code == 400 and 'id="outcome-error"' in r.text
        assert "NOT-IN-IT" in r.text
        from lookalike.campaigns.store import campaign_frame

        assert campaign_frame(engine, cid)["conversions"].fillna(0).sum() == 0  # nothing imported
        r = c.post(f"/campaigns/{cid}/outcomes", data={"csrf_token": csrf_of(c)},
                   files={"file": ("outcomes.csv", good.to_csv(index=False), "text/csv")}, follow_redirects=False)
        assert r.status_code == 303
        page = c.get(f"/campaigns/{cid}").text
        assert 'id="campaign-reading"' in page and "spring" in page
        # the audience page names the campaign made from its version
        assert f'href="/campaigns/{cid}"' in c.get("/audiences/flow-camp").text
    with browser(svc.app) as c:
        ui_login(c, svc.viewer_key)
        page = c.get(f"/campaigns/{cid}").text
        assert 'id="outcome-form"' not in page and f'action="/campaigns/{cid}/export/email"' not in page
        r = c.post(f"/campaigns/{cid}/export/email", data={"csrf_token": csrf_of(c)})
        assert r.status_code == 403
        assert c.get(f"/campaigns/{cid}/outcomes-template.csv").status_code == 403
        r = c.post(f"/campaigns/{cid}/outcomes", data={"csrf_token": csrf_of(c)},
                   files={"file": ("o.csv", "customer_id,conversions\n", "text/csv")}, follow_redirects=False)
        assert r.status_code == 403


def test_uplift_model_from_a_past_campaign_plans_the_next_one(svc, ws):
    """Issue 19 part 4 in the UI: an editor fits an uplift model on a campaign with a control group and
    outcomes; the campaign page shows expected incremental conversions with intervals for 10%…100%."""
    import numpy as np

    from lookalike.campaigns.store import assignments_frame

    engine = svc.app.state.engine
    with browser(svc.app) as c:
        ui_login(c, svc.editor_key)
        assert _build(c, "flow-up", seed_rule="total_spent top 10%", size_pct="20").status_code == 303
        r = c.post("/campaigns/new", data={"audience": "flow-up", "name": "uplift-src", "holdout_pct": "40",
                                           "csrf_token": csrf_of(c)}, follow_redirects=False)
        cid = int(r.headers["location"].rsplit("/", 1)[1])
        arms = assignments_frame(engine, cid)
        rng = np.random.default_rng(0)
        converted = rng.random(len(arms)) < np.where(arms["arm"] == "treatment", 0.25, 0.08)
        outcomes = pd.DataFrame({"customer_id": arms["customer_id"], "conversions": converted.astype(int)})
        r = c.post(f"/campaigns/{cid}/outcomes", data={"csrf_token": csrf_of(c)},
                   files={"file": ("o.csv", outcomes.to_csv(index=False), "text/csv")}, follow_redirects=False)
        assert r.status_code == 303
        assert 'id="plan-none"' in c.get(f"/campaigns/{cid}").text  # no model yet: says where to fit one
        page = c.get("/campaigns").text
        assert f'id="fit-c-{cid}"' in page  # offered: it has a control group and outcomes
        r = c.post("/uplift/fit", data={"name": "up1", "campaign": str(cid), "dataset": "demo",
                                        "outcome": "conversions", "learner": "two_model", "base": "logistic",
                                        "csrf_token": csrf_of(c)}, follow_redirects=False)
        assert r.status_code == 303
        job = svc.app.state.jobs.wait(r.headers["location"].rsplit("/", 1)[1], timeout=240)
        assert job.status == "done", job.error
        page = c.get(f"/campaigns/{cid}?model=up1").text
        assert 'id="plan-table"' in page and 'id="plan-reading"' in page
        rows = re.findall(r"<tr><td>(\d+)\s?%</td>", page.replace("\xa0", " "))
        assert [int(x) for x in rows] == list(range(10, 101, 10))
        r = c.post("/uplift/fit", data={"name": "up2", "dataset": "demo", "csrf_token": csrf_of(c)},
                   follow_redirects=False)
        assert r.status_code == 400 and 'id="uplift-error"' in r.text  # no campaign chosen: said next to the form
    with browser(svc.app) as c:
        ui_login(c, svc.viewer_key)
        page = c.get("/campaigns").text
        assert 'id="uplift-models"' in page and 'id="uplift-form"' not in page  # sees the models, cannot fit
        r = c.post("/uplift/fit", data={"name": "up3", "campaign": str(cid), "dataset": "demo",
                                        "csrf_token": csrf_of(c)}, follow_redirects=False)
        assert r.status_code == 403


def test_a_campaign_whose_audience_was_deleted_still_shows_and_sends_nothing(svc, ws):
    from markupsafe import escape

    from lookalike.i18n import translator

    with browser(svc.app) as c:
        ui_login(c, svc.editor_key)
        assert _build(c, "flow-gone", seed_rule="total_spent top 10%").status_code == 303
        r = c.post("/campaigns/new", data={"audience": "flow-gone", "name": "gone", "holdout_pct": "10",
                                           "csrf_token": csrf_of(c)}, follow_redirects=False)
        cid = int(r.headers["location"].rsplit("/", 1)[1])
        assert c.delete("/api/v1/audiences/flow-gone", headers={"X-API-Key": svc.editor_key}).status_code == 204
        page = c.get(f"/campaigns/{cid}")
        assert page.status_code == 200 and str(escape(translator("en")("campaign_audience_gone"))) in page.text
        assert f'action="/campaigns/{cid}/export/email"' not in page.text
        r = c.post(f"/campaigns/{cid}/export/email", data={"csrf_token": csrf_of(c)})
        assert r.status_code == 400 and "not in the workspace" in r.text
