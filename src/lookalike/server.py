"""The Lookalike service: one FastAPI app for the REST API (``/api/v1``) and the web UI.

It sits above both faces: the API (:mod:`lookalike.api`) and the UI (:mod:`lookalike.web`) are
each added to the app here, so neither imports the other's app.

>>> import tempfile
>>> from lookalike.server import Settings, create_app
>>> app = create_app(Settings(home=tempfile.mkdtemp(), session_secret="doc"))
>>> paths = app.openapi()["paths"]
>>> "/health" in paths and "/api/v1/datasets/{name}/audiences" in paths
True
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from starlette.middleware.sessions import SessionMiddleware

from lookalike import __version__
from lookalike.api.jobs import JobRegistry
from lookalike.api.routes import router
from lookalike.api.workspace import Workspace
from lookalike.config.settings import Settings
from lookalike.database import open_database
from lookalike.errors import LookalikeError
from lookalike.web import mount_ui

__all__ = ["Settings", "create_app"]
log = logging.getLogger(__name__)


async def lookalike_error(request: Request, exc: LookalikeError) -> JSONResponse:
    """A refused request: the error's one line, with the HTTP status its class declares."""
    return JSONResponse({"detail": str(exc)}, status_code=exc.http_status)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: JSON like every other answer; the details go to the server log, never to the client
    (an exception's text can hold a database URL or a file path)."""
    log.error("unexpected failure on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return JSONResponse({"detail": f"unexpected failure ({type(exc).__name__}); the server log has the details, "
                                   "please report it"}, status_code=500)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: workspace, database engine, job pool and session secret hang on ``app.state``."""
    settings = (settings or Settings()).check_service()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        app.state.jobs.shutdown()
        app.state.engine.dispose()

    app = FastAPI(title="Lookalike", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Lookalike audiences for CRM teams: datasets, quality, lookalikes, audiences, "
                              "playbooks, exports and campaign results. Send an API key in `X-API-Key`.")
    app.state.settings = settings
    app.state.workspace = Workspace(settings.home)
    app.state.engine = open_database(settings.database_url())
    app.state.jobs = JobRegistry(settings.workers)
    app.add_middleware(SessionMiddleware, secret_key=settings.secret(), session_cookie="lookalike_session",
                       max_age=8 * 3600, same_site="lax", https_only=settings.https_only)
    app.add_exception_handler(LookalikeError, lookalike_error)
    app.add_exception_handler(Exception, unexpected_error)

    @app.get("/health", tags=["public"], response_model=dict)
    def health() -> dict:
        """Liveness: no key needed."""
        return {"status": "ok", "version": __version__}

    @app.get("/docs", include_in_schema=False)
    def docs():
        """The API explorer, with Swagger UI's files served from the package (FastAPI's default uses a CDN)."""
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Lookalike API",
                                   swagger_js_url="/static/swagger-ui-bundle.js",
                                   swagger_css_url="/static/swagger-ui.css", swagger_favicon_url="/static/favicon.png")

    app.include_router(router)
    mount_ui(app)
    return app
