"""``POST /api/v1/audiences/{name}/exports`` after the audience's dataset was re-uploaded with other
people under the same ids (issue 16, item 8): refused, unless ``allow_other_data`` (a warning)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .service import make_service


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    service = make_service(tmp_path_factory.mktemp("export-data-home"), n=700, seed=4)
    with TestClient(service.app) as client:
        yield service, client


def test_export_after_a_reupload_with_other_people_is_refused(svc):
    from lookalike.synth import generate

    service, client = svc
    editor = {"X-API-Key": service.editor_key}
    r = client.post(f"/api/v1/datasets/{service.dataset}/audiences", headers=editor,
                    json={"name": "spring", "size": "71", "exclude_opted_out": False})
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/audiences/spring/exports", json={"profile": "meta"}, headers=editor)
    assert r.status_code == 201 and not any("other data" in w for w in r.json()["warnings"]), r.text

    # the dataset is uploaded again: same ids C000001.., other people
    service.app.state.workspace.prepare(service.dataset, lambda: generate(700, seed=9, contact=True).raw,
                                        {"kind": "demo"}, lambda share, msg: None)
    r = client.post("/api/v1/audiences/spring/exports", json={"profile": "meta"}, headers=editor)
    assert r.status_code == 400, r.text
    assert "built from other data" in r.json()["detail"] and "allow_other_data" in r.json()["detail"]
    r = client.post("/api/v1/audiences/spring/exports", json={"profile": "meta", "allow_other_data": True},
                    headers=editor)
    assert r.status_code == 201, r.text
    assert any("exported anyway" in w for w in r.json()["warnings"])
