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
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from starlette.middleware.sessions import SessionMiddleware

from lookalike._version import __version__
from lookalike.api.auth import LoginThrottle
from lookalike.api.guard import RequestGuard
from lookalike.api.jobs import JobRegistry
from lookalike.api.routes import router
from lookalike.api.users import SESSION_HOURS
from lookalike.api.workspace import Workspace
from lookalike.config.settings import Settings
from lookalike.database import open_database
from lookalike.errors import LookalikeError
from lookalike.web import mount_ui

__all__ = ["ACCESS_LOGGER", "RouteAccessLog", "Settings", "UPLOAD_PATHS", "create_app", "log_config", "route_of"]
log = logging.getLogger(__name__)
#: Routes whose body is a file (up to ``max_upload_mb``); every other body is capped at ``max_body_kb``.
#: (The builder's live estimate posts its form too, seed file included, but viewers use it: it stays under
#: ``max_body_kb``, 1 MB by default, about 100,000 ids; the build itself takes a larger file.)
UPLOAD_PATHS = (r"/api/v1/datasets/upload", r"/datasets/upload", r"/datasets/[^/]+/build",
                r"/campaigns/[0-9]+/outcomes")
#: The access log: one line per request with the route *template* (``/api/v1/customers/{customer_id}/forget``),
#: never the path itself, which holds customer ids, names of datasets and query strings.
ACCESS_LOGGER = "lookalike.access"


def route_of(scope: dict) -> str:
    """The matched route's template, e.g. ``/api/v1/datasets/{name}``; ``(no route)`` when none matched."""
    return getattr(scope.get("route"), "path", None) or "(no route)"


class RouteAccessLog:
    """ASGI middleware: logs method, route template, status and time of each request (``lookalike serve``
    turns uvicorn's own access log off: it writes the raw path, customer ids included)."""

    def __init__(self, app) -> None:
        self.app = app
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        t0 = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:  # the router wrote the matched route into the shared scope
            self.log.info("%s %s %s %.0f ms", scope.get("method"), route_of(scope), status[0],
                          (time.perf_counter() - t0) * 1000)


def log_config() -> dict:
    """uvicorn's logging configuration with its access log replaced by :class:`RouteAccessLog`'s."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["lookalike_access"] = {"formatter": "default", "class": "logging.StreamHandler",
                                              "stream": "ext://sys.stdout"}
    config["loggers"][ACCESS_LOGGER] = {"handlers": ["lookalike_access"], "level": "INFO", "propagate": False}
    return config


async def lookalike_error(request: Request, exc: LookalikeError) -> JSONResponse:
    """A refused request: the error's one line, with the HTTP status its class declares (server paths in
    it made relative to the workspace or cut: the client has no business knowing the server's layout)."""
    return JSONResponse({"detail": request.app.state.workspace.redact(str(exc))}, status_code=exc.http_status)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: JSON like every other answer; the details go to the server log, never to the client
    (an exception's text can hold a database URL or a file path)."""
    log.error("unexpected failure on %s %s: %s", request.method, route_of(request.scope), type(exc).__name__)
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
    app.state.workspace = Workspace(settings.make_home(), settings.data_dirs)
    app.state.engine = open_database(settings.database_url())
    app.state.jobs = JobRegistry(settings.workers, redact=app.state.workspace.redact)
    app.state.login_throttle = LoginThrottle()
    # added first, so it runs inside the session middleware (which decodes the login cookie for it)
    app.add_middleware(RequestGuard, engine=app.state.engine, max_body=settings.max_body_kb << 10,
                       max_upload=settings.max_upload_mb << 20, upload_paths=UPLOAD_PATHS)
    app.add_middleware(SessionMiddleware, secret_key=settings.secret(), session_cookie="lookalike_session",
                       max_age=SESSION_HOURS * 3600, same_site="lax", https_only=settings.https_only)
    # outermost: it logs every answer, the guard's refusals too, with the route template only
    app.add_middleware(RouteAccessLog)
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
