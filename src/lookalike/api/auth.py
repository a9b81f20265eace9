"""Who is calling: an API key (``X-API-Key`` or ``Authorization: Bearer``) or the UI's login session.

``require("viewer")`` / ``require("editor")`` are FastAPI dependencies: no or a bad key gives 401,
a valid key with too small a role 403. The session holds only the user's name; the user is
looked up on every request, so removing a user ends their sessions too.

The dependencies are ``async``: FastAPI runs a sync dependency in a worker thread, and two thread
hops per request cost more under load than the indexed one-row lookup they would move off the loop.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from lookalike.api.users import User, authenticate, get_user

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key from `lookalike users add`")
bearer = HTTPBearer(auto_error=False, description="the same API key as a Bearer token")


def resolve_user(request: Request, key: str | None = None) -> User | None:
    """The user behind a key, else behind the login session, else None."""
    engine = request.app.state.engine
    if key:
        return authenticate(engine, key)
    name = request.session.get("user") if "session" in request.scope else None
    return get_user(engine, name) if name else None


async def current_user(
    request: Request,
    api_key: str | None = Depends(api_key_header),
    token: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> User:
    """The authenticated user, or 401."""
    key = api_key or (token.credentials if token else None)
    user = resolve_user(request, key)
    if user is None:
        detail = "invalid or revoked API key" if key else \
            "authentication required: send an API key in X-API-Key (or Authorization: Bearer), or log in"
        raise HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})
    request.state.user = user
    return user


def require(role: str) -> Callable[..., User]:
    """A dependency that returns the user when their role includes ``role``, else 403."""

    async def check(user: User = Depends(current_user)) -> User:
        if not user.can(role):
            raise HTTPException(status_code=403, detail=f"user {user.name!r} has role {user.role}; "
                                                         f"this needs role {role} (ask an admin: lookalike users add)")
        return user

    return check


viewer = require("viewer")
editor = require("editor")
