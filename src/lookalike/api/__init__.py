"""The Lookalike service: one FastAPI app for the REST API (``/api/v1``) and the web UI.

>>> import tempfile
>>> from lookalike.api import Settings, create_app
>>> app = create_app(Settings(home=tempfile.mkdtemp(), session_secret="doc"))
>>> paths = app.openapi()["paths"]
>>> "/health" in paths and "/api/v1/datasets/{name}/audiences" in paths
True
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from lookalike.api.settings import Settings

__all__ = ["Settings", "create_app"]


def create_app(settings: Settings | None = None):
    """Build the app: workspace, database engine, job pool and session secret hang on ``app.state``."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.middleware.sessions import SessionMiddleware

    from lookalike import __version__
    from lookalike.api.jobs import JobRegistry
    from lookalike.api.routes import router
    from lookalike.api.workspace import NotFound, Workspace
    from lookalike.database import open_database
    from lookalike.errors import LookalikeError, UnknownCustomerError

    settings = settings or Settings()

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

    @app.exception_handler(LookalikeError)
    async def lookalike_error(request: Request, exc: LookalikeError):
        status = 404 if isinstance(exc, (UnknownCustomerError, NotFound)) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.get("/health", tags=["public"], response_model=dict)
    def health() -> dict:
        """Liveness: no key needed."""
        return {"status": "ok", "version": __version__}

    @app.get("/docs", include_in_schema=False)
    def docs():
        """The API explorer, with Swagger UI's files served from the package (FastAPI's default uses a CDN)."""
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(openapi_url="/openapi.json", title="Lookalike API",
                                   swagger_js_url="/static/swagger-ui-bundle.js",
                                   swagger_css_url="/static/swagger-ui.css", swagger_favicon_url="/static/favicon.png")

    app.include_router(router)
    from lookalike.web import mount_ui

    mount_ui(app)
    return app
