"""Login attempts per client address: each anonymous /login or /oauth/callback may cost a WeCom call
(``auth/getuserinfo``), so an address gets [web] login_attempts_per_minute of them (default 30).

The count lives in Redis when configured (shared by every process), else in this process. Behind a
reverse proxy set [web] proxy_hops so the client's address, not the proxy's, is counted.
"""

from __future__ import annotations

import threading
import time

from flask import current_app, request

from wecom_hr.api.auth import runtime
from wecom_hr.config import get

DEFAULT_PER_MINUTE = 30
_lock = threading.Lock()


def per_minute() -> int:
    limit: int = get(runtime().settings.section("web"), "web", "login_attempts_per_minute", int, DEFAULT_PER_MINUTE)
    return limit


def _countlocally(address: str, minute: int) -> int:
    local: dict[tuple[str, int], int] = current_app.extensions.setdefault("wecom_hr.login_attempts", {})
    with _lock:
        for key in [k for k in local if k[1] < minute]:
            del local[key]
        local[(address, minute)] = local.get((address, minute), 0) + 1
        return local[(address, minute)]


def _count(address: str, minute: int) -> int:
    rt = runtime()
    if rt.redis is not None:
        key = f"{rt.settings.redis_prefix}login:{address}:{minute}"
        try:
            pipe = rt.redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, 120)
            return int(pipe.execute()[0])
        except Exception:  # Redis is optional at run time: fall back to this process's count
            pass
    return _countlocally(address, minute)


def allow_attempt() -> bool:
    """Count one login attempt of the calling address; False once it is over the minute's limit."""
    limit = per_minute()
    if limit <= 0:
        return True
    return _count(request.remote_addr or "-", int(time.time() // 60)) <= limit
