from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.simulator.conftest import Api
from wecom_hr.simulator import Simulator


def test_injected_errcode_hits_only_the_next_calls(sim: Simulator, api: Api) -> None:
    sim.inject("department/list", errcode=-1, times=2)
    assert [api.get("department/list")["errcode"] for _ in range(3)] == [-1, -1, 0]
    assert [c.errcode for c in sim.calls_to("department/list")] == [-1, -1, 0]
    assert api.get("user/simplelist", department_id=1)["errcode"] == 0


def test_injected_http_status_answers_html(sim: Simulator, api: Api) -> None:
    sim.inject("/cgi-bin/department/list", http_status=502)
    response = api.http.get(f"{sim.base_url}/department/list", params={"access_token": api.token})
    assert response.status_code == 502 and "502" in response.text
    assert sim.calls_to("department/list")[0].http_status == 502


def test_forever_fault_until_cleared_and_wildcard(sim: Simulator, api: Api) -> None:
    sim.inject("*", errcode=45033, times=None)
    assert [api.get(p)["errcode"] for p in ("department/list", "user/get")] == [45033, 45033]
    sim.clear_faults()
    assert api.get("department/list")["errcode"] == 0


def test_injected_delay_and_runtime_latency(sim: Simulator, api: Api) -> None:
    sim.inject("department/list", errcode=0, delay=0.2)
    started = time.monotonic()
    assert api.get("department/list")["errcode"] == 0
    assert time.monotonic() - started >= 0.2
    sim.latency = 0.1
    started = time.monotonic()
    api.get("department/list")
    assert time.monotonic() - started >= 0.1


def test_slow_fault_trips_a_client_timeout(sim: Simulator, api: Api) -> None:
    sim.inject("department/list", errcode=0, delay=0.5)
    with pytest.raises(requests.Timeout):
        requests.get(f"{sim.base_url}/department/list", params={"access_token": api.token}, timeout=0.1)


def test_concurrent_calls_overlap_their_latency(sim: Simulator, api: Api) -> None:
    sim.latency = 0.05
    url, params = f"{sim.base_url}/department/list", {"access_token": api.token}

    def one(_: int) -> int:
        return int(requests.get(url, params=params, timeout=5).json()["errcode"])

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(one, range(50)))
    elapsed = time.monotonic() - started
    assert codes == [0] * 50
    assert elapsed < 50 * 0.05 / 3, elapsed


def test_wait_for_reports_the_calls_it_saw(sim: Simulator, api: Api) -> None:
    api.get("department/list")
    assert sim.wait_for("department/list", lambda c: c.errcode == 0, timeout=0.5).path == "department/list"
    with pytest.raises(AssertionError, match="department/list"):
        sim.wait_for("message/send", timeout=0.1)


def test_a_stopped_simulator_stops_answering_pooled_connections(sim: Simulator, api: Api) -> None:
    url = f"{sim.base_url}/department/list"
    assert api.get("department/list")["errcode"] == 0  # the session now holds a keep-alive connection
    sim.stop()
    with pytest.raises(requests.ConnectionError):
        api.http.get(url, params={"access_token": api.token}, timeout=2)
