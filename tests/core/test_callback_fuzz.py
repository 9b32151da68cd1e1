"""Property tests of the callback path: whatever arrives, the answer is a clean 4xx or a 200 for a
genuine event, never a 500, and nothing is stored that WeCom did not sign."""

from __future__ import annotations

import base64
import time

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from storage import inbox
from storage.db import Database
from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from tests.core.test_callback import make_client, sealed
from wecom_hr.crypto import WXBizMsgCrypt, signature

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CRYPTO = WXBizMsgCrypt(TEST_TOKEN, TEST_AES_KEY, TEST_CORP)


_clients: dict[int, FlaskClient] = {}


def client_for(db: Database) -> FlaskClient:
    # One app per test database: hypothesis runs the body once per example.
    if id(db) not in _clients:
        _clients.clear()
        _clients[id(db)] = make_client(db)
    return _clients[id(db)]


def count(db: Database) -> int:
    with db.session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(inbox.InboxEvent)) or 0)


@FUZZ
@given(body=st.binary(max_size=2000), sig=st.text(max_size=50), ts=st.text(max_size=12), nonce=st.text(max_size=12))
def test_arbitrary_requests_never_crash_and_store_nothing(db: Database, body: bytes, sig: str, ts: str,
                                                          nonce: str) -> None:
    client = client_for(db)
    res = client.post("/wecom/callback", query_string={"msg_signature": sig, "timestamp": ts, "nonce": nonce},
                      data=body, content_type="text/xml")
    assert res.status_code in (400, 403, 411, 413)
    assert count(db) == 0


@FUZZ
@given(payload=st.binary(min_size=1, max_size=600))
def test_validly_signed_garbage_is_400_not_500(db: Database, payload: bytes) -> None:
    """WeCom's signature over ciphertext that decrypts to junk, or to XML that is not an event."""
    client = client_for(db)
    encrypt = CRYPTO.encrypt(payload)
    ts = str(int(time.time()))
    params = {"msg_signature": signature(TEST_TOKEN, ts, "n", encrypt), "timestamp": ts, "nonce": "n"}
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    res = client.post("/wecom/callback", query_string=params, data=body, content_type="text/xml")
    assert res.status_code in (200, 400)
    if res.status_code == 200:  # only a well-formed <xml> document can have been stored
        assert payload.lstrip().startswith(b"<xml")


@FUZZ
@given(flip=st.integers(min_value=0, max_value=10_000), bit=st.integers(min_value=0, max_value=7))
def test_one_flipped_bit_anywhere_is_refused(db: Database, flip: int, bit: int) -> None:
    client = client_for(db)
    params, body = sealed("<xml><MsgType>event</MsgType><Event>x</Event></xml>")
    raw = bytearray(base64.b64decode(body.split(b"CDATA[")[2].split(b"]]")[0]))
    raw[flip % len(raw)] ^= 1 << bit
    tampered = body.replace(body.split(b"CDATA[")[2].split(b"]]")[0], base64.b64encode(bytes(raw)))
    res = client.post("/wecom/callback", query_string=params, data=tampered, content_type="text/xml")
    assert res.status_code == 403  # the signature covers the ciphertext
    assert count(db) == 0
