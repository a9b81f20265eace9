"""The web UI: server-rendered Jinja2 pages with HTMX (vendored, no CDN), in Spanish and English.

:func:`mount_ui` adds the pages, the static files and the login flow to the app built by
:func:`lookalike.server.create_app`; the UI calls the same service functions as the REST API.
"""

from __future__ import annotations

__all__ = ["mount_ui"]


def mount_ui(app) -> None:
    """Add static files (``/static``) and the UI routes to ``app``."""
    from importlib import resources

    from fastapi.staticfiles import StaticFiles

    from lookalike.web import build, campaigns
    from lookalike.web.routes import LoginRequired, login_redirect, router

    static = resources.files("lookalike.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.include_router(router)
    app.include_router(build.router)
    app.include_router(campaigns.router)
    app.add_exception_handler(LoginRequired, login_redirect)
