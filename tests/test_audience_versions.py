"""Audience versions (issue 18, item 5): a name built again keeps its earlier versions, each still
loadable against its own manifest; a save that fails puts the previous version back."""

from __future__ import annotations

import pandas as pd
import pytest

import lookalike as lk
from lookalike.api.workspace import Workspace
from lookalike.audience.store import (archive_version, audience_versions, load_audience, next_version,
                                      restore_version, save_audience, version_of)
from lookalike.synth import generate


@pytest.fixture(scope="module")
def finder():
    return lk.LookalikeFinder().fit(lk.clean_customers(generate(800, seed=3).raw).customers)


def _save(finder, path, size: int):
    result = finder.build_audience("vip", size)
    result.params["version"] = next_version(path)
    save_audience(result, path, model_version="t", data_fingerprint="f")
    return load_audience(path)


def test_every_version_is_kept_and_loads(finder, tmp_path):
    path = tmp_path / "spring.parquet"
    assert next_version(path) == 1 and audience_versions(path) == []
    first = _save(finder, path, 20)
    folder = archive_version(path)
    assert folder == tmp_path / ".versions" / "spring" / "v1" and not path.exists()
    second = _save(finder, path, 30)
    versions = audience_versions(path)
    assert [n for n, _ in versions] == [1, 2] and versions[-1][1] == path
    pd.testing.assert_frame_equal(load_audience(versions[0][1]), first)  # its manifest still vouches for it
    pd.testing.assert_frame_equal(load_audience(path), second)
    assert next_version(path) == 3
    assert archive_version(tmp_path / "nothing.parquet") is None


def test_restore_undoes_an_archive(finder, tmp_path):
    path = tmp_path / "a.parquet"
    before = _save(finder, path, 10)
    names = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    restore_version(archive_version(path), path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == names
    assert not (tmp_path / ".versions" / "a" / "v1").exists()
    pd.testing.assert_frame_equal(load_audience(path), before)


def test_version_of_reads_only_positive_whole_numbers():
    assert [version_of(m) for m in (None, {}, {"parameters": {"version": 3}}, {"parameters": {"version": True}},
                                    {"parameters": {"version": "2"}}, {"parameters": {"version": 0}})] == [1, 1, 3, 1, 1, 1]


@pytest.mark.slow  # over a second: make test runs it, make check stays under a minute
def test_workspace_versions_and_a_failed_save_keeps_the_previous_one(tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "home")
    ws.prepare("d", lambda: generate(600, seed=8).raw, {"kind": "demo"}, lambda share, message: None)
    finder = ws.finder("d")
    ws.save_audience("spring", finder.build_audience("vip", 20), "d", "ana")
    ws.save_audience("spring", finder.build_audience("vip", 25), "d", "luis")
    versions = ws.audience_versions("spring")
    assert [(v["version"], v["user"], v["size"]) for v in versions] == [(1, "ana", 20), (2, "luis", 25)]
    one, two = set(ws.audience_table("spring", 1).customer_id), set(ws.audience_table("spring", 2).customer_id)
    assert (versions[1]["entered"], versions[1]["left"]) == (len(two - one), len(one - two))

    import lookalike.api.workspace as wsmod

    def broken(result, path, **kw):
        path.write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(wsmod, "save_audience", broken)
    with pytest.raises(OSError, match="disk full"):
        ws.save_audience("spring", finder.build_audience("vip", 30), "d", "eva")
    assert [v["version"] for v in ws.audience_versions("spring")] == [1, 2]
    assert set(ws.audience_table("spring").customer_id) == two
    ws.delete_audience("spring")
    assert not (ws.home / "audiences" / ".versions" / "spring").exists()
