"""Concurrent campaign writes lose no rows: threads and processes against SQLite and PostgreSQL.

A write either lands completely or fails with a clear :class:`CampaignError`; a busy SQLite
database is waited for (``BEGIN IMMEDIATE`` + retries), never silently skipped.
"""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pandas as pd
import pytest
import sqlalchemy as sa

from lookalike import database as db
from lookalike.campaigns import store
from lookalike.campaigns.store import CampaignError, create_campaign, import_outcomes

from .conftest import unique

N_CUSTOMERS = 1500


def _audience(prefix: str, n: int = N_CUSTOMERS) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"{prefix}{i:05d}" for i in range(n)], "rank": range(1, n + 1)})


def _outcomes(aud: pd.DataFrame, revenue: float) -> pd.DataFrame:
    return aud[["customer_id"]].assign(sends=1, opens=1, clicks=0, conversions=1, revenue=revenue)


def _count(engine, table: sa.Table, campaign_id: int) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(table.c.campaign_id == campaign_id)).scalar_one()


def test_concurrent_creates_and_imports_keep_every_row(engine):
    names = [unique("conc") for _ in range(6)]
    auds = {name: _audience(f"K{i}") for i, name in enumerate(names)}
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda n: create_campaign(engine, n, auds[n], salt="s"), names))
    ids = {n: store.get_campaign(engine, n).id for n in names}
    assert all(_count(engine, db.assignments, ids[n]) == N_CUSTOMERS for n in names)
    with ThreadPoolExecutor(6) as pool:
        done = list(pool.map(lambda n: import_outcomes(engine, n, _outcomes(auds[n], 2.0)), names))
    assert [d.rows for d in done] == [N_CUSTOMERS] * 6
    for n in names:
        assert _count(engine, db.outcomes, ids[n]) == N_CUSTOMERS
        assert store.campaign_frame(engine, n)["revenue"].sum() == pytest.approx(2.0 * N_CUSTOMERS)


def test_concurrent_imports_into_one_campaign_serialize(engine):
    name = unique("one")
    aud = _audience("S")
    create_campaign(engine, name, aud, salt="s")
    cid = store.get_campaign(engine, name).id
    # without --replace: exactly one import wins, the others are told why; nothing doubled
    outcomes: list[object] = []

    def plain(rev: float) -> None:
        try:
            outcomes.append(import_outcomes(engine, name, _outcomes(aud, rev)))
        except CampaignError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=plain, args=(float(r),)) for r in range(1, 5)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    wins = [o for o in outcomes if not isinstance(o, Exception)]
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(wins) == 1 and len(errors) == 3
    assert all("already has outcomes" in str(e) and "--replace" in str(e) for e in errors)
    assert _count(engine, db.outcomes, cid) == N_CUSTOMERS
    # with --replace: each replaces the previous one whole; the last file is all there
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda r: import_outcomes(engine, name, _outcomes(aud, float(r)), replace=True),
                      range(10, 14)))
    frame = store.campaign_frame(engine, name)
    assert len(frame) == N_CUSTOMERS and frame["has_outcome"].all()
    assert frame["revenue"].nunique() == 1 and frame["revenue"].iloc[0] in {10.0, 11.0, 12.0, 13.0}
    assert _count(engine, db.outcomes, cid) == N_CUSTOMERS


def _create_in_process(url: str, name: str, prefix: str) -> int:
    eng = db.open_database(url)
    try:
        aud = _audience(prefix, 800)
        create_campaign(eng, name, aud, salt="p")
        return import_outcomes(eng, name, _outcomes(aud, 1.0)).rows
    finally:
        eng.dispose()


def test_concurrent_processes_lose_no_rows(engine):
    url = engine.url.render_as_string(hide_password=False)
    names = [unique("proc") for _ in range(4)]
    with ProcessPoolExecutor(4, mp_context=mp.get_context("fork")) as pool:
        rows = list(pool.map(_create_in_process, [url] * 4, names, [f"Q{i}" for i in range(4)]))
    assert rows == [800] * 4
    for n in names:
        cid = store.get_campaign(engine, n).id
        assert _count(engine, db.assignments, cid) == 800 and _count(engine, db.outcomes, cid) == 800


def _sqlite_path(engine) -> str:
    return engine.url.database


@pytest.mark.slow  # over a second: make test runs it, make check stays under a minute
def test_sqlite_waits_for_a_busy_database_then_writes(engine):
    if engine.dialect.name != "sqlite":
        return  # SQLite's file lock; PostgreSQL's row locks are covered above
    name = unique("busy")
    aud = _audience("B", 200)
    create_campaign(engine, name, aud, salt="s")
    lock = sqlite3.connect(_sqlite_path(engine), check_same_thread=False)
    lock.execute("BEGIN IMMEDIATE")  # another program holds the write lock for 1.5 s

    def release() -> None:
        time.sleep(1.5)
        lock.rollback()

    t = threading.Thread(target=release)
    t.start()
    t0 = time.monotonic()
    res = import_outcomes(engine, name, _outcomes(aud, 3.0))
    t.join()
    lock.close()
    assert res.rows == 200 and time.monotonic() - t0 >= 1.0
    assert _count(engine, db.outcomes, store.get_campaign(engine, name).id) == 200


def test_sqlite_busy_for_too_long_is_a_clear_error(engine, monkeypatch):
    if engine.dialect.name != "sqlite":
        return
    name = unique("stuck")
    aud = _audience("T", 50)
    create_campaign(engine, name, aud, salt="s")
    quick = db.open_database(f"sqlite:///{_sqlite_path(engine)}?timeout=0.2")  # 0.2 s busy timeout per try
    monkeypatch.setattr(store, "WRITE_RETRY_SECONDS", 1.0)
    lock = sqlite3.connect(_sqlite_path(engine), check_same_thread=False)
    lock.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(CampaignError, match="busy .*nothing was written, run the command again"):
            import_outcomes(quick, name, _outcomes(aud, 1.0))
    finally:
        lock.rollback()
        lock.close()
        quick.dispose()
    assert _count(engine, db.outcomes, store.get_campaign(engine, name).id) == 0


def test_concurrent_costs_all_count(engine):
    name = unique("cost")
    create_campaign(engine, name, _audience("C", 20), salt="s")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: store.add_cost(engine, name, float(i)), range(1, 25)))
    assert store.total_cost(engine, store.get_campaign(engine, name).id) == pytest.approx(sum(range(1, 25)))
