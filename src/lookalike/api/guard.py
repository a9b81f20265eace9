"""The request guard: who is calling, from where, and how big the body may be — before any of it is read.

FastAPI reads a route's body (and spools a multipart upload to disk) before it runs the route's
dependencies, so a key checked by a dependency is checked too late: an anonymous client could make
the server read, parse and store 60 MB first. :class:`RequestGuard` is a pure ASGI middleware
(``BaseHTTPMiddleware`` would read the body itself) that answers from the headers alone:

* ``/api/v1``: the API key (``X-API-Key`` or ``Authorization: Bearer``) must be valid, else 401; an
  upload route also needs the editor role, else 403. The login cookie is not looked at.
* other state-changing requests (the UI's forms): a request carrying the login cookie whose
  ``Origin`` (else ``Referer``) is another site, or whose ``Sec-Fetch-Site`` says cross-site, is
  refused (403); every form also carries a CSRF token the route checks. Except for the public
  ``/login``, a live login session is needed, else 303 to the login page.
* the body: ``Content-Length`` above the route's cap → 413 at once; a body streamed without one is
  counted as it arrives and cut off with 413 as soon as it crosses the cap. Upload routes take
  ``max_upload`` bytes, every other route ``max_body``.

The Starlette/FastAPI body limit (``max_body_size``) is fixed per route when the module is imported
and is not in the FastAPI versions this package supports; the upload cap is a runtime setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lookalike.api.auth import BAD_KEY, NO_KEY, request_key, role_message
from lookalike.api.users import authenticate, session_user

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class _BodyTooLarge(Exception):
    """Raised into the app by the guarded ``receive`` once the body crosses its cap."""


def same_origin(headers: Headers) -> bool:
    """False when the browser says the request comes from another site (``Sec-Fetch-Site``,
    ``Origin`` or, without one, ``Referer`` naming another host than ``Host``).

    Without any of them (a non-browser client) the answer is True: the CSRF token decides.

    >>> same_origin(Headers({"host": "crm.example:8000", "origin": "http://crm.example:8000"}))
    True
    >>> same_origin(Headers({"host": "crm.example:8000", "origin": "https://evil.example"}))
    False
    """
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    source = headers.get("origin") or headers.get("referer")
    if source is None:
        return True
    host = (headers.get("host") or "").lower()
    return source != "null" and bool(host) and urlsplit(source).netloc.lower() == host


def _size(n: int) -> str:
    return f"{n >> 20} MB" if n >= 1 << 20 else f"{max(n >> 10, 1)} KB"


class RequestGuard:
    """Pure ASGI middleware: authentication, same-origin check and body caps before the body is read.

    It must run inside Starlette's ``SessionMiddleware`` (add it to the app first), which decodes the
    login cookie into ``scope["session"]``.
    """

    def __init__(self, app: ASGIApp, *, engine: sa.Engine, max_body: int, max_upload: int,
                 upload_paths: Iterable[str] = (), api_prefix: str = "/api/v1", public: Iterable[str] = ("/login",),
                 session_cookie: str = "lookalike_session"):
        self.app = app
        self.engine = engine
        self.max_body, self.max_upload = int(max_body), int(max_upload)
        self.uploads = [re.compile(p) for p in upload_paths]
        self.api_prefix = api_prefix
        self.public = frozenset(public)
        self.session_cookie = session_cookie

    def _is_api(self, path: str) -> bool:
        return path == self.api_prefix or path.startswith(self.api_prefix + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        headers = Headers(scope=scope)
        api = self._is_api(path)
        upload = any(p.fullmatch(path) for p in self.uploads)
        state = scope.setdefault("state", {})
        if api:
            key = request_key(headers)
            user = authenticate(self.engine, key) if key else None
            if user is None:
                await self._reject(scope, receive, send, 401, BAD_KEY if key else NO_KEY, api,
                                   {"WWW-Authenticate": "Bearer"})
                return
            if upload and not user.can("editor"):
                await self._reject(scope, receive, send, 403, role_message(user, "editor"), api)
                return
            state["api_user"] = user
        elif method not in SAFE_METHODS:
            if self.session_cookie in _cookie_names(headers) and not same_origin(headers):
                await self._reject(scope, receive, send, 403, "cross-site request refused: submit the form from "
                                   "the Lookalike page itself", api)
                return
            if path not in self.public:
                user = session_user(self.engine, (scope.get("session") or {}).get("sid"))
                if user is None:
                    await RedirectResponse(f"/login?next={quote(path)}", status_code=303)(scope, receive, send)
                    return
                if upload and not user.can("editor"):
                    await self._reject(scope, receive, send, 403, role_message(user, "editor"), api)
                    return
                state["ui_user"] = user
        limit = self.max_upload if upload else self.max_body
        length = headers.get("content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > limit):
            await self._reject(scope, receive, send, 413, self._too_large(limit, upload), api)
            return
        await self._capped(scope, receive, send, limit, upload, api)

    def _too_large(self, limit: int, upload: bool) -> str:
        if upload:
            return (f"the upload is larger than {_size(limit)}; register the file on the server "
                    "(POST /api/v1/datasets/register) or raise LOOKALIKE_MAX_UPLOAD_MB")
        return f"the request body is larger than {_size(limit)}; send less (or raise LOOKALIKE_MAX_BODY_KB)"

    async def _capped(self, scope: Scope, receive: Receive, send: Send, limit: int, upload: bool, api: bool) -> None:
        """Run the app with a ``receive`` that stops the body at ``limit`` bytes and answers 413."""
        received = 0
        over = started = False

        async def capped_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _BodyTooLarge
            return message

        async def checked_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # whatever the app answers to a cut-off body, the client gets the 413 below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, capped_receive, checked_send)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self._reject(scope, receive, send, 413, self._too_large(limit, upload), api)

    @staticmethod
    async def _reject(scope: Scope, receive: Receive, send: Send, status: int, message: str, api: bool,
                      headers: dict[str, str] | None = None) -> None:
        # the body is never read: the server closes the connection after answering
        response = (JSONResponse({"detail": message}, status_code=status, headers=headers) if api
                    else PlainTextResponse(message, status_code=status, headers=headers))
        await response(scope, receive, send)


def _cookie_names(headers: Headers) -> set[str]:
    return {part.split("=", 1)[0].strip() for h in headers.getlist("cookie") for part in h.split(";")}


__all__ = ["RequestGuard", "SAFE_METHODS", "same_origin"]
