"""WeComClient: wechatpy's work client with a configurable base URL, a shared token cache,
bounded retries with backoff, typed errors and per-call metrics. Secrets never reach a log line.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import requests
from wechatpy.work import WeChatClient

from wecom_hr.logs import protect_http_loggers
from wecom_hr.wecom import errors
from wecom_hr.wecom.extra import WeComExtraAPI
from wecom_hr.wecom.tokens import MemoryTokenStore, TokenStore, cache_key

log = logging.getLogger(__name__)

# Calls whose effect may have happened when the answer is lost (timeout, HTTP 5xx, reset): sending
# them again could transfer a batch twice. Callers reconcile through transfer_result instead.
NOT_RESENDABLE = frozenset({
    "externalcontact/transfer_customer", "externalcontact/resigned/transfer_customer",
    "externalcontact/groupchat/transfer", "externalcontact/groupchat/onjob_transfer",
})

Observer = Callable[[str, int | None, float], None]  # (path, errcode or None for network, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4          # the first call plus three retries, as WeCom's docs advise
    backoff: float = 0.2       # seconds, doubled each retry, with jitter
    backoff_max: float = 5.0


def settle_environment(session: requests.Session, base_url: str) -> None:
    """Read the proxy and CA-bundle settings (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE...) for
    ``base_url`` from the environment once, as the client is made, instead of on every call: requests
    scans the whole environment and looks for a .netrc file per request, about 0.1 ms each time,
    which a resync's thousand calls pay on the thread the pool writer needs too. A changed proxy
    setting takes effect when the process restarts."""
    if not session.trust_env:
        return
    found = session.merge_environment_settings(f"{base_url}/", {}, None, None, None)
    for scheme, proxy in found["proxies"].items():
        session.proxies.setdefault(scheme, proxy)
    if session.verify is True and isinstance(found["verify"], str):
        session.verify = found["verify"]
    session.trust_env = False


class WeComClient(WeChatClient):
    extra = WeComExtraAPI()

    def __init__(self, corp_id: str, secret: str, base_url: str, *, tokens: TokenStore | None = None,
                 timeout: float = 10.0, retry: RetryPolicy | None = None, observer: Observer | None = None,
                 session: requests.Session | None = None) -> None:
        super().__init__(corp_id, secret, timeout=timeout, auto_retry=False)
        protect_http_loggers()
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens or MemoryTokenStore()
        self._token_key = cache_key(corp_id, secret)
        self._retry = retry or RetryPolicy()
        self._observer = observer
        if session is not None:
            self._http = session
        self._http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
        self._http.mount("https://", requests.adapters.HTTPAdapter(pool_maxsize=32))
        settle_environment(self._http, self.base_url)

    def __repr__(self) -> str:
        return f"WeComClient(corp_id={self.corp_id!r}, base_url={self.base_url!r})"

    # -- tokens -------------------------------------------------------------------------------
    @property
    def access_token(self) -> str:
        return self._tokens.get(self._token_key, self._fetch_token)

    def fetch_access_token(self) -> dict[str, Any]:
        token, expires_in = self._fetch_token()
        return {"access_token": token, "expires_in": expires_in}

    def _fetch_token(self) -> tuple[str, int]:
        params = {"corpid": self.corp_id, "corpsecret": self.secret}
        result = self._call("GET", "gettoken", params=params, with_token=False)
        return str(result["access_token"]), int(result.get("expires_in", 7200))

    # -- requests -----------------------------------------------------------------------------
    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        """wechatpy's API classes land here; the URL is always rebuilt from our base URL."""
        kwargs.pop("api_base_url", None)
        processor = kwargs.pop("result_processor", None)
        path = url_or_endpoint.split("/cgi-bin/", 1)[-1].lstrip("/")
        data = kwargs.pop("data", None)
        result = self._call(method.upper(), path, params=kwargs.pop("params", None), body=data)
        return processor(result) if processor else result

    def call(self, method: str, path: str, params: dict[str, Any] | None = None,
             body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Public entry for endpoints wechatpy lacks: ``client.call("POST", "externalcontact/...", body=...)``."""
        return self._call(method, path, params=params, body=body)

    def _call(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None,
              with_token: bool = True) -> dict[str, Any]:
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            token = self.access_token if with_token else ""
            try:
                return self._once(method, path, params, body, token)
            except errors.WeComAPIError as exc:
                if with_token and exc.errcode in errors.TOKEN_ERRCODES and not refreshed:
                    self._tokens.invalidate(self._token_key, token)
                    refreshed = True  # one refresh per call: a token that fails twice is not stale
                    attempt -= 1
                    continue
                if not exc.transient or attempt >= self._retry.attempts:
                    raise
                self._sleep(attempt, path, exc)
            except errors.WeComNetworkError as exc:
                if attempt >= self._retry.attempts or path in NOT_RESENDABLE:
                    raise
                self._sleep(attempt, path, exc)

    def _sleep(self, attempt: int, path: str, exc: Exception) -> None:
        delay = min(self._retry.backoff * 2 ** (attempt - 1), self._retry.backoff_max)
        delay *= 0.5 + random.random() / 2
        log.warning("wecom call %s failed (%s); retry %d in %.2fs", path, type(exc).__name__, attempt, delay)
        time.sleep(delay)

    def _once(self, method: str, path: str, params: dict[str, Any] | None, body: Any, token: str) -> dict[str, Any]:
        query = dict(params or {})
        if token:
            query["access_token"] = token
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body, ensure_ascii=False).encode()
        started = time.perf_counter()
        errcode: int | None = None
        try:
            try:
                res = self._http.request(method, f"{self.base_url}/{path}", params=query, data=data,
                                         timeout=self.timeout or 10.0)
            except requests.Timeout:
                raise errors.WeComTimeoutError(None, "timed out", path) from None
            except requests.RequestException as exc:
                raise errors.WeComNetworkError(None, type(exc).__name__, path) from None
            if res.status_code >= 500:
                raise errors.WeComNetworkError(None, f"HTTP {res.status_code}", path)
            try:
                result = orjson.loads(res.content)  # a resync decodes thousands of 100-customer pages
            except ValueError:
                raise errors.WeComNetworkError(None, f"HTTP {res.status_code}, body is not JSON", path) from None
            errcode = int(result.get("errcode", 0) or 0) if isinstance(result, dict) else 0
            if errcode:
                errmsg = str(result.get("errmsg", ""))
                if path == "gettoken" and errcode in (40001, 40013, 40091):
                    raise errors.WeComTokenError(errcode, errmsg, path)
                raise errors.api_error(errcode, errmsg, path)
            return result
        finally:
            if self._observer:
                self._observer(path, errcode, time.perf_counter() - started)
