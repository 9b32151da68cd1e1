"""The WeCom client against the simulator: retries, token refresh, typed errors, shared tokens."""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Iterator

import pytest
import redis as redis_lib

from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from tests.helpers import FAST_RETRY, SECRETS
from wecom_hr.simulator import Simulator
from wecom_hr.wecom import (
    WeComAPIError,
    WeComBusyError,
    WeComClient,
    WeComNetworkError,
    WeComRateLimitedError,
    WeComTimeoutError,
    WeComTokenError,
)
from wecom_hr.wecom.tokens import RedisTokenStore


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(corp_id=TEST_CORP, secrets=dict(SECRETS), token=TEST_TOKEN, encoding_aes_key=TEST_AES_KEY) as s:
        yield s


def client_for(sim: Simulator, secret: str = SECRETS["app"], **kwargs: object) -> WeComClient:
    return WeComClient(TEST_CORP, secret, sim.base_url, retry=FAST_RETRY, timeout=2.0, **kwargs)  # type: ignore[arg-type]


def test_token_is_fetched_once_and_reused(sim: Simulator) -> None:
    client = client_for(sim)
    for _ in range(3):
        client.call("GET", "department/list")
    assert sim.gettoken_count == 1


@pytest.mark.parametrize("errcode,times", [(-1, 2), (45009, 3), (45033, 1)])
def test_busy_and_rate_limits_are_retried_until_done(sim: Simulator, errcode: int, times: int) -> None:
    sim.inject("department/list", errcode=errcode, times=times)
    assert client_for(sim).call("GET", "department/list")["errcode"] == 0
    assert len(sim.calls_to("department/list")) == times + 1


def test_retries_are_bounded(sim: Simulator) -> None:
    sim.inject("department/list", errcode=45009, times=None)
    with pytest.raises(WeComRateLimitedError) as info:
        client_for(sim).call("GET", "department/list")
    assert info.value.errcode == 45009 and info.value.path == "department/list" and info.value.transient
    assert len(sim.calls_to("department/list")) == FAST_RETRY.attempts


def test_http_5xx_is_retried(sim: Simulator) -> None:
    sim.inject("department/list", errcode=None, http_status=502, times=2)
    assert client_for(sim).call("GET", "department/list")["errcode"] == 0


def test_busy_forever_raises_a_typed_error(sim: Simulator) -> None:
    sim.inject("department/list", errcode=-1, times=None)
    with pytest.raises(WeComBusyError):
        client_for(sim).call("GET", "department/list")


def test_timeouts_are_retried_then_raised(sim: Simulator) -> None:
    sim.inject("department/list", errcode=None, delay=1.5, times=None)
    client = WeComClient(TEST_CORP, SECRETS["app"], sim.base_url, retry=FAST_RETRY, timeout=0.3)
    with pytest.raises(WeComTimeoutError):
        client.call("GET", "department/list")


def test_permanent_errors_are_not_retried(sim: Simulator) -> None:
    sim.inject("department/list", errcode=60011, times=None)
    with pytest.raises(WeComAPIError) as info:
        client_for(sim).call("GET", "department/list")
    assert info.value.errcode == 60011 and not info.value.transient
    assert len(sim.calls_to("department/list")) == 1


def test_expired_token_is_refreshed_once_and_the_call_retried(sim: Simulator) -> None:
    client = client_for(sim)
    client.call("GET", "department/list")
    sim.expire_tokens()
    assert client.call("GET", "department/list")["errcode"] == 0
    assert sim.gettoken_count == 2


def test_a_bad_secret_is_a_token_error(sim: Simulator) -> None:
    with pytest.raises(WeComTokenError) as info:
        client_for(sim, secret="wrong-secret").call("GET", "department/list")
    assert info.value.errcode == 40001


def test_connection_refused_is_a_network_error() -> None:
    client = WeComClient(TEST_CORP, "s", "http://127.0.0.1:9/cgi-bin", retry=FAST_RETRY, timeout=1)
    with pytest.raises(WeComNetworkError):
        client.call("GET", "department/list")


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy",
                 "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# Nothing listens on 127.0.0.1:9, so these calls only succeed through the proxy: the simulator, which
# answers a proxied request (absolute URL in the request line) as it answers a direct one.
UNREACHABLE = "http://127.0.0.1:9/cgi-bin"


def test_the_proxy_in_the_environment_is_used(sim: Simulator, proxy_env: pytest.MonkeyPatch) -> None:
    proxy_env.setenv("HTTP_PROXY", sim.base_url.removesuffix("/cgi-bin"))
    client = WeComClient(TEST_CORP, SECRETS["app"], UNREACHABLE, retry=FAST_RETRY, timeout=2.0)
    assert client.call("GET", "department/list")["errcode"] == 0
    assert sim.calls_to("department/list")


def test_no_proxy_in_the_environment_is_honoured(sim: Simulator, proxy_env: pytest.MonkeyPatch) -> None:
    proxy_env.setenv("HTTP_PROXY", sim.base_url.removesuffix("/cgi-bin"))
    proxy_env.setenv("NO_PROXY", "127.0.0.1")
    client = WeComClient(TEST_CORP, SECRETS["app"], UNREACHABLE, retry=FAST_RETRY, timeout=2.0)
    with pytest.raises(WeComNetworkError):
        client.call("GET", "department/list")
    assert sim.gettoken_count == 0


def test_the_environment_is_read_once_when_the_client_is_made(sim: Simulator,
                                                              proxy_env: pytest.MonkeyPatch) -> None:
    """requests would scan the environment on every call; the client settles it at creation."""
    proxy_env.setenv("HTTP_PROXY", sim.base_url.removesuffix("/cgi-bin"))
    client = WeComClient(TEST_CORP, SECRETS["app"], UNREACHABLE, retry=FAST_RETRY, timeout=2.0)
    proxy_env.delenv("HTTP_PROXY")
    assert client.call("GET", "department/list")["errcode"] == 0  # still through the proxy
    direct = WeComClient(TEST_CORP, SECRETS["app"], UNREACHABLE, retry=FAST_RETRY, timeout=2.0)
    with pytest.raises(WeComNetworkError):
        direct.call("GET", "department/list")


def test_secrets_and_tokens_never_reach_the_log(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sim.inject("department/list", errcode=-1, times=2)
    client = client_for(sim)
    client.call("GET", "department/list")
    token = client.access_token
    text = caplog.text + repr(client)
    assert SECRETS["app"] not in text and token not in text


def test_wechatpy_endpoints_go_through_our_base_url(sim: Simulator) -> None:
    client = client_for(sim, secret=SECRETS["contact"])
    result = client.external_contact.get_follow_user_list()
    assert result["errcode"] == 0 and sim.calls_to("externalcontact/get_follow_user_list")


def _use_shared_token(base_url: str, redis_url: str, prefix: str, rounds: int) -> None:
    store = RedisTokenStore(redis_lib.Redis.from_url(redis_url), prefix)
    client = WeComClient(TEST_CORP, SECRETS["app"], base_url, tokens=store, retry=FAST_RETRY)
    for _ in range(rounds):
        client.call("GET", "department/list")


def test_token_is_shared_and_refreshed_once_across_processes(sim: Simulator, redis_url: str,
                                                             redis_prefix: str) -> None:
    ctx = multiprocessing.get_context("spawn")

    def run_all() -> None:
        procs = [ctx.Process(target=_use_shared_token, args=(sim.base_url, redis_url, redis_prefix, 3))
                 for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0

    run_all()
    assert sim.gettoken_count == 1
    sim.expire_tokens()
    run_all()
    assert sim.gettoken_count == 2  # four processes saw 42001; one of them refreshed


@pytest.mark.parametrize("fault", [{"errcode": None, "http_status": 502}, {"errcode": None, "delay": 1.0}])
def test_a_transfer_whose_answer_was_lost_is_not_sent_again(sim: Simulator, fault: dict[str, object]) -> None:
    sim.inject("externalcontact/transfer_customer", times=None, **fault)  # type: ignore[arg-type]
    client = WeComClient(TEST_CORP, SECRETS["contact"], sim.base_url, retry=FAST_RETRY, timeout=0.3)
    with pytest.raises(WeComNetworkError):
        client.extra.transfer_customer("a", "b", ["wm1"])
    sim.wait_for("externalcontact/transfer_customer", timeout=3)  # recorded once the delay is over
    time.sleep(0.5)
    assert len(sim.calls_to("externalcontact/transfer_customer")) == 1


def test_a_transfer_refused_as_busy_is_retried(sim: Simulator) -> None:
    sim.inject("externalcontact/transfer_customer", errcode=-1, times=1)
    client = client_for(sim, secret=SECRETS["contact"])
    with pytest.raises(WeComAPIError) as info:  # -1 means WeCom did nothing, so the call is resent
        client.extra.transfer_customer("nobody", "b", ["wm1"])
    assert info.value.errcode == 60111  # the second answer is WeCom's real one: no such member
    assert len(sim.calls_to("externalcontact/transfer_customer")) == 2
