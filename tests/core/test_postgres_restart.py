"""PostgreSQL crashes and comes back while WeCom keeps calling: 503 while it is down, and every
event we acknowledged is stored once and handled exactly once afterwards."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from storage import inbox
from storage.db import Database, upgrade
from tests.core.test_callback import event_xml, make_client, post, sealed
from tests.core.test_dispatch import ROUTES, handlings, runtime_for
from tests.helpers import free_port
from tests.pgcluster import PrivateCluster, pg_bin
from wecom_hr.dispatch import Dispatcher

pytestmark = [pytest.mark.skipif(pg_bin() is None, reason="PostgreSQL server binaries not installed"),
              pytest.mark.slow]


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    pg = PrivateCluster(free_port())
    pg.start()
    yield pg
    pg.destroy()


def test_crash_and_restart_under_load_loses_and_duplicates_nothing(cluster: PrivateCluster) -> None:
    upgrade(cluster.url)
    db = Database(cluster.url, pool_size=4, connect_args={"connect_timeout": 1})
    client = make_client(db)
    acked: list[str] = []
    refused = 0
    stop = threading.Event()

    def wecom() -> None:
        nonlocal refused
        while not stop.is_set():
            xml = event_xml(ext="wm" + uuid.uuid4().hex[:20])
            status = post(client, *sealed(xml))
            if status == 200:
                acked.append(xml)
            else:
                assert status == 503, status
                refused += 1
            time.sleep(0.005)

    sender = threading.Thread(target=wecom)
    sender.start()
    time.sleep(1.0)
    cluster.restart_after(1.5)
    time.sleep(1.0)
    stop.set()
    sender.join(30)

    assert refused > 0  # WeCom was told to retry while the database was gone
    dispatcher = Dispatcher(runtime_for(db), ROUTES)
    while dispatcher.drain(limit=500):
        pass
    with db.session_scope() as s:
        stored = {row.xml: row.status for row in s.scalars(select(inbox.InboxEvent))}
    assert all(stored.get(xml) == "done" for xml in acked)  # nothing acknowledged was lost
    counts = handlings(db)
    assert len(counts) == len(stored) and set(counts.values()) == {1}
    db.dispose()
