"""A started simulator per test and a tiny qyapi client (plain requests) to talk to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from wecom_hr.simulator import Simulator

SECRETS = {"app": "s1", "contact": "s2", "archive": "s3"}
AGENT_ID = 1000002


class Api:
    """Just enough client: fetch a token for one secret, then GET/POST JSON."""

    def __init__(self, sim: Simulator, secret: str = "s1") -> None:
        self.sim, self.http = sim, requests.Session()
        self.token = self.get("gettoken", corpid=TEST_CORP, corpsecret=secret)["access_token"]

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        if path != "gettoken":
            params.setdefault("access_token", self.token)
        reply: dict[str, Any] = self.http.get(f"{self.sim.base_url}/{path}", params=params, timeout=5).json()
        return reply

    def post(self, path: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        params.setdefault("access_token", self.token)
        reply: dict[str, Any] = self.http.post(f"{self.sim.base_url}/{path}", params=params, json=body,
                                               timeout=5).json()
        return reply


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(corp_id=TEST_CORP, secrets=SECRETS, agent_id=AGENT_ID, token=TEST_TOKEN,
                   encoding_aes_key=TEST_AES_KEY) as simulator:
        yield simulator


@pytest.fixture
def api(sim: Simulator) -> Iterator[Api]:
    client = Api(sim)
    yield client
    client.http.close()
