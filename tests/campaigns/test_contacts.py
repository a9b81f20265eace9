"""Contact history and contact rules (issue 19): recording exports, the caps in every path that selects
customers, campaign exports within the caps, erasure. The store tests run on SQLite and PostgreSQL.

Expected exclusions are computed here from the planted contacts with plain loops over their times (not
with the library's counting), and the capped audience must equal the audience built with exactly those
customers suppressed.
"""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from lookalike import database as db
from lookalike.audience.contacts import ContactRules, contact_exclusions
from lookalike.audience.expand import build_audience
from lookalike.audience.options import AudienceOptions, parse_cap, parse_duration
from lookalike.audience.playbooks import load_playbook, run_playbook
from lookalike.campaigns.contacts import (check_campaign_export, contact_history, export_recorded,
                                          record_contacts)
from lookalike.campaigns.store import assignments_frame, create_campaign
from lookalike.cli import app
from lookalike.errors import CampaignError, ParameterError
from lookalike.finder import LookalikeFinder
from lookalike.io import write_table
from lookalike.privacy import forget_customer
from tests.conftest import make_clean_customers

from .conftest import BACKENDS, drop_schema, fresh_url, unique

runner = CliRunner()
AS_OF = pd.Timestamp("2031-06-15 12:00", tz="UTC")
RECENT, CAP = "excluded: contacted in the last 14d", "excluded: at the contact cap (3 in 30d)"


@pytest.fixture(scope="module")
def finder():
    return LookalikeFinder().fit(make_clean_customers(1500, seed=7))


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path_factory):
    """A fresh, migrated store per test: the contact rules look at every row of the table."""
    url = fresh_url(request.param, tmp_path_factory)
    engine = db.open_database(url)
    yield engine
    engine.dispose()
    drop_schema(url)


def _plant(finder) -> dict[str, list[pd.Timestamp]]:
    """Contacts of members of the uncapped audience (and of a few customers outside it), by design."""
    top = build_audience(finder, "vip", 200, explain=False).audience["customer_id"].tolist()
    cust = finder.customers_
    opted_out = cust.loc[cust["promo_channel"].astype(str).eq("none") & cust["vip_flag"].ne(1), "customer_id"]
    outside = opted_out.head(5).tolist()  # left out before the contact rules: never counted by them
    days = lambda *ds: [AS_OF - timedelta(days=d) for d in ds]  # noqa: E731
    plan = {}
    for c in top[0:10]:
        plan[c] = days(1, 10, 29)            # 3 in 30 days: at the cap
    for c in top[10:20]:
        plan[c] = days(2, 25)                # 2 in 30 days, one in the last 14: recent only
    for c in top[20:30]:
        plan[c] = days(15, 20, 40)           # 3 contacts, one outside the window: neither
    for c in top[30:40]:
        plan[c] = days(5)                    # recent
    for c in top[40:50]:
        plan[c] = days(20)                   # neither
    for c in top[50:55]:
        plan[c] = days(14)                   # exactly 14 days ago: recent (the window includes its start)
    for c in top[55:60]:
        plan[c] = [AS_OF - timedelta(days=14, seconds=1)]  # one second older: not recent
    for c in outside:
        plan[c] = days(1, 2, 3)              # recent and at the cap, but opted out
    return plan


def _expected(plan: dict[str, list[pd.Timestamp]]) -> tuple[set[str], set[str]]:
    recent = {c for c, ts in plan.items() if any(t >= AS_OF - timedelta(days=14) for t in ts)}
    capped = {c for c, ts in plan.items() if sum(t >= AS_OF - timedelta(days=30) for t in ts) >= 3}
    return recent, capped


def _record(engine, plan: dict[str, list[pd.Timestamp]], channel: str = "email") -> None:
    """One export (``record_contacts`` call) per contact time, with every customer contacted then."""
    by_time: dict[pd.Timestamp, list[str]] = {}
    for c, times in plan.items():
        for t in times:
            by_time.setdefault(t, []).append(c)
    for t, ids in by_time.items():
        assert record_contacts(engine, ids, channel, audience="planted", at=t) == len(ids)


def _candidates(finder) -> set[str]:
    """Customers left once the default exclusions of a VIP expansion ran (seeds, opted out)."""
    cust = finder.customers_
    keep = cust["vip_flag"].ne(1) & cust["promo_channel"].astype(str).ne("none")
    return set(cust.loc[keep, "customer_id"])


# ------------------------------------------------------------------ options
def test_durations_and_caps_parse_and_bad_ones_say_how_to_write_them():
    assert parse_duration("14d") == timedelta(days=14) and parse_duration("2w") == timedelta(days=14)
    assert parse_duration("30D") == timedelta(days=30)
    assert parse_cap("3/30d") == (3, timedelta(days=30)) and parse_cap("1 / 1w") == (1, timedelta(days=7))
    for bad in ("14", "0d", "-3d", "14 days", "2m", "", "1.5d"):
        with pytest.raises(ParameterError, match=r"exclude_contacted_within must be .* such as 14d or 2w") as e:
            AudienceOptions(exclude_contacted_within=bad)
        assert "\n" not in str(e.value)
    for bad in ("3", "3/30", "0/30d", "3/0d", "three/30d", "30d/3"):
        with pytest.raises(ParameterError, match=r"max_contacts must be .* such as 3/30d"):
            AudienceOptions(max_contacts=bad)
    with pytest.raises(ParameterError, match="exclude_contacted_within"):
        AudienceOptions(exclude_contacted_within=14)


def test_contact_rules_need_the_history(finder):
    with pytest.raises(ParameterError, match="max_contacts need the contact history: pass contacts="):
        build_audience(finder, "vip", 50, max_contacts="3/30d", explain=False)
    # without rules, no history is read (none is needed)
    assert len(build_audience(finder, "vip", 50, explain=False).audience) == 50


def test_cli_bad_cap_is_one_line_and_exit_2(tmp_path):
    data = tmp_path / "c.parquet"
    write_table(make_clean_customers(300, seed=1), data)
    res = runner.invoke(app, ["expand", str(data), "--max-contacts", "3", "-o", str(tmp_path / "a.parquet")])
    assert res.exit_code == 2 and "max_contacts must be contacts per window such as 3/30d" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["expand", str(data), "--exclude-contacted-within", "2 weeks",
                              "-o", str(tmp_path / "a.parquet")])
    assert res.exit_code == 2 and "exclude_contacted_within must be" in res.output


# ------------------------------------------------------------------ the store
def test_record_contacts_is_idempotent_within_a_day(store):
    t = AS_OF - timedelta(days=1)
    assert record_contacts(store, [" c1 ", "C2", "C2"], "email", audience="spring", at=t) == 2
    assert record_contacts(store, ["C1", "C3"], "email", audience="spring", at=t + timedelta(hours=3)) == 1
    assert record_contacts(store, ["C1"], "sms", audience="spring", at=t) == 1          # another channel
    assert record_contacts(store, ["C1"], "email", audience="other", at=t) == 1         # another audience
    assert record_contacts(store, ["C1"], "email", audience="spring", at=t + timedelta(days=1)) == 1  # next day
    hist = contact_history(store)
    assert sorted(hist["customer_id"]) == ["C1", "C1", "C1", "C1", "C2", "C3"]
    assert hist["contacted_at"].dt.tz is not None and hist["campaign"].isna().all()
    assert (contact_history(store, " c1")["customer_id"] == "C1").all()


@pytest.mark.slow
@pytest.mark.parametrize("source", ["engine", "frame"])
def test_caps_exclude_exactly_the_customers_over_the_limit(store, finder, source):
    plan = _plant(finder)
    _record(store, plan)
    recent, capped = _expected(plan)
    if source == "frame":  # the same history as a frame, ids as a person types them
        contacts = pd.DataFrame([(f" {c.lower()} ", t.tz_convert(None)) for c, ts in plan.items() for t in ts],
                                columns=["customer_id", "contacted_at"])
    else:
        contacts = store
    res = build_audience(finder, "vip", 200, exclude_contacted_within="14d", max_contacts="3/30d",
                         contacts=contacts, as_of=AS_OF, explain=False)
    same = build_audience(finder, "vip", 200, suppress=sorted(recent | capped), explain=False)
    assert res.audience["customer_id"].tolist() == same.audience["customer_id"].tolist()
    cand = _candidates(finder)
    assert res.counts[RECENT] == len(recent & cand) == 35
    assert res.counts[CAP] == len((capped - recent) & cand)  # counted after the recent rule
    assert res.counts["candidates"] == len(cand - recent - capped)
    assert list(res.counts).index(RECENT) < list(res.counts).index(CAP) < list(res.counts).index("candidates")
    assert res.params["max_contacts"] == "3/30d" and res.params["exclude_contacted_within"] == "14d"
    assert res.params["contacts_as_of"] == AS_OF.isoformat()
    # the cap alone: only the customers at 3 contacts in 30 days go
    only_cap = build_audience(finder, "vip", 200, max_contacts="3/30d", contacts=contacts, as_of=AS_OF,
                              explain=False)
    assert only_cap.counts[CAP] == len(capped & cand) == 10 and RECENT not in only_cap.counts
    assert not set(only_cap.audience["customer_id"]) & capped


@pytest.mark.slow
def test_contact_rules_filter_the_ranking_without_reshaping_it(store, finder):
    """Value-aware ranks do not move when the contact history changes: the rules filter after scoring."""
    plan = _plant(finder)
    _record(store, plan)
    recent, capped = _expected(plan)
    free = build_audience(finder, "vip", 300, value="total_spent", explain=False).audience
    capped_aud = build_audience(finder, "vip", 300, value="total_spent", exclude_contacted_within="14d",
                                max_contacts="3/30d", contacts=store, as_of=AS_OF, explain=False).audience
    expected = free.loc[~free["customer_id"].isin(recent | capped)]
    n = len(expected)
    assert capped_aud["customer_id"].head(n).tolist() == expected["customer_id"].tolist()
    np.testing.assert_allclose(capped_aud["rank_score"].head(n), expected["rank_score"])


def test_contact_exclusions_count_later_contacts_and_ignore_old_ones():
    hist = pd.DataFrame({"customer_id": ["A", "B"], "contacted_at": [AS_OF + timedelta(hours=1),
                                                                      AS_OF - timedelta(days=31)]})
    [(label, mask)] = contact_exclusions(["A", "B", "C"], hist, ContactRules.parse(max_contacts="1/30d"), AS_OF)
    assert label == "excluded: at the contact cap (1 in 30d)" and mask.tolist() == [True, False, False]


# ------------------------------------------------------------------ playbooks (library and CLI)
@pytest.mark.slow
def test_playbook_takes_the_caps_as_keys_and_overrides(store, finder, tmp_path):
    plan = _plant(finder)
    _record(store, plan)
    recent, capped = _expected(plan)
    f = tmp_path / "pb.toml"
    f.write_text('name = "pb"\n[seeds]\npreset = "vip"\n[audience]\nsize = 200\nmax_contacts = "3/30d"\n',
                 encoding="utf-8")
    pb = load_playbook(str(f))
    res = run_playbook(finder, pb, contacts=store, as_of=AS_OF)
    assert res.counts[CAP] == len(capped & _candidates(finder)) and not set(res.audience.customer_id) & capped
    both = run_playbook(finder, pb, contacts=store, as_of=AS_OF, exclude_contacted_within="14d")
    assert not set(both.audience.customer_id) & (capped | recent) and both.counts[RECENT] == 35
    with pytest.raises(ParameterError, match="need the contact history"):
        run_playbook(finder, pb)


def _now_plan(finder, n_cap: int = 8, n_recent: int = 8) -> tuple[dict, set[str], set[str]]:
    """Contacts relative to now (the CLI and the API read the history as of now)."""
    now = pd.Timestamp.now(tz="UTC")
    top = build_audience(finder, "vip", 150, explain=False).audience["customer_id"].tolist()
    plan = {c: [now - timedelta(days=d) for d in (3, 12)] for c in top[:n_cap]}            # 2 in 30 days
    plan |= {c: [now - timedelta(days=d) for d in (1,)] for c in top[n_cap:n_cap + n_recent]}  # 1, recent
    plan |= {c: [now - timedelta(days=d) for d in (20,)] for c in top[n_cap + n_recent:n_cap + n_recent + 8]}
    capped = {c for c, ts in plan.items() if sum(t >= now - timedelta(days=30) for t in ts) >= 2}
    recent = {c for c, ts in plan.items() if any(t >= now - timedelta(days=7) for t in ts)}
    return plan, capped, recent


@pytest.mark.slow
def test_cli_expand_and_playbook_run_honour_the_caps(finder, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = db.open_database(url)
    plan, capped, recent = _now_plan(finder)
    _record(engine, plan, "sms")
    data = tmp_path / "customers.parquet"
    write_table(finder.customers_, data)
    out = tmp_path / "a.parquet"
    res = runner.invoke(app, ["expand", str(data), "--size", "150", "--max-contacts", "2/30d",
                              "--exclude-contacted-within", "1w", "--db", url, "-o", str(out)])
    assert res.exit_code == 0, res.output
    aud = pd.read_parquet(out)
    assert not set(aud.customer_id) & (capped | recent) and len(aud) == 150
    man = json.loads((tmp_path / "a.manifest.json").read_text())
    cand = _candidates(finder)
    assert man["counts"]["excluded: contacted in the last 1w"] == len(recent & cand) == 16
    assert man["counts"]["excluded: at the contact cap (2 in 30d)"] == 0  # every capped one was recent too
    assert man["parameters"]["max_contacts"] == "2/30d"

    f = tmp_path / "pb.toml"
    f.write_text('name = "pb"\n[seeds]\npreset = "vip"\n[audience]\nsize = 150\nmax_contacts = "2/30d"\n',
                 encoding="utf-8")
    res = runner.invoke(app, ["playbook", "run", str(f), str(data), "--db", url, "-o", str(tmp_path / "pb")])
    assert res.exit_code == 0, res.output
    pb = pd.read_parquet(tmp_path / "pb" / "pb.parquet")
    assert not set(pb.customer_id) & capped and set(pb.customer_id) & (recent - capped)
    res = runner.invoke(app, ["playbook", "run", str(f), str(data), "--db", url, "--max-contacts", "1/30d",
                              "-o", str(tmp_path / "pb")])
    assert res.exit_code == 0, res.output
    pb = pd.read_parquet(tmp_path / "pb" / "pb.parquet")
    assert not set(pb.customer_id) & set(plan)  # one contact in 30 days is the cap now: all planted ones go
    engine.dispose()


# ------------------------------------------------------------------ exports and campaign exports
def _audience(finder, size: int = 400, **options) -> pd.DataFrame:
    return build_audience(finder, "vip", size, **options).audience  # explained: exports carry the reason


def test_plain_export_records_channel_files_only(store, finder, tmp_path):
    aud = _audience(finder)
    res = export_recorded(store, aud, finder.customers_, "email", tmp_path, name="spring")
    hist = contact_history(store)
    written = pd.read_csv(res.paths[0], dtype=str)["customer_id"]
    assert sorted(hist["customer_id"]) == sorted(written) and len(written) > 0
    assert set(hist["channel"]) == {"email"} and set(hist["audience"]) == {"spring"}
    # an ad-platform list is not a contact (the platform decides who sees an ad)
    ads = export_recorded(store, aud, finder.customers_.assign(email="a@b.es"), "meta", tmp_path, name="spring")
    assert ads.rows_written > 0 and len(contact_history(store)) == len(written)
    with pytest.raises(ParameterError, match="needs the campaign store"):
        export_recorded(None, aud, finder.customers_, "sms", tmp_path / "x", name="spring")
    assert not list((tmp_path / "x").glob("*.csv"))  # the files of an unrecorded export are removed


def test_campaign_export_refuses_customers_over_the_cap(store, finder, tmp_path):
    aud = _audience(finder, max_contacts="1/30d", contacts=store)
    manifest = {"parameters": {"max_contacts": "1/30d"}}
    camp = create_campaign(store, unique("cap"), aud, holdout_share=0.2, manifest=manifest).campaign
    arms = assignments_frame(store, camp.id)
    treated = arms.loc[arms.arm == "treatment", "customer_id"].tolist()
    control = arms.loc[arms.arm == "control", "customer_id"].tolist()
    # its own exports never count against it: exporting twice is fine, and records nobody twice
    for _ in range(2):
        plan = check_campaign_export(store, camp.id, aud)
        export_recorded(store, aud, finder.customers_, "email", tmp_path, name=camp.name, campaign_id=camp.id,
                        exclude_ids=plan.exclude_ids)
    mine = contact_history(store)
    assert mine["campaign"].eq(camp.name).all() and not set(mine["customer_id"]) & set(control)
    assert mine["customer_id"].is_unique and set(mine["customer_id"]) <= set(treated)
    # another send reaches 7 treated and 3 control customers
    other = treated[:7] + control[:3]
    record_contacts(store, other, "sms", audience="flash-sale")
    with pytest.raises(CampaignError, match=r"^7 of the [\d,]+ treated customers .* break its contact rules "
                                            r"\(at the contact cap \(1 in 30d\): 7\); nothing was exported") as e:
        check_campaign_export(store, camp.id, aud)
    assert "--allow-over-cap" in str(e.value)
    plan = check_campaign_export(store, camp.id, aud, allow_over_cap=True)
    assert [w.code for w in plan.warnings] == ["over_contact_cap"] and plan.warnings[0].params["customers"] == 7
    # a rule given at export time replaces the audience's: a cap of 2 leaves nobody over
    assert check_campaign_export(store, camp.id, aud, max_contacts="2/30d").over == {
        "excluded: at the contact cap (2 in 30d)": 0}
    with pytest.raises(ParameterError, match="max_contacts must be"):
        check_campaign_export(store, camp.id, aud, max_contacts="2")


@pytest.mark.slow
def test_cli_campaign_export_within_the_caps(finder, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    data = tmp_path / "customers.parquet"
    write_table(finder.customers_, data)
    aud = tmp_path / "aud.parquet"
    assert runner.invoke(app, ["expand", str(data), "--size", "400", "--max-contacts", "1/30d", "--db", url,
                               "-o", str(aud)]).exit_code == 0
    res = runner.invoke(app, ["campaign", "create", "june", str(aud), "--holdout", "0.2", "--db", url])
    assert res.exit_code == 0, res.output
    engine = db.open_database(url)
    arms = assignments_frame(engine, "june")
    treated = arms.loc[arms.arm == "treatment", "customer_id"].tolist()
    control = set(arms.loc[arms.arm == "control", "customer_id"])
    record_contacts(engine, treated[:5], "email", audience="newsletter")
    out = tmp_path / "exports"
    res = runner.invoke(app, ["campaign", "export", "june", str(aud), str(data), "--db", url, "-o", str(out)])
    assert res.exit_code == 2 and "5 of the" in res.output and "nothing was exported" in res.output
    assert not out.exists() or not list(out.glob("*.csv"))
    res = runner.invoke(app, ["campaign", "export", "june", str(aud), str(data), "--db", url, "-o", str(out),
                              "--allow-over-cap"])
    assert res.exit_code == 0, res.output
    assert "warning:" in res.output and "5 treated customers break the contact rules" in res.output
    written = pd.concat([pd.read_csv(p, dtype=str) for p in out.glob("june_*.csv")])["customer_id"]
    hist = contact_history(engine)
    june = hist.loc[hist["campaign"] == "june", "customer_id"]
    assert sorted(june) == sorted(written) and not set(june) & control  # control never counts as contacted
    # the plain export records too (no campaign: its audience's name)
    res = runner.invoke(app, ["export", str(aud), str(data), "--format", "sms", "--db", url, "-o", str(out / "p")])
    assert res.exit_code == 0, res.output
    sms = pd.read_csv(out / "p" / "aud_sms.csv", dtype=str)["customer_id"]
    hist = contact_history(engine)
    assert sorted(hist.loc[hist["audience"] == "aud", "customer_id"]) == sorted(sms)
    engine.dispose()


# ------------------------------------------------------------------ erasure
@pytest.mark.parametrize("backend", BACKENDS)
def test_forget_deletes_the_customers_contacts(backend, tmp_path_factory, tmp_path):
    url = fresh_url(backend, tmp_path_factory)
    engine = db.open_database(url)
    try:
        record_contacts(engine, ["C9", "C10"], "email", audience="a", at=AS_OF)
        record_contacts(engine, ["C9"], "sms", audience="b", at=AS_OF)
        report = forget_customer(" c9 ", home=tmp_path, engine=engine, actor="dpo", cache_dir=tmp_path / "cache")
        assert report.database["contacts"] == 2
        with engine.connect() as conn:
            left = conn.execute(sa.select(db.contacts.c.customer_id)).scalars().all()
        assert left == ["C10"]
    finally:
        engine.dispose()
        drop_schema(url)
