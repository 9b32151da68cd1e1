"""Typed WeCom errors. Each carries the API path (never the URL: it holds the access token)."""

from __future__ import annotations

from wechatpy.exceptions import WeChatClientException

BUSY = -1
TOKEN_INVALID, TOKEN_EXPIRED = 40014, 42001
FREQUENCY_LIMIT, CONCURRENCY_LIMIT = 45009, 45033
RETRYABLE_ERRCODES = frozenset({BUSY, FREQUENCY_LIMIT, CONCURRENCY_LIMIT})
TOKEN_ERRCODES = frozenset({TOKEN_INVALID, TOKEN_EXPIRED})


class WeComError(WeChatClientException):
    """Base of every error the client raises; ``transient`` says whether a later retry may work."""

    transient = False

    def __init__(self, errcode: int | None, errmsg: str, path: str) -> None:
        super().__init__(errcode, errmsg)
        self.path = path

    def __str__(self) -> str:
        return f"WeCom {self.path}: errcode {self.errcode} ({self.errmsg})"


class WeComAPIError(WeComError):
    """WeCom answered with a non-zero errcode."""


class WeComBusyError(WeComAPIError):
    transient = True


class WeComRateLimitedError(WeComAPIError):
    transient = True


class WeComTokenError(WeComAPIError):
    """gettoken refused the corp id or secret (40013, 40001): a configuration problem."""


class WeComNetworkError(WeComError):
    """No usable HTTP answer: connection refused, HTTP 5xx, or a body that is not JSON."""

    transient = True


class WeComTimeoutError(WeComNetworkError):
    pass


def api_error(errcode: int, errmsg: str, path: str) -> WeComAPIError:
    if errcode == BUSY:
        return WeComBusyError(errcode, errmsg, path)
    if errcode in (FREQUENCY_LIMIT, CONCURRENCY_LIMIT):
        return WeComRateLimitedError(errcode, errmsg, path)
    return WeComAPIError(errcode, errmsg, path)
