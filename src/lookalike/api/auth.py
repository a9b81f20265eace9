"""Who is calling the API: an API key (``X-API-Key`` or ``Authorization: Bearer``), nothing else.

``require("viewer")`` / ``require("editor")`` are FastAPI dependencies: no or a bad key gives 401,
a valid key with too small a role 403. The UI's login cookie does not open the API: a page on
another site could make the browser send it (CSRF), a key it cannot. The request guard
(:mod:`lookalike.api.guard`) has already checked the key before the body was read and left the
user in ``request.state``; the dependency checks again when it is used without the guard.

The dependencies are ``async``: FastAPI runs a sync dependency in a worker thread, and two thread
hops per request cost more under load than the indexed one-row lookup they would move off the loop.

:class:`LoginThrottle` slows down guessing on the UI's login form.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from lookalike.api.users import User, authenticate

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key from `lookalike users add`")
bearer = HTTPBearer(auto_error=False, description="the same API key as a Bearer token")
NO_KEY = "authentication required: send an API key in X-API-Key (or Authorization: Bearer)"
BAD_KEY = "invalid or revoked API key"


def request_key(headers) -> str | None:
    """The API key of a request: ``X-API-Key``, else an ``Authorization: Bearer`` token, else None."""
    key = (headers.get("x-api-key") or "").strip()
    if key:
        return key
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


async def current_user(
    request: Request,
    api_key: str | None = Depends(api_key_header),
    token: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> User:
    """The user behind the request's API key, or 401."""
    user = getattr(request.state, "api_user", None)
    key = api_key or (token.credentials if token else None)
    if user is None:
        user = authenticate(request.app.state.engine, key)
    if user is None:
        raise HTTPException(status_code=401, detail=BAD_KEY if key else NO_KEY,
                            headers={"WWW-Authenticate": "Bearer"})
    request.state.user = user
    return user


def require(role: str) -> Callable[..., User]:
    """A dependency that returns the user when their role includes ``role``, else 403."""

    async def check(user: User = Depends(current_user)) -> User:
        if not user.can(role):
            raise HTTPException(status_code=403, detail=role_message(user, role))
        return user

    return check


def role_message(user: User, role: str) -> str:
    """Why ``user`` may not do something that needs ``role``."""
    return f"user {user.name!r} has role {user.role}; this needs role {role} (ask an admin: lookalike users add)"


viewer = require("viewer")
editor = require("editor")


class LoginThrottle:
    """At most ``limit`` failed logins per ``window`` seconds per client address and per key prefix.

    Counted in this process's memory (one server process is assumed, docs/service.md); a key is
    256 random bits, so this is about not giving a guesser free attempts, not about entropy.

    >>> t = LoginThrottle(limit=2, window=60, clock=lambda: 100.0)
    >>> t.fail("ip:1", "key:a"); t.fail("ip:1")
    >>> t.retry_after("ip:1"), t.retry_after("ip:2", "key:a")
    (60, 0)
    """

    def __init__(self, limit: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, name: str, now: float) -> deque[float]:
        q = self._failures.get(name)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._failures[name]
        return q

    def retry_after(self, *names: str) -> int:
        """Seconds until any of ``names`` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            waits = [self._recent(n, now)[0] + self.window - now for n in names
                     if len(self._recent(n, now)) >= self.limit]
        return int(max(waits, default=0) + 0.999)

    def fail(self, *names: str) -> None:
        """Count one failed attempt against each of ``names``."""
        now = self.clock()
        with self._lock:
            for n in names:
                self._recent(n, now)
                self._failures.setdefault(n, deque()).append(now)
