from __future__ import annotations

import base64

from defusedxml import ElementTree

from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from tests.simulator.receiver import Receiver, serving
from wecom_hr.crypto import WXBizMsgCrypt, signature
from wecom_hr.simulator import CallbackSender

OFFICIAL_ECHOSTR = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
OFFICIAL_SIGNATURE = "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"


def _sender() -> CallbackSender:
    return CallbackSender(TEST_TOKEN, TEST_AES_KEY, TEST_CORP, agent_id=1000002)


def test_official_vector_and_our_echostr_have_the_same_shape() -> None:
    crypt = WXBizMsgCrypt(TEST_TOKEN, TEST_AES_KEY, TEST_CORP)
    official = crypt.verify_and_decrypt(OFFICIAL_SIGNATURE, "1476416373", "47744683", OFFICIAL_ECHOSTR)
    assert official == b"1288432023552776189"
    ours = _sender().echostr_params(official.decode())
    assert set(ours) == {"msg_signature", "timestamp", "nonce", "echostr"}
    assert len(ours["echostr"]) == len(OFFICIAL_ECHOSTR) and len(ours["msg_signature"]) == 40
    assert len(base64.b64decode(ours["echostr"])) % 32 == 0
    assert crypt.verify_and_decrypt(ours["msg_signature"], ours["timestamp"], ours["nonce"],
                                    ours["echostr"]) == official


def test_envelope_is_what_wecom_posts() -> None:
    xml = "<xml><ToUserName><![CDATA[corp]]></ToUserName><Event><![CDATA[测试]]></Event></xml>"
    params, body = _sender().envelope(xml, timestamp=1476416373, nonce="47744683")
    assert params["timestamp"] == "1476416373" and params["nonce"] == "47744683"
    assert body.startswith(b"<xml><ToUserName><![CDATA[" + TEST_CORP.encode() + b"]]></ToUserName><Encrypt><![CDATA[")
    root = ElementTree.fromstring(body)
    assert [child.tag for child in root] == ["ToUserName", "Encrypt", "AgentID"]
    assert root.findtext("AgentID") == "1000002"
    encrypt = root.findtext("Encrypt") or ""
    assert params["msg_signature"] == signature(TEST_TOKEN, "1476416373", "47744683", encrypt)
    crypt = WXBizMsgCrypt(TEST_TOKEN, TEST_AES_KEY, TEST_CORP)
    assert crypt.verify_and_decrypt(params["msg_signature"], "1476416373", "47744683", encrypt).decode() == xml
    again, _ = _sender().envelope(xml, timestamp=1476416373, nonce="47744683")
    assert again["msg_signature"] != params["msg_signature"]  # fresh random prefix each time


def test_deliver_over_http_and_url_check() -> None:
    receiver, sender = Receiver(), _sender()
    with serving(receiver) as url:
        assert sender.deliver(url, "<xml><A>1</A></xml>", times=3) == [200, 200, 200]
        check = sender.url_check(url)
        assert check.status_code == 200 and check.text == sender.last_echo
    assert receiver.received == ["<xml><A>1</A></xml>"] * 3


def test_deliver_until_ok_retries_like_wecom_and_wrong_token_is_refused() -> None:
    flaky = Receiver(fail_first=2)
    assert _sender().deliver_until_ok(flaky, "<xml/>") == [500, 500, 200]
    assert _sender().deliver_until_ok(Receiver(fail_first=5), "<xml/>") == [500, 500, 500]
    stranger = CallbackSender("another-token", TEST_AES_KEY, TEST_CORP)
    assert stranger.deliver(Receiver(), "<xml/>") == [403]


def test_unreachable_target_counts_as_no_answer() -> None:
    assert _sender().deliver("http://127.0.0.1:9/wecom/callback", "<xml/>") == [0]
