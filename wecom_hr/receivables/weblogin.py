"""The follow-up page signs in through the console's WeCom login (wecom_hr.web.login) and shares its
session and CSRF token; it keeps its own callback path so links already sent in WeCom still work.
"""

from __future__ import annotations

from wecom_hr.config import Settings
from wecom_hr.web import login
from wecom_hr.web.guard import csrf_ok, csrf_token

__all__ = ["CALLBACK_PATH", "LoginError", "authorize_url", "complete", "csrf_ok", "csrf_token", "safe_next"]

CALLBACK_PATH = "/receivables/oauth"
DEFAULT_NEXT = "/receivables/followup"
LoginError = login.LoginError


def safe_next(path: str) -> str:
    return login.safe_next(path, DEFAULT_NEXT)


def authorize_url(settings: Settings, next_path: str) -> str:
    return login.authorize_url(settings, safe_next(next_path), CALLBACK_PATH)


def complete(code: str, state: str) -> str:
    """Exchange the code for a userid and log the browser in; returns where to go next."""
    return login.complete(code, state, DEFAULT_NEXT)
