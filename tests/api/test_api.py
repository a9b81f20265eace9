"""REST API: every endpoint through FastAPI's TestClient, with the 401/403/404/422 paths."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pandas as pd
import pytest

from lookalike.audience.expand import parse_size
from lookalike.audience.playbooks import builtin_playbooks

from .service import browser, ui_login


def test_health_and_docs_are_public(client):
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/openapi.json").status_code == 200
    docs = client.get("/docs")
    assert docs.status_code == 200
    refs = __import__("re").findall(r"(?:src|href|url)\s*[=:]\s*['\"]([^'\"]+)['\"]", docs.text)
    assert refs and all(r.startswith("/") for r in refs), refs  # works offline: no CDN
    assert client.get("/static/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/htmx.min.js").status_code == 200
    assert client.get("/login").status_code == 200


def test_every_private_operation_needs_a_key(client):
    """Walk the OpenAPI schema: each operation except the public ones answers 401 without a key."""
    schema = client.get("/openapi.json").json()
    checked = 0
    for path, ops in schema["paths"].items():
        if path == "/health":
            continue
        url = path.replace("{job_id}", "0a").replace("{campaign_id}", "1").replace("{customer_id}", "C1")
        url = url.replace("{", "").replace("}", "")  # other parameters: any valid name
        for method in ops:
            r = client.request(method.upper(), url)
            assert r.status_code == 401, (method, path, r.status_code, r.text)
            bad = client.request(method.upper(), url, headers={"X-API-Key": "lk_AAAAAAAA_" + "x" * 43})
            assert bad.status_code == 401, (method, path, bad.status_code)
            checked += 1
    assert checked >= 20


def test_bearer_token_works_like_the_header(client, service):
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {service.viewer_key}"})
    assert r.json() == {"name": "vera", "role": "viewer"}


@pytest.mark.parametrize("method,path,body", [
    ("post", "/api/v1/datasets/demo/audiences", {"name": "nope"}),
    ("post", "/api/v1/datasets/demo", {"name": "other", "n": 300}),
    ("post", "/api/v1/audiences/any/exports", {"profile": "email"}),
    ("post", "/api/v1/datasets/demo/playbooks/win-back", {"name": "nope"}),
    ("delete", "/api/v1/datasets/demo", None),
    ("get", "/api/v1/exports/any/any.csv", None),
])
def test_viewer_cannot_build_or_export(client, viewer, method, path, body):
    r = client.request(method.upper(), path, json=body, headers=viewer)
    assert r.status_code == 403, r.text
    assert "editor" in r.json()["detail"]


def test_datasets_and_quality(client, viewer, service):
    ds = client.get("/api/v1/datasets", headers=viewer).json()
    names = [d["name"] for d in ds]  # the session's service: other test files add datasets of their own
    assert "demo" in names and len(set(names)) == len(names)
    demo = ds[names.index("demo")]
    assert demo["ready"] and demo["status"] == "ready"
    rows = demo["rows"]
    assert rows["in"] == rows["kept"] + rows["quarantined"] + rows["duplicates_merged"]
    q = client.get("/api/v1/datasets/demo/quality", headers=viewer).json()
    assert q["report"]["rows"] == rows
    assert q["summary"][0].startswith(f"{rows['in']:,} rows in")
    assert client.get("/api/v1/datasets/missing", headers=viewer).status_code == 404
    assert client.get("/api/v1/datasets/missing/quality", headers=viewer).status_code == 404


def test_names_that_leave_the_workspace_are_refused(client, viewer, editor):
    assert client.get("/api/v1/datasets/..%2Fetc", headers=viewer).status_code in (404, 422)
    assert client.get("/api/v1/datasets/.hidden", headers=viewer).status_code == 422
    r = client.post("/api/v1/datasets/demo/audiences", json={"name": "../x"}, headers=editor)
    assert r.status_code == 422


def test_lookalikes_match_the_library(client, viewer, finder):
    cid = finder.customers_.customer_id.iloc[7]
    r = client.get(f"/api/v1/datasets/demo/customers/{cid}/lookalikes?k=5", headers=viewer).json()
    expected = finder.find_lookalikes(cid, k=5)
    assert [x["customer_id"] for x in r["lookalikes"]] == expected.customer_id.tolist()
    assert np.allclose([x["distance"] for x in r["lookalikes"]], expected.distance)
    # ids are matched like the cleaner matches them (spaces, case)
    r2 = client.get(f"/api/v1/datasets/demo/customers/ {cid.lower()} /lookalikes?k=5", headers=viewer).json()
    assert r2["lookalikes"] == r["lookalikes"]


def test_lookalikes_errors(client, viewer):
    r = client.get("/api/v1/datasets/demo/customers/NOPE/lookalikes", headers=viewer)
    assert r.status_code == 404 and "NOPE" in r.json()["detail"]
    assert client.get("/api/v1/datasets/demo/customers/C1/lookalikes?k=0", headers=viewer).status_code == 422
    assert client.get("/api/v1/datasets/demo/customers/C1/lookalikes?k=ten", headers=viewer).status_code == 422


@pytest.fixture(scope="module")
def built(client, editor):
    r = client.post("/api/v1/datasets/demo/audiences", headers=editor, json={
        "name": "api-vips", "size": "5%", "exclude_vips": True, "top": 30,
        "seeds": {"kind": "vip"}, "filters": {"region": ["Norte", "Sur", "Este", "Oeste", "Centro"]}})
    assert r.status_code == 201, r.text
    return r.json()


def test_build_audience(built, finder):
    n = finder.n_customers_
    assert built["size"] == parse_size("5%", n)
    seeds = int(finder.customers_.vip_flag.eq(1).sum())
    assert built["seeds"] == seeds
    ranks = [m["rank"] for m in built["members"]]
    assert ranks == list(range(1, 31))
    sims = [m["similarity"] for m in built["members"]]
    assert sims == sorted(sims, reverse=True)
    members = finder.customers_.set_index("customer_id").loc[[m["customer_id"] for m in built["members"]]]
    assert members.vip_flag.eq(0).all() and members.promo_channel.ne("none").all()
    assert all(m["reason"] for m in built["members"])
    c = built["counts"]
    assert c["base"] == n and c["audience"] == built["size"]
    assert {"feature", "seeds", "audience", "base"} <= set(built["profile"][0])
    # why this method: auto's validation table travels with the audience
    v = built["parameters"]["validation"]
    assert built["parameters"]["scorer"] == "auto" and v["kind"] == "random" and v["chosen"]
    assert {"candidate", "score", "spread", "seconds", "role"} <= set(v["table"][0])


def test_audience_page_shows_why_this_method(service, built):
    with browser(service.app) as ui:  # its own session: signing in must not leak into other tests
        r = ui_login(ui, service.viewer_key, "/audiences/api-vips")
        assert r.status_code == 200
        page = ui.get("/audiences/api-vips")
    assert page.status_code == 200
    # the "how was this chosen" disclosure carries auto's validation table, its kind in words
    assert 'id="method"' in page.text and 'id="validation"' in page.text
    assert "Methods compared on these seeds" in page.text and "checked on finding seeds held back at random" in page.text


def test_audience_list_get_download(client, viewer, built):
    names = [a["name"] for a in client.get("/api/v1/audiences", headers=viewer).json()]
    assert "api-vips" in names
    got = client.get("/api/v1/audiences/api-vips?top=5", headers=viewer).json()
    assert got["size"] == built["size"] and len(got["members"]) == 5
    assert got["members"] == built["members"][:5]
    csv = client.get("/api/v1/audiences/api-vips/download", headers=viewer)
    df = pd.read_csv(io.StringIO(csv.text), dtype={"customer_id": str})
    assert len(df) == built["size"] and df["rank"].tolist() == list(range(1, len(df) + 1))
    assert not {"email", "phone", "first_name", "last_name", "notes"} & set(df.columns)
    pq = client.get("/api/v1/audiences/api-vips/download?format=parquet", headers=viewer)
    assert pd.read_parquet(io.BytesIO(pq.content)).customer_id.tolist() == df.customer_id.tolist()
    assert client.get("/api/v1/audiences/nope", headers=viewer).status_code == 404
    assert client.get("/api/v1/audiences/api-vips/download?format=xlsx", headers=viewer).status_code == 422


def test_audience_validation(client, editor):
    base = {"name": "bad"}
    for body, status in (({**base, "size": "150%"}, 400), ({**base, "seeds": {"kind": "rule", "rule": "nonsense ~~ 3"}}, 400),
                         ({**base, "seeds": {"kind": "ids", "ids": ["NOT-A-CUSTOMER"]}}, 404)):  # unknown id: not found
        r = client.post("/api/v1/datasets/demo/audiences", json=body, headers=editor)
        assert r.status_code == status, (body, r.status_code)
        assert len(r.json()["detail"].splitlines()) == 1
    for body in ({**base, "scorer": "magic"}, {**base, "k": 0}, {**base, "unknown": 1},
                 {**base, "filters": {"gender": ["F"]}}):
        assert client.post("/api/v1/datasets/demo/audiences", json=body, headers=editor).status_code == 422


@pytest.mark.slow
def test_rule_and_id_seeds(client, editor, finder):
    r = client.post("/api/v1/datasets/demo/audiences", headers=editor, json={
        "name": "api-rule", "size": "100", "seeds": {"kind": "rule", "rule": "total_spent top 2%"}})
    assert r.status_code == 201 and r.json()["size"] == 100
    assert r.json()["seeds"] == int(round(0.02 * finder.n_customers_))
    ids = finder.customers_.customer_id.iloc[:25].tolist()
    r = client.post("/api/v1/datasets/demo/audiences", headers=editor, json={
        "name": "api-ids", "size": "50", "seeds": {"kind": "ids", "ids": ids}, "suppress": ids[:0] or None})
    assert r.status_code == 201 and r.json()["seeds"] == 25
    assert not set(ids) & {m["customer_id"] for m in r.json()["members"]}


def test_reach_grows_with_size_and_similarity_falls(client, viewer, finder):
    small = client.post("/api/v1/datasets/demo/reach", json={"size": "2%"}, headers=viewer).json()
    large = client.post("/api/v1/datasets/demo/reach", json={"size": "15%"}, headers=viewer).json()
    assert small["size"] == parse_size("2%", finder.n_customers_)
    assert large["size"] == min(parse_size("15%", finder.n_customers_), large["candidates"])
    assert large["mean_similarity"] <= small["mean_similarity"]
    assert large["min_similarity"] <= small["min_similarity"]


@pytest.mark.slow
def test_slider_sizes_are_cut_from_one_ranking_and_match_a_fresh_build(client, viewer, editor, service, finder,
                                                                       monkeypatch):
    from lookalike.finder import LookalikeFinder

    ws = service.app.state.workspace
    ws.rankings.forget()
    calls = []
    real = LookalikeFinder.build_audience
    monkeypatch.setattr(LookalikeFinder, "build_audience", lambda self, *a, **kw: calls.append(kw["options"].size) or real(self, *a, **kw))
    body = {"seeds": {"kind": "rule", "rule": "total_spent top 10%"}, "exclude_vips": True}
    reach = [client.post("/api/v1/datasets/demo/reach", json={**body, "size": f"{p}%"}, headers=viewer).json()
             for p in (2, 5, 12.5)]
    r = client.post("/api/v1/datasets/demo/audiences", json={**body, "size": "5%", "name": "api-slider", "top": 1000},
                    headers=editor)
    assert r.status_code == 201, r.text
    assert len(calls) == 1  # scored and ranked once; every size after that is cut from the ranking
    monkeypatch.setattr(LookalikeFinder, "build_audience", real)
    from lookalike.audience.seeds import parse_rule

    fresh = finder.build_audience(parse_rule(body["seeds"]["rule"]), "5%", exclude_vips=True)
    got = r.json()
    assert [m["customer_id"] for m in got["members"]] == fresh.audience["customer_id"].tolist()
    assert got["counts"] == fresh.counts and got["size"] == len(fresh.audience) == reach[1]["size"]
    assert reach[1]["mean_similarity"] == pytest.approx(float(fresh.audience["similarity"].mean()))
    assert [x["size"] for x in reach] == [parse_size(f"{p}%", finder.n_customers_) for p in (2, 5, 12.5)]
    assert reach[0]["mean_similarity"] >= reach[1]["mean_similarity"] >= reach[2]["mean_similarity"]
    # a size beyond the kept head is built as asked; another model never sees this ranking
    big = client.post("/api/v1/datasets/demo/reach", json={**body, "size": "40%"}, headers=viewer).json()
    assert big["size"] == min(parse_size("40%", finder.n_customers_), big["candidates"])
    ws.drop_cached_finders()
    assert ws.finder("demo") is not finder
    monkeypatch.setattr(LookalikeFinder, "build_audience", lambda self, *a, **kw: calls.append(kw["options"].size) or real(self, *a, **kw))
    again = client.post("/api/v1/datasets/demo/reach", json={**body, "size": "5%"}, headers=viewer).json()
    assert len(calls) == 2 and again == reach[1]  # the reloaded model ranks again, with the same result


def test_channel_export_follows_preference_and_consent(client, editor, built, finder):
    r = client.post("/api/v1/audiences/api-vips/exports", json={"profile": "email"}, headers=editor)
    assert r.status_code == 201, r.text
    out = r.json()
    f = out["files"][0]
    body = client.get(f["url"], headers=editor)
    assert hashlib.sha256(body.content).hexdigest() == f["sha256"]
    df = pd.read_csv(io.BytesIO(body.content), dtype={"customer_id": str})
    # the e-mail tool needs the address (and the first name to greet); nothing else personal
    assert list(df.columns) == ["customer_id", "email", "first_name", "rank", "similarity", "reason"]
    assert df.email.str.contains("@").all()
    cust = finder.customers_.set_index("customer_id").loc[df.customer_id]
    assert cust.promo_channel.eq("email").all()
    assert cust.consent_email.astype("boolean").fillna(False).all()
    aud = client.get("/api/v1/audiences/api-vips/download", headers=editor)
    full = pd.read_csv(io.StringIO(aud.text), dtype={"customer_id": str}).merge(
        finder.customers_[["customer_id", "consent_email"]], on="customer_id", suffixes=("_a", ""))
    expected = full[full.promo_channel.eq("email") & full.consent_email.astype("boolean").fillna(False)]
    assert set(df.customer_id) <= set(expected.customer_id)  # minus those without a usable address
    assert df.customer_id.tolist() == [c for c in expected.customer_id if c in set(df.customer_id)]
    assert out["counts"]["consent"] == len(expected)  # counts are the rows left after each step
    assert out["rows_written"] == len(df) == out["counts"]["no usable identifier"]
    log = client.get("/api/v1/exports", headers=editor).json()
    assert log[0]["user"] == "eddie" and log[0]["profile"] == "email" and "@" not in str(log[0]["files"])


def test_ad_export_is_hashed(client, editor, finder):
    client.post("/api/v1/datasets/demo/audiences", headers=editor, json={"name": "api-big", "size": "30%"})
    r = client.post("/api/v1/audiences/api-big/exports", json={"profile": "meta"}, headers=editor).json()
    body = client.get(r["files"][0]["url"], headers=editor).text
    df = pd.read_csv(io.StringIO(body), dtype=str)
    assert "email" in df.columns and df["email"].dropna().str.fullmatch(r"[0-9a-f]{64}").all()
    emails = finder.customers_.email.dropna().str.strip().str.lower()
    digests = {hashlib.sha256(e.encode()).hexdigest() for e in emails}
    assert df["email"].dropna().isin(digests).mean() > 0.95
    assert not df.apply(lambda c: c.astype(str).str.contains("@")).any().any()


def test_export_errors(client, editor):
    assert client.post("/api/v1/audiences/api-vips/exports", json={"profile": "fax"}, headers=editor).status_code == 400
    assert client.post("/api/v1/audiences/nope/exports", json={"profile": "email"}, headers=editor).status_code == 404
    assert client.post("/api/v1/audiences/api-vips/exports", json={}, headers=editor).status_code == 422
    assert client.get("/api/v1/exports/api-vips/missing.csv", headers=editor).status_code == 404


@pytest.mark.slow
def test_playbooks(client, viewer, editor, finder):
    listed = client.get("/api/v1/playbooks", headers=viewer).json()
    assert [p["name"] for p in listed] == builtin_playbooks()
    r = client.post("/api/v1/datasets/demo/playbooks/acquisition-lookalike", json={"name": "pb-acq", "size": "200"},
                    headers=editor)
    assert r.status_code == 201 and r.json()["size"] == 200
    assert r.json()["parameters"]["playbook"]["name"] == "acquisition-lookalike"
    r = client.post("/api/v1/datasets/demo/playbooks/cross-sell", json={"name": "pb-x", "params": {"category": "Home"}},
                    headers=editor)
    assert r.status_code == 201
    assert client.post("/api/v1/datasets/demo/playbooks/nope", json={"name": "x"}, headers=editor).status_code == 400
    r = client.post("/api/v1/datasets/demo/playbooks/cross-sell", json={"name": "x", "params": {"colour": "red"}},
                    headers=editor)
    assert r.status_code == 400 and "colour" in r.json()["detail"]


def test_jobs_upload_register_and_errors(client, editor, viewer, service):
    from lookalike.synth import generate

    raw = generate(400, seed=9).raw
    csv = raw.to_csv(index=False).encode()
    r = client.post("/api/v1/datasets/upload", data={"name": "up"}, files={"file": ("crm.csv", csv, "text/csv")},
                    headers=editor)
    assert r.status_code == 202
    job = client.app.state.jobs.wait(r.json()["id"], timeout=60)
    polled = client.get(f"/api/v1/jobs/{job.id}", headers=viewer).json()
    assert polled["status"] == "done" and polled["progress"] == 1.0
    assert polled["result"]["rows"]["in"] == len(raw)
    assert client.get("/api/v1/datasets/up", headers=viewer).json()["ready"]
    (service.data_dir / "crm.csv").write_bytes(csv)  # a file in the data folder, named relative to it
    r = client.post("/api/v1/datasets/register", json={"name": "reg", "path": "crm.csv"}, headers=editor)
    assert client.app.state.jobs.wait(r.json()["id"], timeout=60).status == "done"
    assert client.get("/api/v1/datasets/reg", headers=viewer).json()["customers"] == \
        client.get("/api/v1/datasets/up", headers=viewer).json()["customers"]
    # a broken file fails the job with a one-line reason, not the server
    r = client.post("/api/v1/datasets/upload", data={"name": "broken"},
                    files={"file": ("crm.csv", b"\x00\x01garbage", "text/csv")}, headers=editor)
    failed = client.app.state.jobs.wait(r.json()["id"], timeout=60)
    assert failed.status == "failed" and failed.error and "\n" not in failed.error
    broken = client.get("/api/v1/datasets/broken", headers=viewer).json()
    assert broken["status"] == "failed" and not broken["ready"] and broken["error"] == failed.error
    assert client.post("/api/v1/datasets/upload", data={"name": "x"}, files={"file": ("a.exe", b"1", "x")},
                       headers=editor).status_code == 400
    assert client.post("/api/v1/datasets/register", json={"name": "x"}, headers=editor).status_code == 400
    assert client.post("/api/v1/datasets/register", json={"name": "x", "path": "/nonexistent.csv"},
                       headers=editor).status_code == 403
    assert client.get("/api/v1/jobs/ffff", headers=viewer).status_code == 404
    assert client.get("/api/v1/jobs", headers=viewer).json()[0]["id"] == failed.id
    assert client.delete("/api/v1/datasets/reg", headers=editor).status_code == 204
    assert client.get("/api/v1/datasets/reg", headers=viewer).status_code == 404


def test_campaigns_list_and_results(client, viewer, finder, built, service):
    assert client.get("/api/v1/campaigns/99/results", headers=viewer).status_code == 404
    assert client.get("/api/v1/campaigns/0/results", headers=viewer).status_code == 422
    from lookalike.campaigns.simulate import run_simulated_campaign
    from lookalike.campaigns.store import campaign_frame

    audience = service.app.state.workspace.audience_table("api-vips")
    created, _ = run_simulated_campaign(service.app.state.engine, audience, name="api-camp", holdout_share=0.2,
                                        random_state=1)
    listed = client.get("/api/v1/campaigns", headers=viewer).json()
    assert [c["name"] for c in listed] == ["api-camp"]
    assert listed[0]["n_treatment"] + listed[0]["n_control"] == len(audience)
    res = client.get(f"/api/v1/campaigns/{created.campaign.id}/results", headers=viewer).json()["results"]
    frame = campaign_frame(service.app.state.engine, created.campaign.id)
    arms = {a["arm"]: a for a in res["arms"]}
    for arm in ("treatment", "control"):
        f = frame[frame.arm == arm]
        assert arms[arm]["customers"] == len(f)
        assert arms[arm]["conversion_rate"] == pytest.approx((f.conversions > 0).mean())
    assert res["verdict"]


def test_records_are_json_ready():
    import json

    from lookalike.api.service import records

    df = pd.DataFrame({"a": [1, 2], "b": [1.5, np.nan], "c": pd.Series(["x", None], dtype="category"),
                       "d": pd.array([1, None], dtype="Int64"), "e": [pd.Timestamp("2020-01-02"), pd.NaT],
                       "g": [np.inf, 1.0]})
    out = records(df)
    assert out == [{"a": 1, "b": 1.5, "c": "x", "d": 1, "e": "2020-01-02T00:00:00", "g": None},
                   {"a": 2, "b": None, "c": None, "d": None, "e": None, "g": 1.0}]
    json.dumps(out, allow_nan=False)


def test_register_a_database_source(client, editor, viewer, service):
    import sqlalchemy as sa

    from lookalike.synth import generate

    raw = generate(300, seed=21).raw
    url = f"sqlite:///{service.data_dir}/crm.db"  # a SQLite database is a file: in a data folder
    engine = sa.create_engine(url)
    raw.astype(str).to_sql("crm_customers", engine, index=False)
    engine.dispose()
    r = client.post("/api/v1/datasets/register", json={"name": "fromdb", "url": url, "query": "crm_customers"},
                    headers=editor)
    assert r.status_code == 202
    job = client.app.state.jobs.wait(r.json()["id"], timeout=60)
    assert job.status == "done", job.error
    assert job.result["rows"]["in"] == len(raw)
    assert client.post("/api/v1/datasets/register", json={"name": "x", "url": url}, headers=editor).status_code == 400
    assert client.post("/api/v1/datasets/register", json={"name": "x", "url": "ftp://host/x", "query": "t"},
                       headers=editor).status_code == 400


def test_include_ids_limits_the_audience(client, editor, finder):
    allowed = finder.customers_.customer_id.iloc[100:400].tolist()
    r = client.post("/api/v1/datasets/demo/audiences", headers=editor,
                    json={"name": "api-incl", "size": "50", "include_ids": allowed})
    assert r.status_code == 201
    members = client.get("/api/v1/audiences/api-incl/download", headers=editor).text
    ids = pd.read_csv(io.StringIO(members), dtype={"customer_id": str}).customer_id
    assert len(ids) == 50 and ids.isin(allowed).all()


def test_upload_over_the_size_limit_is_413_and_leaves_nothing(client, editor):
    import dataclasses

    old = client.app.state.settings
    client.app.state.settings = dataclasses.replace(old, max_upload_mb=1)
    try:
        big = b"customer_id,age\n" + b"C1,30\n" * 300_000  # ~1.8 MB, streamed in 1 MiB blocks
        r = client.post("/api/v1/datasets/upload", data={"name": "toobig"},
                        files={"file": ("crm.csv", big, "text/csv")}, headers=editor)
    finally:
        client.app.state.settings = old
    assert r.status_code == 413 and "larger than 1 MB" in r.json()["detail"]
    assert not client.app.state.workspace.dataset_dir("toobig").exists()
