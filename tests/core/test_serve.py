"""`wecom-hr serve` for real: gunicorn on a free port, an empty SQLite file migrated at start,
WeCom's URL check, a callback stored, then handled by the embedded inbox worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from storage import inbox
from storage.db import Database
from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from tests.helpers import SECRETS, config_toml, free_port
from wecom_hr.simulator import Simulator, seed_company


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Simulator, str]]:
    sim = Simulator(corp_id=TEST_CORP, secrets=dict(SECRETS), token=TEST_TOKEN, encoding_aes_key=TEST_AES_KEY).start()
    yield from serving(tmp_path, sim)


@pytest.fixture
def served_company(tmp_path: Path) -> Iterator[tuple[str, Simulator, str]]:
    sim = Simulator(corp_id=TEST_CORP, secrets=dict(SECRETS), token=TEST_TOKEN, encoding_aes_key=TEST_AES_KEY).start()
    seed_company(sim, departments=2, salespeople_per_department=3, customers_per_salesperson=4)
    yield from serving(tmp_path, sim)


def serving(tmp_path: Path, sim: Simulator) -> Iterator[tuple[str, Simulator, str]]:
    db_url = f"sqlite:///{tmp_path / 'fresh.db'}"  # does not exist yet: serve must create and migrate it
    cfg = tmp_path / "config.toml"
    cfg.write_text(config_toml(sim.base_url, db_url, "[worker]\npoll_seconds = 0.1\n"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "wecom_hr", "--config", str(cfg), "serve", "--port", str(port),
                             "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            raise AssertionError("serve did not come up")
        yield url, sim, db_url
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode()
        sim.stop()
        assert SECRETS["app"] not in output and TEST_AES_KEY not in output


def test_serve_verifies_stores_and_handles(served: tuple[str, Simulator, str]) -> None:
    url, sim, db_url = served
    check = sim.sender.url_check(url + "/wecom/callback")
    assert check.status_code == 200 and check.text == sim.sender.last_echo
    xml = (f"<xml><ToUserName><![CDATA[{TEST_CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
           "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
           "<Event><![CDATA[not_yet_known]]></Event></xml>")
    assert sim.sender.deliver(url + "/wecom/callback", xml, times=3) == [200, 200, 200]
    db = Database(db_url)
    deadline = time.time() + 15
    status = None
    while time.time() < deadline:
        with db.session_scope() as s:
            rows = list(s.scalars(select(inbox.InboxEvent)))
        status = [r.status for r in rows]
        if status == ["ignored"]:
            break
        time.sleep(0.1)
    db.dispose()
    assert status == ["ignored"]  # stored once, then handled (unknown events are marked ignored)
    metrics = requests.get(url + "/metrics", timeout=5).text
    # Summed over both gunicorn workers, whichever of them answered each delivery.
    assert 'wecomhr_callbacks_total{outcome="acknowledged"} 1.0' in metrics
    assert 'wecomhr_callbacks_total{outcome="duplicate"} 2.0' in metrics


def test_a_first_start_reads_the_directory_and_the_customers_in_the_background(
        served_company: tuple[str, Simulator, str]) -> None:
    """Issue 14 item 2: managers see their team within a minute of the first start, not after 01:30."""
    from storage.customers import Customer
    from storage.directory import Member

    url, sim, db_url = served_company
    assert requests.get(url + "/healthz", timeout=5).status_code == 200  # answering while it reads
    expected_members = len(sim.state.users)
    db = Database(db_url)
    deadline, members, customers = time.time() + 60, 0, 0
    while time.time() < deadline:
        with db.session_scope() as s:
            members = len(list(s.scalars(select(Member.userid))))
            customers = len(list(s.scalars(select(Customer.external_userid))))
        if members == expected_members and customers == 2 * 3 * 4:
            break
        time.sleep(0.2)
    db.dispose()
    assert (members, customers) == (expected_members, 24)
    assert len(sim.calls_to("department/list")) >= 1
