"""The path every qyapi call takes: record, latency and faults, token, body, endpoint, reply."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from wecom_hr.simulator.errors import ApiError, errmsg
from wecom_hr.simulator.journal import Call, Fault, Journal
from wecom_hr.simulator.routing import ApiContext, Payload, Route
from wecom_hr.simulator.state import CorpState
from wecom_hr.simulator.tokens import TokenStore

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, state: CorpState, journal: Journal, tokens: TokenStore, routes: Iterable[Route],
                 latency: Callable[[], float]) -> None:
        self.state, self.journal, self.tokens = state, journal, tokens
        self.routes = {route.path: route for route in routes}
        self._latency = latency

    def handle(self, method: str, path: str, query: dict[str, str], raw_body: bytes) -> tuple[int, Payload]:
        at = time.time()
        body = _parse(raw_body)
        fault = self.journal.take_fault(path)
        delay = self._latency() + (fault.delay if fault else 0.0)
        if delay > 0:
            time.sleep(delay)
        if fault is not None and (fault.errcode or fault.http_status):
            status, payload, secret_name = _fault_reply(fault)
        else:
            status, payload, secret_name = self._answer(method, path, query, body)
        self.journal.record(Call(method, path, query, body if isinstance(body, dict) else None,
                                 int(payload.get("errcode", 0)), at, status, secret_name))
        return status, payload

    def _answer(self, method: str, path: str, query: dict[str, str],
                body: Any) -> tuple[int, Payload, str | None]:
        route = self.routes.get(path)
        if route is None:
            return 404, {"errcode": 404, "errmsg": errmsg(404, path)}, None
        try:
            secret_name = self._authorise(route, query)
            ctx = ApiContext(self.state, self.journal, self.tokens, query, _body_for(route, method, body),
                             secret_name)
            payload = route.handler(ctx)
        except ApiError as error:
            return 200, error.payload(), None
        except Exception:  # a simulator bug: make it loud, like qyapi's "system busy"
            log.exception("simulator endpoint %s failed", path)
            return 500, {"errcode": -1, "errmsg": errmsg(-1)}, None
        return 200, {"errcode": 0, "errmsg": "ok", **payload}, secret_name

    def _authorise(self, route: Route, query: dict[str, str]) -> str | None:
        if not route.needs_token:
            return None
        token = query.get("access_token", "")
        if not token:
            raise ApiError(41001)
        errcode, secret_name = self.tokens.check(token)
        if errcode:
            raise ApiError(errcode)
        return secret_name


def _parse(raw_body: bytes) -> Any:
    if not raw_body:
        return None
    try:
        return json.loads(raw_body)
    except ValueError:
        return _UNPARSABLE


_UNPARSABLE = object()


def _body_for(route: Route, method: str, body: Any) -> dict[str, Any]:
    if route.method == "GET":
        return body if isinstance(body, dict) else {}
    if method != "POST":
        raise ApiError(43002)
    if not isinstance(body, dict):
        raise ApiError(47001)
    return body


def _fault_reply(fault: Fault) -> tuple[int, Payload, None]:
    errcode = fault.errcode if fault.errcode is not None else -1
    return fault.http_status or 200, {"errcode": errcode, "errmsg": errmsg(errcode)}, None
