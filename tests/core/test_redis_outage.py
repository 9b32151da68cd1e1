"""A Redis of our own, stopped and started again: WeCom calls keep working on per-process tokens,
locks fail closed while it is down, and tokens are shared again once it is back."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from storage.db import Database
from tests.helpers import free_port, make_env

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")


class PrivateRedis:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.folder)], stdout=subprocess.DEVNULL)
        client = redis_lib.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis_lib.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("private redis did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_redis_outage_degrades_and_recovers(db: Database, private_redis: PrivateRedis) -> None:
    client = redis_lib.Redis.from_url(private_redis.url, socket_timeout=1, socket_connect_timeout=1)
    env = make_env(db, redis=client)
    try:
        wecom = env.runtime.wecom("app")
        wecom.call("GET", "department/list")
        assert env.sim.gettoken_count == 1
        with env.runtime.lock("job:test", 30) as held:
            assert held

        private_redis.stop()
        wecom.call("GET", "department/list")  # still works: a per-process token
        assert env.sim.gettoken_count == 2
        wecom.call("GET", "department/list")
        assert env.sim.gettoken_count == 2  # and it is cached while Redis is down
        with env.runtime.lock("job:test", 30) as held:
            assert not held  # fail closed: jobs pause rather than risk running twice
        assert not env.runtime.locks.renewable("scheduler", "me", 30)

        private_redis.start()
        env.sim.expire_tokens()
        wecom.call("GET", "department/list")  # back on the shared cache
        assert client.keys(env.settings.redis_prefix + "token:*")
        with env.runtime.lock("job:test", 30) as held:
            assert held
    finally:
        env.close()
