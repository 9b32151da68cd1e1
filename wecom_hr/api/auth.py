"""Who is calling: a bearer token from [[api.tokens]] (or a console session), and what they may do.

Roles come from [roles]; "manager" is not configured but derived from the directory by the features
that need it. Access checks (e.g. a departed member's revoked access) are listed in ACCESS_CHECKS.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, jsonify, request, session

from wecom_hr.api import messages
from wecom_hr.departures.revocation import departed_access
from wecom_hr.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ApiUser:
    userid: str
    roles: frozenset[str]

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class AccessDenied(Exception):
    """A refusal of ``status``: the English ``message`` stays the ``error`` key; ``code`` (optional)
    picks the Chinese text in wecom_hr.api.messages, which otherwise finds it from the message."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


# Callables (runtime, userid) -> reason string when the member may no longer act, else None.
ACCESS_CHECKS: list[Callable[[Runtime, str], str | None]] = [departed_access]  # issue 5: from the last day


def runtime() -> Runtime:
    return current_app.extensions["wecom_hr"]


def _userid_from_request(rt: Runtime) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        given = header[7:].strip().encode()
        for tok in rt.settings.api_tokens:
            if hmac.compare_digest(tok.token.encode(), given):
                return tok.userid
        return None
    userid = session.get("userid")
    return userid if isinstance(userid, str) else None


def api_user() -> ApiUser:
    """The authenticated caller, or AccessDenied(401/403)."""
    cached = g.get("api_user")
    if cached is not None:
        return cached
    rt = runtime()
    userid = _userid_from_request(rt)
    if not userid:
        raise AccessDenied(401, "missing or unknown credentials", "unauthenticated")
    for check in ACCESS_CHECKS:
        reason = check(rt, userid)
        if reason:
            raise AccessDenied(403, reason, "access_revoked")
    user = ApiUser(userid, rt.settings.roles.of(userid))
    g.api_user = user
    return user


def require_roles(*roles: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = api_user()
            if roles and not user.has(*roles):
                raise AccessDenied(403, "your role does not allow this", "role_forbidden")
            return view(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


def error_json(status: int, message: str, code: str | None = None) -> Any:
    """A JSON error: ``error`` (English, as before), a stable ``code`` and the Chinese ``message``."""
    return jsonify(messages.error_body(status, message, code)), status


def error_response(exc: AccessDenied) -> Any:
    return error_json(exc.status, str(exc), exc.code)
