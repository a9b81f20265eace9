"""``POST /api/v1/customers/{id}/forget``: erasure through the service (editor only)."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from lookalike import database as db

from .service import make_service


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    service = make_service(tmp_path_factory.mktemp("forget-home"), n=800, seed=7)
    with TestClient(service.app) as client:
        yield service, client


def test_forget_endpoint_needs_an_editor(svc):
    service, client = svc
    assert client.post("/api/v1/customers/C000001/forget").status_code == 401
    r = client.post("/api/v1/customers/C000001/forget", headers={"X-API-Key": service.viewer_key})
    assert r.status_code == 403


def test_forget_endpoint_erases_a_customer_from_the_dataset_and_logs_it(svc):
    service, client = svc
    editor = {"X-API-Key": service.editor_key}
    finder = service.app.state.workspace.finder(service.dataset)
    ids = finder.customers_["customer_id"].tolist()
    gone, other = ids[5], ids[6]
    assert client.get(f"/api/v1/datasets/{service.dataset}/customers/{gone}/lookalikes", headers=editor).status_code == 200

    r = client.post(f"/api/v1/customers/{gone.lower()}/forget", headers=editor)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["customer_key"] == hashlib.sha256(gone.encode()).hexdigest()
    assert body["files"][f"datasets/{service.dataset}/customers.parquet"] == 1
    assert body["models_refit"] == [f"datasets/{service.dataset}/model"] and body["unhandled"] == []
    assert gone not in r.text

    # the service's in-memory model was dropped: the customer is unknown now, and in no one's neighbours
    r = client.get(f"/api/v1/datasets/{service.dataset}/customers/{gone}/lookalikes", headers=editor)
    assert r.status_code == 404
    r = client.get(f"/api/v1/datasets/{service.dataset}/customers/{other}/lookalikes", params={"k": 799},
                   headers=editor)
    assert r.status_code == 200
    neighbours = [row["customer_id"] for row in r.json()["lookalikes"]]
    assert len(neighbours) == len(ids) - 2 and gone not in neighbours

    with service.app.state.engine.connect() as conn:
        rows = conn.execute(sa.select(db.erasure_log.c.customer_key, db.erasure_log.c.actor,
                                      db.erasure_log.c.details)).all()
    assert [(k, a) for k, a, _ in rows] == [(body["customer_key"], "eddie")] and gone not in rows[0][2]

    again = client.post(f"/api/v1/customers/{gone}/forget", headers=editor)
    assert again.status_code == 200 and again.json()["total"] == 0 and again.json()["log_id"] == body["log_id"] + 1
