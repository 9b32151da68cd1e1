"""/wecom/callback: stored before 200, duplicates acknowledged once, bad input refused, DB down -> 503."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from storage import inbox
from storage.db import Database
from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from tests.helpers import base_config
from wecom_hr.app import create_app
from wecom_hr.config import settings_from_mapping
from wecom_hr.crypto import WXBizMsgCrypt
from wecom_hr.runtime import Runtime

CRYPTO = WXBizMsgCrypt(TEST_TOKEN, TEST_AES_KEY, TEST_CORP)


def event_xml(change: str = "add_external_contact", user: str = "zhangsan", ext: str | None = None,
              event: str = "change_external_contact", create_time: int = 1700000000) -> str:
    ext = ext or "wm" + uuid.uuid4().hex[:20]
    return (f"<xml><ToUserName><![CDATA[{TEST_CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><ChangeType><![CDATA[{change}]]></ChangeType>"
            f"<UserID><![CDATA[{user}]]></UserID><ExternalUserID><![CDATA[{ext}]]></ExternalUserID></xml>")


def sealed(xml: str, timestamp: str | None = None) -> tuple[dict[str, str], bytes]:
    env = CRYPTO.seal(xml.encode(), timestamp or str(int(time.time())), uuid.uuid4().hex[:10])
    body = (f"<xml><ToUserName><![CDATA[{TEST_CORP}]]></ToUserName><Encrypt><![CDATA[{env.encrypt}]]></Encrypt>"
            f"<AgentID><![CDATA[1000002]]></AgentID></xml>").encode()
    return {"msg_signature": env.msg_signature, "timestamp": env.timestamp, "nonce": env.nonce}, body


def post(client: FlaskClient, params: dict[str, str], body: bytes) -> int:
    return client.post("/wecom/callback", query_string=params, data=body, content_type="text/xml").status_code


def make_client(db: Database, **extra: object) -> FlaskClient:
    settings = settings_from_mapping(base_config("http://127.0.0.1:9/cgi-bin", db.url, **extra), environ={})
    app = create_app(settings, Runtime(settings, db=db))
    return app.test_client()


@pytest.fixture
def client(db: Database) -> Iterator[FlaskClient]:
    yield make_client(db)


def stored(db: Database) -> list[inbox.InboxEvent]:
    with db.session_scope() as s:
        return list(s.scalars(select(inbox.InboxEvent).order_by(inbox.InboxEvent.id)))


def test_url_check_echoes_the_official_vector(client: FlaskClient) -> None:
    res = client.get("/wecom/callback", query_string={
        "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "timestamp": "1476416373", "nonce": "47744683",
        "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="})
    assert res.status_code == 200 and res.data == b"1288432023552776189"


def test_url_check_with_bad_signature_is_403(client: FlaskClient) -> None:
    res = client.get("/wecom/callback", query_string={
        "msg_signature": "0" * 40, "timestamp": "1476416373", "nonce": "47744683", "echostr": "abc"})
    assert res.status_code == 403 and b"1288" not in res.data


def test_event_is_stored_before_the_200(client: FlaskClient, db: Database) -> None:
    xml = event_xml()
    assert post(client, *sealed(xml)) == 200
    rows = stored(db)
    assert len(rows) == 1
    assert rows[0].xml == xml and rows[0].status == inbox.PENDING
    assert (rows[0].event, rows[0].change_type) == ("change_external_contact", "add_external_contact")


def test_three_deliveries_of_one_event_store_one_row(client: FlaskClient, db: Database) -> None:
    xml = event_xml()
    assert [post(client, *sealed(xml)) for _ in range(3)] == [200, 200, 200]
    assert len(stored(db)) == 1


def test_distinct_events_in_the_same_second_are_all_kept(client: FlaskClient, db: Database) -> None:
    # FromUserName is always "sys" and CreateTime repeats: a coarse key would drop these.
    for ext in ("wmA", "wmB", "wmC"):
        assert post(client, *sealed(event_xml(ext=ext, create_time=1700000000))) == 200
    assert len(stored(db)) == 3


def test_bad_signature_is_403_and_stores_nothing(client: FlaskClient, db: Database) -> None:
    params, body = sealed(event_xml())
    params["msg_signature"] = "f" * 40
    assert post(client, params, body) == 403
    assert stored(db) == []


def test_missing_signature_parameters_are_403(client: FlaskClient) -> None:
    params, body = sealed(event_xml())
    del params["nonce"]
    assert post(client, params, body) == 403


@pytest.mark.parametrize("body", [b"<xml><Encrypt>", b"plain text", b"<xml><Other>1</Other></xml>",
                                  b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
                                  b"<xml><Encrypt>&b;</Encrypt></xml>",
                                  b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                                  b"<xml><Encrypt>&e;</Encrypt></xml>"])
def test_broken_or_hostile_envelopes_are_400(client: FlaskClient, db: Database, body: bytes) -> None:
    params, _ = sealed(event_xml())
    assert post(client, params, body) == 400
    assert stored(db) == []


def test_hostile_xml_inside_a_valid_envelope_is_400(client: FlaskClient, db: Database) -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Event>&c;</Event></xml>')
    assert post(client, *sealed(bomb)) == 400
    assert stored(db) == []


def test_ciphertext_for_another_corp_is_400(client: FlaskClient, db: Database) -> None:
    other = WXBizMsgCrypt(TEST_TOKEN, TEST_AES_KEY, "wwOTHERCORP")
    env = other.seal(event_xml().encode(), str(int(time.time())), "n")
    body = f"<xml><Encrypt><![CDATA[{env.encrypt}]]></Encrypt></xml>".encode()
    params = {"msg_signature": env.msg_signature, "timestamp": env.timestamp, "nonce": env.nonce}
    assert post(client, params, body) == 400
    assert stored(db) == []


def test_oversized_body_is_refused_early(db: Database) -> None:
    client = make_client(db, callback={"max_body_bytes": 1024})
    params, _ = sealed(event_xml())
    assert post(client, params, b"<xml>" + b"a" * 2000 + b"</xml>") == 413


def test_stale_timestamp_is_refused_when_a_replay_window_is_set(db: Database) -> None:
    client = make_client(db, callback={"replay_window_seconds": 300})
    assert post(client, *sealed(event_xml(), timestamp=str(int(time.time()) - 3600))) == 403
    assert post(client, *sealed(event_xml())) == 200


def test_unknown_event_is_stored_too(client: FlaskClient, db: Database) -> None:
    xml = event_xml(event="some_future_event", change="")
    assert post(client, *sealed(xml)) == 200
    assert stored(db)[0].event == "some_future_event"


def test_database_down_answers_503_so_wecom_retries() -> None:
    down = Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere", connect_args={"connect_timeout": 1})
    client = make_client(down)
    assert post(client, *sealed(event_xml())) == 503
    assert client.get("/healthz").status_code == 503


def test_healthz_is_200_with_a_database(client: FlaskClient) -> None:
    res = client.get("/healthz")
    assert res.status_code == 200 and res.get_json()["database"] == "up"


def test_metrics_count_outcomes(client: FlaskClient) -> None:
    post(client, *sealed(event_xml()))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'wecomhr_callbacks_total{outcome="acknowledged"}' in text
    assert "wecomhr_inbox_depth" in text


def test_wecom_shaped_envelopes_take_the_strict_match_and_hostile_ones_do_not() -> None:
    from wecom_hr.callback import _ENCRYPT

    _, body = sealed(event_xml())  # <ToUserName><![CDATA[...]]></ToUserName> first, as WeCom sends it
    assert _ENCRYPT.search(body) is not None
    hostile = [b'<xml><!DOCTYPE x [<!ENTITY a "b">]><Encrypt><![CDATA[QUJD]]></Encrypt></xml>',
               b"<xml><ToUserName>&a;</ToUserName><Encrypt><![CDATA[QUJD]]></Encrypt></xml>"]
    assert all(_ENCRYPT.search(doc) is None for doc in hostile)  # these go to defusedxml, which refuses them
