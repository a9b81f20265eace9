from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .service import Service, make_service


@pytest.fixture(scope="session")
def service(tmp_path_factory) -> Service:
    return make_service(tmp_path_factory.mktemp("lookalike-home"))


@pytest.fixture(scope="session")
def client(service):
    with TestClient(service.app) as c:
        yield c


@pytest.fixture(scope="session")
def editor(service) -> dict:
    return {"X-API-Key": service.editor_key}


@pytest.fixture(scope="session")
def viewer(service) -> dict:
    return {"X-API-Key": service.viewer_key}


@pytest.fixture(scope="session")
def finder(service):
    return service.app.state.workspace.finder(service.dataset)
