"""Simulator: a local qyapi for one corp, with recorded calls, injected faults and scenarios."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

from wecom_hr.simulator import (
    api_customers,
    api_directory,
    api_groupchats,
    api_messages,
    api_msgaudit,
    api_transfers,
    oauth,
)
from wecom_hr.simulator.gateway import Gateway
from wecom_hr.simulator.journal import Call, Delivery, Fault, Journal
from wecom_hr.simulator.models import Transfer
from wecom_hr.simulator.scenario import Scenario
from wecom_hr.simulator.sender import CallbackSender, Target
from wecom_hr.simulator.server import ServerThread, create_app
from wecom_hr.simulator.state import CorpState
from wecom_hr.simulator.tokens import TokenStore

log = logging.getLogger(__name__)
ROUTES = [*api_directory.ROUTES, *api_customers.ROUTES, *api_transfers.ROUTES, *api_groupchats.ROUTES,
          *api_messages.ROUTES, *api_msgaudit.ROUTES]
DEFAULT_SECRETS = {"app": "sim-app-secret", "contact": "sim-contact-secret", "archive": "sim-archive-secret"}


class Simulator:
    def __init__(self, corp_id: str = "wwsimulatedcorp0001", secrets: Mapping[str, str] | None = None,
                 agent_id: int = 1000002, token: str | None = None, encoding_aes_key: str | None = None,
                 callback_url: Target | None = None, latency: float = 0.0) -> None:
        self.corp_id, self.agent_id = corp_id, agent_id
        self.state = CorpState(corp_id, agent_id)
        self.journal = Journal()
        self.tokens = TokenStore(corp_id, dict(secrets or DEFAULT_SECRETS))
        self.latency = latency
        self.callback_url = callback_url
        self.sender = CallbackSender(token, encoding_aes_key, corp_id, agent_id) if token and encoding_aes_key \
            else None
        self.scenario = Scenario(self)
        self._gateway = Gateway(self.state, self.journal, self.tokens, ROUTES, lambda: self.latency)
        self._server: ServerThread | None = None

    def __repr__(self) -> str:
        return f"Simulator(corp_id={self.corp_id!r}, url={self._root() if self._server else None!r})"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Self:
        if self._server is None:
            app = create_app(self._gateway, lambda query: oauth.authorize(self.state, query),
                             lambda query: oauth.sso_login(self.state, query))
            self._server = ServerThread(app, self._gateway)
            self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"{self._root()}/cgi-bin"

    @property
    def oauth_authorize_url(self) -> str:
        return f"{self._root()}/connect/oauth2/authorize"

    def oauth_url(self, redirect_uri: str, state: str = "", userid: str | None = None) -> str:
        """The authorize URL WeCom's client would open; with ``userid`` it logs that member in."""
        query = {"appid": self.corp_id, "redirect_uri": redirect_uri, "response_type": "code",
                 "scope": "snsapi_base", "state": state, "agentid": str(self.agent_id)}
        return f"{self.oauth_authorize_url}?{urlencode({**query, **({'userid': userid} if userid else {})})}"

    @property
    def sso_login_url(self) -> str:
        """企业微信Web登录 (the QR page ordinary browsers are sent to): [web] sso_login_url."""
        return f"{self._root()}{oauth.SSO_PATH}"

    def sso_url(self, redirect_uri: str, state: str = "", userid: str | None = None) -> str:
        """The Web login URL the console sends a desktop browser to; ``userid`` stands for the QR scan."""
        query = {"login_type": "CorpApp", "appid": self.corp_id, "agentid": str(self.agent_id),
                 "redirect_uri": redirect_uri, "state": state}
        return f"{self.sso_login_url}?{urlencode({**query, **({'userid': userid} if userid else {})})}"

    def _root(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not started; call start() first")
        return f"http://127.0.0.1:{self._server.port}"

    # -- what happened -----------------------------------------------------------------------
    @property
    def calls(self) -> list[Call]:
        with self.journal.lock:
            return list(self.journal.calls)

    def calls_to(self, path: str) -> list[Call]:
        return self.journal.calls_to(_normal(path))

    def wait_for(self, path: str, predicate: Callable[[Call], bool] | None = None,
                 timeout: float = 5.0) -> Call:
        return self.journal.wait_for(_normal(path), predicate, timeout)

    @property
    def sent_messages(self) -> list[dict[str, Any]]:
        with self.journal.lock:
            return list(self.journal.sent_messages)

    @property
    def card_updates(self) -> list[dict[str, Any]]:
        with self.journal.lock:
            return list(self.journal.card_updates)

    @property
    def deliveries(self) -> list[Delivery]:
        with self.journal.lock:
            return list(self.journal.deliveries)

    def inbox(self, userid: str) -> list[dict[str, Any]]:
        """Messages the member actually received (WeCom silently drops > 30/min, > 1000/h)."""
        with self.journal.lock:
            return list(self.journal.inboxes.get(userid, []))

    @property
    def dropped_messages(self) -> int:
        return self.journal.dropped_messages

    @property
    def gettoken_count(self) -> int:
        return self.tokens.issued_count

    @property
    def connections_accepted(self) -> int:
        """TCP connections the HTTP server has accepted (qyapi keeps connections alive)."""
        return self._server.connections_accepted if self._server else 0

    # -- steering ----------------------------------------------------------------------------
    def inject(self, path: str, errcode: int | None = -1, http_status: int | None = None,
               delay: float = 0.0, times: int | None = 1) -> None:
        """Make the next ``times`` calls to ``path`` ("*" = any) fail; errcode 0 = only delay."""
        with self.journal.lock:
            self.journal.faults.append(Fault(_normal(path), errcode, http_status, delay, times))

    def clear_faults(self) -> None:
        with self.journal.lock:
            self.journal.faults.clear()

    def expire_tokens(self) -> None:
        self.tokens.expire_all()

    def oauth_code_for(self, userid: str) -> str:
        with self.state.lock:
            return self.state.mint_oauth_code(userid)

    def set_transfer_error(self, external_userid: str, errcode: int) -> None:
        with self.state.lock:
            self.state.transfer_errors[external_userid] = errcode

    def complete_transfers(self, refuse: Iterable[str] = (), at_limit: Iterable[str] = (),
                           notify: bool = False) -> list[Transfer]:
        """Finish waiting transfers; with ``notify`` also send the callbacks WeCom sends then."""
        finished = api_transfers.complete_waiting(self.state, refuse, at_limit)
        if notify:
            for transfer in finished:
                for xml in api_transfers.transfer_events(self.corp_id, transfer):
                    self.deliver_callback(xml)
        return finished

    def deliver_callback(self, xml: str) -> list[int]:
        """Deliver to ``callback_url`` with WeCom's retries; no URL = state change only."""
        target = self.callback_url
        statuses: list[int] = []
        if target is not None:
            if self.sender is None:
                raise RuntimeError("callbacks need Simulator(token=..., encoding_aes_key=...)")
            statuses = self.sender.deliver_until_ok(target, xml)
            if statuses[-1] != 200:
                log.warning("callback not accepted after %d attempts: %s", len(statuses), statuses)
        with self.journal.lock:
            self.journal.deliveries.append(Delivery(xml, statuses))
        return statuses


def _normal(path: str) -> str:
    path = path.strip("/")
    return path.removeprefix("cgi-bin/")

