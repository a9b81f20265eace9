"""Erasure on request: ``lookalike forget`` on a real workspace built by the CLI.

The workspace holds a clean table (with contact columns), a fitted model, an audience with its
manifest, channel + Meta + Google exports with their log, and a campaign with outcomes in SQLite.
Every expectation is computed independently from the files before the erasure.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from campaigns.conftest import drop_schema, fresh_url

from lookalike import database as db
from lookalike.audience.store import load_audience
from lookalike.cli import app
from lookalike.finder import LookalikeFinder
from lookalike.privacy import forget_customer


def _ok(runner, args: list[str]) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, f"{args[0]} failed: {res.output[-800:]}"
    return res.output


@pytest.fixture(scope="module")
def built(runner, tmp_path_factory) -> Path:
    """A workspace made by the CLI (built once; each test works on a copy)."""
    root = tmp_path_factory.mktemp("forget")
    ws = root / "ws"
    raw = root / "raw.csv"
    dburl = f"sqlite:///{ws / 'lookalike.db'}"
    _ok(runner, ["generate", "--n", "1500", "--seed", "4", "--contact", "-o", str(raw)])
    _ok(runner, ["clean", str(raw), "-o", str(ws / "clean")])
    _ok(runner, ["fit", str(ws / "clean" / "customers.parquet"), "-o", str(ws / "model")])
    aud = ws / "audiences" / "vip.parquet"
    _ok(runner, ["expand", str(ws / "model"), "--seeds", "vip", "--size", "15%", "-o", str(aud)])
    for fmt in ("channels", "meta", "google"):  # the channel files' customers are recorded as contacted
        _ok(runner, ["export", str(aud), str(ws / "model"), "--format", fmt, "-o", str(ws / "exports" / "vip"),
                     "--db", dburl])
    _ok(runner, ["campaign", "create", "spring", str(aud), "--db", dburl])
    members = pd.read_parquet(aud)["customer_id"]
    pd.DataFrame({"customer_id": members, "sends": 1, "opens": 1, "clicks": 0,
                  "conversions": (members.index % 3 == 0).astype(int), "revenue": 5.0}).to_csv(
        root / "outcomes.csv", index=False)
    _ok(runner, ["campaign", "outcomes", "spring", str(root / "outcomes.csv"), "--db", dburl])
    return ws


@pytest.fixture
def ws(built, tmp_path) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(built, copy)
    return copy


def _tables(ws: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for p in sorted(ws.rglob("*")):
        if p.suffix == ".parquet":
            out[str(p.relative_to(ws))] = pd.read_parquet(p)
        elif p.suffix == ".csv":
            out[str(p.relative_to(ws))] = pd.read_csv(p, dtype=str, keep_default_na=False)
    return out


def _db_counts(ws: Path, cid: str) -> dict[str, tuple[int, int]]:
    con = sqlite3.connect(ws / "lookalike.db")
    try:
        return {t: (con.execute(f"SELECT count(*) FROM {t}").fetchone()[0],
                    con.execute(f"SELECT count(*) FROM {t} WHERE customer_id = ?", (cid,)).fetchone()[0])
                for t in ("assignments", "outcomes", "contacts")}
    finally:
        con.close()


def _customer_rows(df: pd.DataFrame, cid: str, email_hash: str | None) -> pd.Series:
    """Rows of a table that are the customer, by an exact look at id and hashed-email columns."""
    mask = pd.Series(False, index=df.index)
    for col in df.columns:
        text = df[col].astype("string").str.strip()
        if col in ("customer_id", "extern_id"):
            mask |= (text.str.upper() == cid).fillna(False)
        elif email_hash is not None:
            mask |= (text.str.lower() == email_hash).fillna(False)
    return mask


def _pick(ws: Path) -> tuple[str, str, str]:
    """A lookalike member with an email, in the Meta export, in a channel file (so recorded as contacted) and
    with outcomes; and a VIP seed."""
    aud = pd.read_parquet(ws / "audiences" / "vip.parquet")
    meta = pd.read_csv(ws / "exports" / "vip" / "vip_meta.csv", dtype=str)
    clean = pd.read_parquet(ws / "clean" / "customers.parquet")
    with_email = set(clean.loc[clean["email"].notna(), "customer_id"])
    sent = set(pd.concat([pd.read_csv(ws / "exports" / "vip" / f"vip_{c}.csv", dtype=str)["customer_id"]
                          for c in ("email", "sms", "push")]))
    member = next(c for c in meta["extern_id"] if c in with_email and c in set(aud["customer_id"]) and c in sent)
    email = clean.loc[clean["customer_id"] == member, "email"].iloc[0]
    seeds = json.loads((ws / "audiences" / "vip.manifest.json").read_text())["seeds"]["ids"]
    return member, hashlib.sha256(email.strip().lower().encode()).hexdigest(), seeds[0]


def _id_anywhere(ws: Path, cid: str) -> list[str]:
    """Files under the workspace where the id still appears: table cells, or the raw bytes of any file."""
    word = re.compile(rb"(?<![0-9A-Za-z])" + re.escape(cid.encode()) + rb"(?![0-9A-Za-z])", re.IGNORECASE)
    hits = []
    for p in sorted(ws.rglob("*")):
        if not p.is_file():
            continue
        if p.suffix == ".parquet":
            df = pd.read_parquet(p)
            cells = df.astype("string").apply(lambda c: c.str.strip().str.upper() == cid).any().any()
            if bool(cells):
                hits.append(str(p))
        elif word.search(p.read_bytes()):
            hits.append(str(p))
    return hits


@pytest.mark.slow
def test_forget_removes_the_customer_everywhere_and_logs_it(runner, ws, tmp_path):
    member, email_hash, _ = _pick(ws)
    before = _tables(ws)
    expected_removed = {k: int(_customer_rows(df, member, email_hash).sum()) for k, df in before.items()}
    db_before = _db_counts(ws, member)
    assert db_before["assignments"][1] == 1 and db_before["outcomes"][1] == 1
    in_channel_files = sum(expected_removed.get(f"exports/vip/vip_{c}.csv", 0) for c in ("email", "sms", "push"))
    assert db_before["contacts"][1] == in_channel_files == 1 and db_before["contacts"][0] > 1
    assert expected_removed["exports/vip/vip_meta.csv"] == 1 and expected_removed["exports/vip/vip_google.csv"] == 1
    n_model = LookalikeFinder.load(ws / "model").n_customers_

    # the id as a person would type it: lower case, spaces around
    res = runner.invoke(app, ["forget", f"  {member.lower()} ", "--home", str(ws), "--actor", "dpo@shop",
                              "--cache-dir", str(tmp_path / "cache"), "--json"])
    assert res.exit_code == 0, res.output

    assert _id_anywhere(ws, member) == []
    assert not any(email_hash in p.read_text("utf-8", errors="ignore") for p in ws.rglob("*.csv"))
    after = _tables(ws)
    for name, df in before.items():
        keep = ~_customer_rows(df, member, email_hash)
        assert len(after[name]) == len(df) - expected_removed[name], name
        # everyone else untouched, values and order
        pd.testing.assert_frame_equal(after[name].reset_index(drop=True), df[keep].reset_index(drop=True),
                                      check_dtype=name.endswith(".parquet"))
    db_after = _db_counts(ws, member)
    for table, (n, mine) in db_before.items():
        assert db_after[table] == (n - mine, 0)

    # the audience still verifies against its manifest; the model was refit without the customer
    aud = load_audience(ws / "audiences" / "vip.parquet")
    assert json.loads((ws / "audiences" / "vip.manifest.json").read_text())["audience"]["rows"] == len(aud)
    assert LookalikeFinder.load(ws / "model").n_customers_ == n_model - 1
    # the export log says which files were rewritten, with their new checksums, and holds no id
    last = json.loads((ws / "exports" / "vip" / "export_log.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "erasure" and last["audience"] == "vip" and last["counts"]["rows_removed"] == sum(
        v for k, v in expected_removed.items() if k.startswith("exports/"))
    # it reads like an export record (the service lists the log with this schema)
    from lookalike.api.models import ExportLogEntry
    ExportLogEntry(**last)
    for f in last["files"]:
        assert hashlib.sha256((ws / "exports" / "vip" / f["file"]).read_bytes()).hexdigest() == f["sha256"]

    con = sqlite3.connect(ws / "lookalike.db")
    rows = con.execute("SELECT customer_key, actor, details FROM erasure_log").fetchall()
    con.close()
    assert len(rows) == 1
    key, actor, details = rows[0]
    assert key == hashlib.sha256(member.encode()).hexdigest() and actor == "dpo@shop"
    assert member not in details and member.lower() not in details
    assert json.loads(details)["database"] == {"assignments": 1, "outcomes": 1, "contacts": in_channel_files,
                                               "audience_version_manifests": 0}

    # idempotent: nothing left to remove, and the second request is logged too
    res2 = runner.invoke(app, ["forget", member, "--home", str(ws), "--json", "--cache-dir", str(tmp_path / "cache")])
    assert res2.exit_code == 0, res2.output
    assert json.loads(res2.stdout[res2.stdout.index("{"):])["total"] == 0
    con = sqlite3.connect(ws / "lookalike.db")
    assert con.execute("SELECT count(*) FROM erasure_log").fetchone()[0] == 2
    con.close()
    assert _tables(ws).keys() == before.keys()


@pytest.mark.slow
def test_forget_a_seed_redacts_manifests_in_files_and_database(runner, ws, tmp_path):
    _, _, seed = _pick(ws)
    man = json.loads((ws / "audiences" / "vip.manifest.json").read_text())
    n_seeds = man["seeds"]["count"]
    res = runner.invoke(app, ["forget", seed, "--home", str(ws), "--cache-dir", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    man2 = json.loads((ws / "audiences" / "vip.manifest.json").read_text())
    assert seed not in man2["seeds"]["ids"] and man2["seeds"]["count"] == n_seeds - 1
    con = sqlite3.connect(ws / "lookalike.db")
    stored = con.execute("SELECT manifest FROM audience_versions").fetchone()[0]
    details = json.loads(con.execute("SELECT details FROM erasure_log").fetchone()[0])
    con.close()
    assert seed not in stored and details["database"]["audience_version_manifests"] == 1
    assert _id_anywhere(ws, seed) == []
    load_audience(ws / "audiences" / "vip.parquet")  # still verifies


@pytest.mark.slow
def test_forget_deletes_cache_entries_holding_the_customer(ws, tmp_path):
    cache = tmp_path / "cache" / "clean"
    for key, ids in (("a", ["C000001", "C000002"]), ("b", ["C000003"])):
        (cache / key).mkdir(parents=True)
        pd.DataFrame({"customer_id": ids}).to_parquet(cache / key / "customers.parquet")
    engine = db.open_database(f"sqlite:///{tmp_path / 'other.db'}")
    report = forget_customer("c000002", home=ws, engine=engine, actor="t", cache_dir=tmp_path / "cache")
    engine.dispose()
    assert report.cache_entries_removed == 1
    assert not (cache / "a").exists() and (cache / "b" / "customers.parquet").is_file()


@pytest.mark.slow
def test_the_default_cache_is_in_the_workspace_and_nothing_outside_is_searched_unless_told(runner, ws, tmp_path,
                                                                                           monkeypatch):
    from lookalike.config.settings import Settings

    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # a home of this test's own (the session's holds other entries)
    monkeypatch.delenv("LOOKALIKE_CACHE_DIR")
    assert Settings(home=ws).cache_dir == ws / "cache"  # where `lookalike clean` caches by default
    inside = ws / "cache" / "clean" / "entry"
    outside = Path.home() / ".cache" / "lookalike" / "clean" / "planted"
    for d in (inside, outside):
        d.mkdir(parents=True)
        pd.DataFrame({"customer_id": ["C000002"]}).to_parquet(d / "customers.parquet")
    engine = db.open_database(f"sqlite:///{tmp_path / 'other.db'}")
    report = forget_customer("C000002", home=ws, engine=engine, actor="t")
    assert report.cache_entries_removed == 1 and not inside.exists()
    assert (outside / "customers.parquet").is_file()  # outside the workspace: untouched
    res = runner.invoke(app, ["forget", "C000002", "--home", str(ws), "--db", f"sqlite:///{tmp_path / 'other.db'}"])
    assert res.exit_code == 0, res.output
    assert (outside / "customers.parquet").is_file()
    # configured: searched
    monkeypatch.setenv("LOOKALIKE_CACHE_DIR", str(Path.home() / ".cache" / "lookalike"))
    report = forget_customer("C000002", home=ws, engine=engine, actor="t")
    engine.dispose()
    assert report.cache_entries_removed == 1 and not outside.exists()


@pytest.mark.postgres
def test_forget_on_postgresql_deletes_rows_in_one_transaction(ws, tmp_path, tmp_path_factory):
    """The campaign-store part against the PostgreSQL server of `make test`."""
    from lookalike.campaigns.store import create_campaign, import_outcomes

    url = fresh_url("postgresql", tmp_path_factory)
    engine = db.open_database(url)
    try:
        aud = pd.DataFrame({"customer_id": [f"P{i:03d}" for i in range(30)], "rank": range(1, 31)})
        create_campaign(engine, "pg-forget", aud, salt="s")
        import_outcomes(engine, "pg-forget", aud[["customer_id"]].assign(sends=1, conversions=1, revenue=2.0))
        report = forget_customer("p007", home=ws, engine=engine, actor="t", cache_dir=tmp_path / "c")
        assert report.database["assignments"] == 1 and report.database["outcomes"] == 1
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM assignments")).scalar_one() == 29
            assert conn.execute(sa.text("SELECT count(*) FROM outcomes")).scalar_one() == 29
            assert conn.execute(sa.text("SELECT count(*) FROM assignments WHERE customer_id = 'P007'")).scalar_one() == 0
            key = conn.execute(sa.text("SELECT customer_key FROM erasure_log")).scalar_one()
        assert key == hashlib.sha256(b"P007").hexdigest()
    finally:
        engine.dispose()
        drop_schema(url)


def test_forget_refuses_an_empty_id_and_a_missing_workspace(runner, tmp_path):
    res = runner.invoke(app, ["forget", "   ", "--home", str(tmp_path)])
    assert res.exit_code == 2 and "empty" in res.output
    res = runner.invoke(app, ["forget", "C1", "--home", str(tmp_path / "nope"), "--db",
                              f"sqlite:///{tmp_path / 'x.db'}"])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_forget_rewrites_raw_uploads_in_their_own_format(tmp_path):
    """Raw exports kept in a workspace (xlsx, ';'-separated CSV, an aliased id column, dirty ids)."""
    home = tmp_path / "home"
    d = home / "datasets" / "crm"
    d.mkdir(parents=True)
    raw = pd.DataFrame({"Id Cliente": [" c000002", "C000001", "C000002 ", "C000020"],
                        "edad": [30, 41, 30, 52], "notas": ["=1+1", "hola", "x", "C000002 llamó"]})
    raw.to_excel(d / "raw.xlsx", index=False)
    (d / "raw.csv").write_text(raw.to_csv(index=False, sep=";"), encoding="utf-8")
    engine = db.open_database(f"sqlite:///{tmp_path / 'x.db'}")
    report = forget_customer("C000002", home=home, engine=engine, actor="t", cache_dir=tmp_path / "c")
    engine.dispose()
    assert report.files == {"datasets/crm/raw.xlsx": 2, "datasets/crm/raw.csv": 2}
    # the other customer's note that names this one keeps its text, without the id
    assert report.redacted == {"datasets/crm/raw.xlsx": 1, "datasets/crm/raw.csv": 1}
    keep = raw.iloc[[1, 3]].reset_index(drop=True)
    keep.loc[1, "notas"] = "[erased] llamó"
    pd.testing.assert_frame_equal(pd.read_excel(d / "raw.xlsx", engine="openpyxl"), keep)
    back = pd.read_csv(d / "raw.csv", sep=";")
    pd.testing.assert_frame_equal(back, keep)
    assert report.unhandled == []


def test_another_database_in_the_workspace_is_reported_not_ignored(runner, tmp_path):
    from lookalike.campaigns.store import create_campaign

    home = tmp_path / "home"
    (home / "out").mkdir(parents=True)
    other = db.open_database(f"sqlite:///{home / 'out' / 'campaigns.db'}")  # e.g. what lookalike demo wrote
    create_campaign(other, "demo", pd.DataFrame({"customer_id": ["C000001", "C000002"], "rank": [1, 2]}), salt="s")
    other.dispose()
    res = runner.invoke(app, ["forget", "C000002", "--home", str(home), "--cache-dir", str(tmp_path / "c")])
    assert res.exit_code == 1 and "out/campaigns.db" in res.output and "still contains the id" in res.output
    res = runner.invoke(app, ["forget", "C000002", "--home", str(home), "--cache-dir", str(tmp_path / "c"),
                              "--db", f"sqlite:///{home / 'out' / 'campaigns.db'}"])
    assert res.exit_code == 0, res.output
    assert _id_anywhere(home, "C000002") == []


def test_a_damaged_file_is_reported_and_the_rest_still_erased(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    pd.DataFrame({"customer_id": ["C000001", "C000002"]}).to_parquet(home / "a.parquet")
    (home / "broken.parquet").write_bytes(b"PAR1 this is not parquet C000002")
    engine = db.open_database(f"sqlite:///{tmp_path / 'x.db'}")
    report = forget_customer("C000002", home=home, engine=engine, actor="t", cache_dir=tmp_path / "c")
    engine.dispose()
    assert report.files == {"a.parquet": 1}
    assert len(report.unhandled) == 1 and report.unhandled[0].startswith("broken.parquet (cannot be read")
    assert pd.read_parquet(home / "a.parquet")["customer_id"].tolist() == ["C000001"]
