from __future__ import annotations

from tests.conftest import TEST_CORP
from tests.simulator.conftest import Api
from wecom_hr.simulator import Simulator


def test_gettoken_issues_one_token_per_secret_and_reuses_it(sim: Simulator) -> None:
    app, again, contact = Api(sim, "s1"), Api(sim, "s1"), Api(sim, "s2")
    assert app.token == again.token != contact.token
    assert sim.gettoken_count == 3
    assert app.get("gettoken", corpid=TEST_CORP, corpsecret="s1")["expires_in"] == 7200


def test_gettoken_rejects_bad_secret_and_corp(api: Api) -> None:
    assert api.get("gettoken", corpid=TEST_CORP, corpsecret="wrong")["errcode"] == 40001
    assert api.get("gettoken", corpid="wwother", corpsecret="s1")["errcode"] == 40013
    assert api.get("gettoken", corpid=TEST_CORP)["errcode"] == 41004


def test_unknown_missing_and_expired_tokens(sim: Simulator, api: Api) -> None:
    assert api.get("department/list")["errcode"] == 0
    assert api.get("department/list", access_token="nope")["errcode"] == 40014
    assert api.get("department/list", access_token="")["errcode"] == 41001
    sim.expire_tokens()
    assert api.get("department/list")["errcode"] == 42001
    fresh = Api(sim)
    assert fresh.token != api.token
    assert fresh.get("department/list")["errcode"] == 0
    assert [c.errcode for c in sim.calls_to("department/list")] == [0, 40014, 41001, 42001, 0]


def test_calls_record_the_secret_and_hide_it_in_repr(sim: Simulator) -> None:
    contact = Api(sim, "s2")
    contact.get("department/list")
    call = sim.wait_for("department/list")
    assert call.secret_name == "contact"
    assert contact.token not in repr(call) and "s2" not in repr(sim.calls_to("gettoken")[0])


def test_unknown_path_is_http_404_and_get_on_post_endpoint_is_43002(sim: Simulator, api: Api) -> None:
    response = api.http.get(f"{sim.base_url}/no/such/api", params={"access_token": api.token})
    assert response.status_code == 404 and response.json()["errcode"] == 404
    assert api.get("message/send")["errcode"] == 43002
    bad_json = api.http.post(f"{sim.base_url}/message/send", params={"access_token": api.token},
                             data=b"{not json")
    assert bad_json.json()["errcode"] == 47001


def test_requests_are_read_as_qyapi_reads_them(sim: Simulator, api: Api) -> None:
    """The API path skips Flask; it must still decode what clients send the way Flask did."""
    # UTF-8 in the query, a name given twice (the first counts), a blank value kept
    api.http.get(f"{sim.base_url}/user/get", params=[("userid", "张三"), ("userid", "lisi"), ("x", ""),
                                                      ("access_token", api.token)])
    assert sim.calls_to("user/get")[-1].query == {"userid": "张三", "x": "", "access_token": api.token}
    # a chunked body (a generator: no Content-Length) arrives whole
    chunks = (part for part in (b'{"touser": "zhangsan", "msgtype": "text", ', b'"agentid": 1000002, ',
                                '"text": {"content": "你好"}}'.encode()))
    api.http.post(f"{sim.base_url}/message/send", params={"access_token": api.token}, data=chunks, timeout=5)
    assert sim.calls_to("message/send")[-1].body == {"touser": "zhangsan", "msgtype": "text", "agentid": 1000002,
                                                     "text": {"content": "你好"}}
    # methods qyapi does not take, and the bare prefix: not found, as JSON
    for reply in (api.http.put(f"{sim.base_url}/user/get", timeout=5), api.http.get(f"{sim.base_url}/", timeout=5)):
        assert reply.status_code == 404 and reply.json()["errcode"] == 404


def test_connections_are_kept_alive_between_calls_as_qyapi_does(sim: Simulator, api: Api) -> None:
    for _ in range(3):
        assert api.get("department/list")["errcode"] == 0
    assert sim.connections_accepted == 1  # the gettoken call's connection served all four
