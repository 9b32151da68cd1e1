"""A local SMTP sink for `wecom-hr demo`: accepts mail on 127.0.0.1 and keeps it in memory.

Just enough SMTP (RFC 5321: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for the demo to email its
dunning letter and print what arrived, without a dependency or a real mail server. Tests use
aiosmtpd instead (tests/receivables/test_email.py).
"""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

MAX_MESSAGE_BYTES = 1024 * 1024


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class _Box:
    mail: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Session(socketserver.StreamRequestHandler):
    box: _Box

    def _say(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode("ascii"))

    def handle(self) -> None:
        self._say("220 wecom-hr demo SMTP sink")
        sender, rcpts = "", list[str]()
        while True:
            raw = self.rfile.readline(4096)
            if not raw:
                return
            verb, _, arg = raw.decode("utf-8", "replace").strip().partition(" ")
            verb = verb.upper()
            if verb in ("EHLO", "HELO"):
                self._say("250 demo")
            elif verb == "MAIL":
                sender, rcpts = arg.partition(":")[2].strip().strip("<>"), []
                self._say("250 OK")
            elif verb == "RCPT":
                rcpts.append(arg.partition(":")[2].strip().strip("<>"))
                self._say("250 OK")
            elif verb == "DATA":
                self._say("354 end with .")
                self._store(sender, rcpts, self._data())
                self._say("250 queued")
            elif verb in ("RSET", "NOOP"):
                self._say("250 OK")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("502 not implemented")

    def _data(self) -> bytes:
        lines: list[bytes] = []
        size = 0
        while True:
            line = self.rfile.readline(65536)
            if not line or line in (b".\r\n", b".\n"):
                return b"".join(lines)
            size += len(line)
            if size <= MAX_MESSAGE_BYTES:
                lines.append(line[1:] if line.startswith(b"..") else line)

    def _store(self, sender: str, rcpts: list[str], data: bytes) -> None:
        message: Any = message_from_bytes(data, policy=policy.default)
        with self.box.lock:
            self.box.mail.append(Received(sender, list(rcpts), message))


class SmtpSink:
    def __init__(self) -> None:
        self._box = _Box()
        handler = type("Handler", (_Session,), {"box": self._box})
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])

    def start(self) -> SmtpSink:
        threading.Thread(target=self._server.serve_forever, name="smtp-sink", daemon=True).start()
        return self

    @property
    def received(self) -> list[Received]:
        with self._box.lock:
            return list(self._box.mail)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
