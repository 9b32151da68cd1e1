"""A stand-in callback endpoint for the simulator's own tests: verify, decrypt, record."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from defusedxml import ElementTree
from flask import Flask, request

from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from wecom_hr.crypto import CallbackCryptoError, WXBizMsgCrypt
from wecom_hr.simulator.server import ServerThread


class Receiver:
    def __init__(self, fail_first: int = 0) -> None:
        self.crypt = WXBizMsgCrypt(TEST_TOKEN, TEST_AES_KEY, TEST_CORP)
        self.received: list[str] = []
        self.fail_first = fail_first
        self.attempts = 0

    def __call__(self, params: dict[str, str], body: bytes) -> int:
        """Usable directly as ``sim.callback_url`` (the callable form)."""
        self.attempts += 1
        if self.attempts <= self.fail_first:
            return 500
        encrypt = ElementTree.fromstring(body).findtext("Encrypt") or ""
        try:
            plain = self.crypt.verify_and_decrypt(params["msg_signature"], params["timestamp"],
                                                  params["nonce"], encrypt)
        except CallbackCryptoError:
            return 403
        self.received.append(plain.decode())
        return 200

    def app(self) -> Flask:
        app = Flask("receiver")

        @app.route("/wecom/callback", methods=["GET", "POST"])
        def callback() -> tuple[str, int]:
            if request.method == "GET":
                args = request.args
                try:
                    echo = self.crypt.verify_and_decrypt(args["msg_signature"], args["timestamp"],
                                                         args["nonce"], args["echostr"])
                except CallbackCryptoError:
                    return "", 403
                return echo.decode(), 200
            return "", self(request.args.to_dict(), request.get_data())

        return app


@contextmanager
def serving(receiver: Receiver) -> Iterator[str]:
    server = ServerThread(receiver.app())
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}/wecom/callback"
    finally:
        server.stop()
