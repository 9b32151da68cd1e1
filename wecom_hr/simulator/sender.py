"""CallbackSender: encrypts, signs and posts callbacks exactly as WeCom does."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

import requests

from wecom_hr.crypto import WXBizMsgCrypt
from wecom_hr.simulator.events import element

log = logging.getLogger(__name__)

Target = str | Callable[[dict[str, str], bytes], int]
WECOM_ATTEMPTS = 3       # WeCom tries a callback three times in all
WECOM_TIMEOUT = 5.0      # and gives up on an answer slower than five seconds


class CallbackSender:
    def __init__(self, token: str, encoding_aes_key: str, corp_id: str,
                 agent_id: int | str | None = None, timeout: float = WECOM_TIMEOUT) -> None:
        self._crypt = WXBizMsgCrypt(token, encoding_aes_key, corp_id)
        self.corp_id = corp_id
        self.agent_id = "" if agent_id is None else str(agent_id)
        self.timeout = timeout
        self.last_echo = ""

    def __repr__(self) -> str:
        return f"CallbackSender(corp_id={self.corp_id!r})"

    def envelope(self, xml: str, timestamp: str | int | None = None,
                 nonce: str | None = None) -> tuple[dict[str, str], bytes]:
        """Query params and POST body for one delivery (fresh ciphertext every call)."""
        sealed = self._crypt.seal(xml.encode(), str(timestamp or int(time.time())), nonce or _nonce())
        body = ("<xml>" + element("ToUserName", self.corp_id) + element("Encrypt", sealed.encrypt)
                + element("AgentID", self.agent_id) + "</xml>")
        params = {"msg_signature": sealed.msg_signature, "timestamp": sealed.timestamp,
                  "nonce": sealed.nonce}
        return params, body.encode()

    def deliver(self, target: Target, xml: str, times: int = 1) -> list[int]:
        """Post ``times`` times, re-encrypted each time as WeCom's retries are; 0 = no answer."""
        return [self._post(target, *self.envelope(xml)) for _ in range(times)]

    def deliver_until_ok(self, target: Target, xml: str, attempts: int = WECOM_ATTEMPTS) -> list[int]:
        """WeCom's policy: retry on anything but HTTP 200, three attempts in all."""
        statuses: list[int] = []
        while len(statuses) < attempts and (not statuses or statuses[-1] != 200):
            statuses.append(self._post(target, *self.envelope(xml)))
        return statuses

    def echostr_params(self, echo: str) -> dict[str, str]:
        """The GET verification query for ``echo`` (for Flask's test client)."""
        sealed = self._crypt.seal(echo.encode(), str(int(time.time())), _nonce())
        return {"msg_signature": sealed.msg_signature, "timestamp": sealed.timestamp,
                "nonce": sealed.nonce, "echostr": sealed.encrypt}

    def url_check(self, target_url: str, echo: str | None = None) -> requests.Response:
        """WeCom's URL verification; the answer must be ``echo`` (kept in ``last_echo``)."""
        self.last_echo = echo if echo is not None else str(secrets.randbelow(10**19))
        return requests.get(target_url, params=self.echostr_params(self.last_echo), timeout=self.timeout)

    def _post(self, target: Target, params: dict[str, str], body: bytes) -> int:
        if callable(target):
            return int(target(params, body))
        try:
            response = requests.post(target, params=params, data=body, timeout=self.timeout,
                                     headers={"Content-Type": "text/xml"})
        except requests.RequestException as error:
            log.info("callback delivery got no answer: %s", type(error).__name__)
            return 0
        return response.status_code


def _nonce() -> str:
    return str(secrets.randbelow(9 * 10**9) + 10**9)
