"""Erasure leaves nothing behind (issue 16, item 10; item 23's unrelated-file warning): raw uploads in
every accepted format lose the customer's whole rows, a workbook whose header is below title rows
too; formats that cannot be rewritten are reported (CLI exit 1, API non-200); plots are not
searched; the access log holds route templates, never customer ids."""

from __future__ import annotations

import logging
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lookalike import database as db
from lookalike.cli import app
from lookalike.privacy import forget_customer

GONE = {"customer_id": "C000002", "email": "ana.gone@example.com", "phone": "+34 611 222 333",
        "first_name": "Anabel", "last_name": "Goneril"}
KEEP = {"customer_id": "C000001", "email": "luis.stays@example.com", "phone": "+34 699 888 777",
        "first_name": "Luis", "last_name": "Stays"}


def _text_of(path) -> str:
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path)
        return " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)
    return path.read_text("utf-8")


def _forget(home, tmp_path, cid="C000002"):
    engine = db.open_database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        return forget_customer(cid, home=home, engine=engine, actor="t", cache_dir=tmp_path / "c")
    finally:
        engine.dispose()


def test_every_field_of_the_customer_leaves_txt_tsv_sep_and_titled_xlsx_uploads(tmp_path):
    home = tmp_path / "home"
    rows = pd.DataFrame([KEEP, GONE, {**KEEP, "customer_id": "C000003"}])
    files = {}
    for name, sep in (("txt", ","), ("tsv", "\t")):
        d = home / "datasets" / name
        d.mkdir(parents=True)
        files[name] = d / f"raw.{name}"
        files[name].write_text(rows.to_csv(index=False, sep=sep), encoding="utf-8")
    d = home / "datasets" / "excel_hint"
    d.mkdir(parents=True)
    files["sep"] = d / "raw.csv"
    files["sep"].write_text("sep=;\n" + rows.to_csv(index=False, sep=";"), encoding="utf-8")
    d = home / "datasets" / "titled"
    d.mkdir(parents=True)
    files["xlsx"] = d / "raw.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["CRM export, March"])
    ws.append([])
    ws.append(list(rows.columns))
    for r in rows.itertuples(index=False):
        ws.append(list(r))
    wb.save(files["xlsx"])

    report = _forget(home, tmp_path)
    assert report.unhandled == []
    for name, path in files.items():
        text = _text_of(path)
        for value in GONE.values():
            assert value not in text, (name, value)  # the whole row left, not only the id
        assert KEEP["email"] in text and "C000003" in text, name
        assert report.files[str(path.relative_to(home))] == 1
    assert files["sep"].read_text().startswith("sep=;\n")  # the Excel hint line is kept
    wb = openpyxl.load_workbook(files["xlsx"])
    values = [[c.value for c in row] for row in wb.active.iter_rows()]
    assert values[0][0] == "CRM export, March" and values[2][0] == "customer_id"
    assert [v[0] for v in values[3:]] == ["C000001", "C000003"]


def test_formats_that_cannot_be_rewritten_are_reported_cli_exit_1(tmp_path, runner):
    home = tmp_path / "home"
    home.mkdir()
    with zipfile.ZipFile(home / "old_export.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("export.csv", "customer_id,email\nC000002,ana.gone@example.com\n")
    res = runner.invoke(app, ["forget", "C000002", "--home", str(home), "--cache-dir", str(tmp_path / "c"),
                              "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert res.exit_code == 1, res.output
    assert "old_export.zip" in res.output and "cannot be searched or rewritten" in " ".join(res.output.split())


def test_plots_and_feature_arrays_are_not_reported_for_a_short_id(tmp_path, runner):
    home = tmp_path / "home"
    (home / "out").mkdir(parents=True)
    (home / "out" / "reach.png").write_bytes(b"\x89PNG\r\n\x1a\n...pixels 17 more pixels...")
    np.save(home / "out" / "features.npy", np.array([17.0, 1.7]))
    (home / "out" / "features.npy").write_bytes((home / "out" / "features.npy").read_bytes() + b" 17 ")
    res = runner.invoke(app, ["forget", "17", "--home", str(home), "--cache-dir", str(tmp_path / "c"),
                              "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert res.exit_code == 0, res.output
    assert "warning" not in res.output and "reach.png" not in res.output


@pytest.fixture
def service(tmp_path_factory):
    from tests.api.service import make_service

    svc = make_service(tmp_path_factory.mktemp("forget-log"), n=300, seed=3)
    with TestClient(svc.app) as client:
        yield svc, client


def test_the_access_log_holds_route_templates_not_ids(service, caplog):
    svc, client = service
    editor = {"X-API-Key": svc.editor_key}
    cid = svc.app.state.workspace.finder(svc.dataset).customers_["customer_id"].iloc[7]
    with caplog.at_level(logging.INFO, logger="lookalike.access"):
        assert client.get(f"/api/v1/datasets/{svc.dataset}/customers/{cid}/lookalikes?k=3",
                          headers=editor).status_code == 200
        assert client.post(f"/api/v1/customers/{cid}/forget", headers=editor).status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "lookalike.access"]
    assert "GET /api/v1/datasets/{name}/customers/{customer_id}/lookalikes 200" in " ".join(lines)
    assert "POST /api/v1/customers/{customer_id}/forget 200" in " ".join(lines)
    assert not any(cid in line for line in lines)


def test_serve_turns_uvicorns_path_log_off(monkeypatch, tmp_path, runner):
    import uvicorn

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setitem(__import__("sys").modules, "faiss", type("F", (), {"omp_set_num_threads": staticmethod(
        lambda n: None)}))
    res = runner.invoke(app, ["serve", "--home", str(tmp_path / "h")], env={"LOOKALIKE_SESSION_SECRET": "s"})
    assert res.exit_code == 0, res.output
    assert seen["access_log"] is False and "lookalike.access" in seen["log_config"]["loggers"]


def test_the_api_answers_500_when_anything_is_left(service):
    svc, client = service
    editor = {"X-API-Key": svc.editor_key}
    cid = svc.app.state.workspace.finder(svc.dataset).customers_["customer_id"].iloc[9]
    with zipfile.ZipFile(svc.home / "backup.zip", "w") as z:
        z.writestr("x.csv", f"customer_id\n{cid}\n")
    r = client.post(f"/api/v1/customers/{cid}/forget", headers=editor)
    assert r.status_code == 500, r.text
    body = r.json()
    assert body["detail"].startswith("erasure incomplete") and body["unhandled"][0].startswith("backup.zip")
    assert body["files"]  # the rest was erased and is reported
