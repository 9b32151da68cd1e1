"""Two schedulers, one lock: only one is active, the other takes over; a job never runs twice at once.

Each test runs with the database lease (no Redis) and with Redis.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from storage.db import Database
from tests.helpers import FAST_RETRY, base_config
from tests.receivables.conftest import ENV_CONFIG, NOW, item, load
from wecom_hr import scheduler
from wecom_hr.config import settings_from_mapping
from wecom_hr.runtime import Runtime
from wecom_hr.scheduler import run_job


@pytest.fixture(params=["database", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def runtimes(env: Any, backend: str, request: pytest.FixtureRequest) -> Iterator[list[Runtime]]:
    """Two processes' worth of runtime: own database engines, the same database, the same Redis."""
    extra: dict[str, Any] = dict(ENV_CONFIG)
    if backend == "redis":
        extra["redis"] = {"url": request.getfixturevalue("redis_url"),
                          "prefix": request.getfixturevalue("redis_prefix")}
    settings = settings_from_mapping(base_config(env.sim.base_url, env.runtime.db.url, **extra), environ={})
    made = [Runtime(settings, db=Database(env.runtime.db.url), retry=FAST_RETRY) for _ in range(2)]
    yield made
    for rt in made:
        rt.close()


def test_only_one_scheduler_is_active_and_the_other_takes_over(runtimes: list[Runtime], backend: str,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture,
                                                               request: pytest.FixtureRequest) -> None:
    monkeypatch.setattr(scheduler, "LEASE_TTL", 1.0)
    caplog.set_level(logging.INFO, logger="wecom_hr.scheduler")
    stops = [threading.Event(), threading.Event()]
    threads = [threading.Thread(target=scheduler.run_forever, args=(rt, stop), daemon=True)
               for rt, stop in zip(runtimes, stops, strict=True)]
    for t in threads:
        t.start()
    try:
        _watch_takeover(threads, stops, caplog)
    finally:
        for stop in stops:
            stop.set()
        for t in threads:
            t.join(5)


def _watch_takeover(threads: list[threading.Thread], stops: list[threading.Event],
                    caplog: pytest.LogCaptureFixture) -> None:
    time.sleep(1.5)  # several renewals
    active = [r for r in caplog.records if "is now active" in r.getMessage()]
    assert len(active) == 1
    leader = next(i for i, t in enumerate(threads) if f":{t.ident}:" in active[0].getMessage())
    stops[leader].set()
    threads[leader].join(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(
            [r for r in caplog.records if "is now active" in r.getMessage()]) < 2:
        time.sleep(0.05)
    active = [r for r in caplog.records if "is now active" in r.getMessage()]
    assert len(active) == 2 and f":{threads[1 - leader].ident}:" in active[1].getMessage()


def test_a_run_is_skipped_while_another_process_holds_the_job(runtimes: list[Runtime], backend: str,
                                                              request: pytest.FixtureRequest) -> None:
    a, b = runtimes
    load(a.db, item("J1", 31))
    with a.lock("job:overdue-reminders", 60) as got:
        assert got
        assert run_job(b, "overdue-reminders", NOW) == {"skipped": "another run of this job is in progress"}
    assert run_job(b, "overdue-reminders", NOW)["messages"] == 1


def test_two_processes_at_once_send_each_digest_once(env: Any, runtimes: list[Runtime]) -> None:
    load(runtimes[0].db, *(item(f"T{i}", 31 + i, owner=("alice", "bob")[i % 2]) for i in range(20)))
    results: list[Any] = []
    threads = [threading.Thread(target=lambda rt=rt: results.append(run_job(rt, "overdue-reminders", NOW)))
               for rt in runtimes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 2
    assert sorted(b["touser"] for b in env.sim.sent_messages) == ["alice", "bob"]
