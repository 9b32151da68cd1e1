"""A whole wecom-hr on the test database, talking to a real simulator over HTTP.

    env = make_env(db)                      # or the `wecom_env` fixture
    env.sim.scenario.add_customer(...)      # the simulator changes state and calls back
    env.drain()                             # handle stored events, deliver queued messages
    env.sim.sent_messages                   # what WeCom received
"""

from __future__ import annotations

import copy
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask
from flask.testing import FlaskClient

from storage.db import Database
from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from wecom_hr.app import create_app
from wecom_hr.config import Settings, settings_from_mapping
from wecom_hr.dispatch import Dispatcher, Route
from wecom_hr.outbox import deliver
from wecom_hr.runtime import Runtime
from wecom_hr.wecom.client import RetryPolicy

T = TypeVar("T")
SECRETS = {"app": "app-secret-0123456789", "contact": "contact-secret-0123456789",
           "archive": "archive-secret-0123456789"}
AGENT_ID = 1000002
FAST_RETRY = RetryPolicy(attempts=4, backoff=0.01, backoff_max=0.05)


def merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def base_config(api_base_url: str, db_url: str, **extra: Any) -> dict[str, Any]:
    raw = {
        "wecom": {"corp_id": TEST_CORP, "agent_id": AGENT_ID, "secret": SECRETS["app"],
                  "contact_secret": SECRETS["contact"], "archive_secret": SECRETS["archive"],
                  "token": TEST_TOKEN, "encoding_aes_key": TEST_AES_KEY, "api_base_url": api_base_url,
                  "timeout_seconds": 5.0},
        "database": {"url": db_url},
        "worker": {"poll_seconds": 0.05, "backoff_seconds": 0.01, "max_attempts": 3},
    }
    return merge(raw, extra)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WecomEnv:
    sim: Any
    settings: Settings
    runtime: Runtime
    app: Flask
    client: FlaskClient
    dispatcher: Dispatcher
    statuses: list[int] = field(default_factory=list)

    def post_callback(self, params: Mapping[str, str], body: bytes) -> int:
        res = self.client.post("/wecom/callback", query_string=dict(params), data=body,
                               content_type="application/xml")
        self.statuses.append(res.status_code)
        return res.status_code

    def deliver(self, xml: str, times: int = 1) -> list[int]:
        """Send a raw event as WeCom would (each retry re-encrypted)."""
        return [self.post_callback(*self.sim_sender.envelope(xml)) for _ in range(times)]

    @property
    def sim_sender(self) -> Any:
        from wecom_hr.simulator import CallbackSender

        return CallbackSender(TEST_TOKEN, TEST_AES_KEY, TEST_CORP)

    def drain(self, rounds: int = 50) -> int:
        """Handle every due event and send every due message, until nothing is left."""
        total = 0
        for _ in range(rounds):
            busy = self.dispatcher.drain(limit=1000) + deliver(self.runtime, limit=1000)
            total += busy
            if not busy:
                return total
        raise AssertionError("inbox/outbox did not become idle")

    def api(self, method: str, path: str, userid: str, **kwargs: Any) -> Any:
        token = next(t.token for t in self.settings.api_tokens if t.userid == userid)
        headers = dict(kwargs.pop("headers", {}), Authorization=f"Bearer {token}")
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def close(self) -> None:
        self.sim.stop()
        self.runtime.close()


def make_env(db: Database, config: Mapping[str, Any] | None = None, routes: list[Route] | None = None,
             redis: Any = None, latency: float = 0.0, api_users: tuple[str, ...] = ()) -> WecomEnv:
    from handlers import ROUTES
    from wecom_hr.simulator import Simulator

    sim = Simulator(corp_id=TEST_CORP, secrets=dict(SECRETS), agent_id=AGENT_ID, token=TEST_TOKEN,
                    encoding_aes_key=TEST_AES_KEY, latency=latency).start()
    extra = dict(config or {})
    if api_users:
        tokens = [{"token": f"token-for-{u}-0123456789abcdef", "userid": u} for u in api_users]
        extra = merge(extra, {"api": {"tokens": tokens}})
    settings = settings_from_mapping(base_config(sim.base_url, db.url, **extra), environ={})
    runtime = Runtime(settings, db=db, redis=redis, retry=FAST_RETRY)
    app = create_app(settings, runtime)
    app.testing = True
    env = WecomEnv(sim, settings, runtime, app, app.test_client(), Dispatcher(runtime, routes or ROUTES))
    sim.callback_url = env.post_callback
    return env


def config_toml(api_base_url: str, db_url: str, extra: str = "", secrets: dict[str, str] | None = None) -> str:
    """A config file's text for subprocess and CLI tests: the test corp's [wecom], a database, and
    any extra TOML (sections of the test's own)."""
    s = secrets or SECRETS
    return f"""
[wecom]
corp_id = "{TEST_CORP}"
agent_id = {AGENT_ID}
secret = "{s['app']}"
contact_secret = "{s['contact']}"
archive_secret = "{s['archive']}"
token = "{TEST_TOKEN}"
encoding_aes_key = "{TEST_AES_KEY}"
api_base_url = "{api_base_url}"

[database]
url = "{db_url}"
{extra}"""


@contextmanager
def closing_each(build: Callable[..., T]) -> Iterator[Callable[..., T]]:
    """A factory fixture's body: everything ``build`` made is closed (``.env.close()``) afterwards."""
    made: list[T] = []

    def make(**kwargs: Any) -> T:
        item = build(**kwargs)
        made.append(item)
        return item

    try:
        yield make
    finally:
        for item in made:
            item.env.close()  # type: ignore[attr-defined]


@dataclass
class SeededCorp:
    """A seeded company in the simulator and the service wired to it (features add their helpers)."""

    env: WecomEnv
    seed: Any  # wecom_hr.simulator.SeedResult

    @property
    def sim(self) -> Any:
        return self.env.sim

    @property
    def hr(self) -> str:
        return str(self.seed.hr)

    def seller(self, dept_index: int = 0, n: int = 0) -> str:
        return str(self.seed.salespeople[self.seed.departments[dept_index]][n])

    def manager(self, dept_index: int = 0) -> str:
        return str(self.seed.managers[self.seed.departments[dept_index]])
