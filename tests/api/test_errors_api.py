"""The API answers every error as JSON with the status its error class declares; a bug is a JSON 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lookalike.api import service as api_service
from lookalike.errors import DatabaseError, NotFound, UploadTooLarge


@pytest.fixture
def raw_client(service):
    # no context manager: the session's app keeps running; server errors come back as answers
    return TestClient(service.app, raise_server_exceptions=False)


@pytest.mark.parametrize("exc, status", [(DatabaseError("the database server is down; retry"), 503),
                                         (NotFound("no such thing"), 404),
                                         (UploadTooLarge("too big"), 413)])
def test_lookalike_errors_answer_their_class_status(raw_client, viewer, monkeypatch, exc, status):
    def boom():
        raise exc

    monkeypatch.setattr(api_service, "playbooks", boom)
    r = raw_client.get("/api/v1/playbooks", headers=viewer)
    assert r.status_code == status and r.json() == {"detail": str(exc)}


def test_a_bug_answers_json_500_without_its_message(raw_client, viewer, monkeypatch):
    def boom():
        raise RuntimeError("postgresql://u:hunter2@db/x exploded")

    monkeypatch.setattr(api_service, "playbooks", boom)
    r = raw_client.get("/api/v1/playbooks", headers=viewer)
    assert r.status_code == 500 and r.headers["content-type"] == "application/json"
    assert "RuntimeError" in r.json()["detail"] and "hunter2" not in r.text
