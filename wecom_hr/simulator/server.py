"""The Flask app that speaks qyapi over HTTP, and the thread that serves it on 127.0.0.1:0."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from typing import IO, Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson
from flask import Flask, request
from werkzeug.serving import DechunkedInput, ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Response

from wecom_hr.simulator.gateway import Gateway
from wecom_hr.simulator.journal import Call

log = logging.getLogger(__name__)
SECRET_IN_QUERY = re.compile(r"(access_token|corpsecret|code)=[^&]*")
ERROR_PAGE = "<html><head><title>{0}</title></head><body><center><h1>{0}</h1></center></body></html>"


def create_app(gateway: Gateway, authorize: Callable[[dict[str, str]], Response],
               sso_login: Callable[[dict[str, str]], Response] | None = None) -> Flask:
    """Flask serves the pages (WeCom's login pages); qyapi calls never reach it (_QuietHandler)."""
    app = Flask("wecom_hr.simulator")

    if sso_login is not None:
        @app.get("/wwlogin/sso/login")
        def web_login() -> Response:  # 企业微信Web登录 (doc 98173), for ordinary browsers
            query = request.args.to_dict()
            response = sso_login(query)
            gateway.journal.record(Call("GET", "wwlogin/sso/login", query, None, 0, time.time(),
                                        response.status_code))
            return response

    @app.get("/connect/oauth2/authorize")
    def oauth_authorize() -> Response:
        query = request.args.to_dict()
        response = authorize(query)
        gateway.journal.record(Call("GET", "connect/oauth2/authorize", query, None, 0,
                                    time.time(), response.status_code))
        return response

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return Response('{"errcode":404,"errmsg":"not found"}', 404, content_type="application/json")

    return app


API_PREFIX = "/cgi-bin/"


def _is_api_call(method: str, path: str) -> bool:
    return method in ("GET", "POST") and path.startswith(API_PREFIX) and path != API_PREFIX


def _answer(gateway: Gateway, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, bytes, str]:
    """(HTTP status, body, content type) of a qyapi call."""
    status, payload = gateway.handle(method, path[len(API_PREFIX):], query, body)
    if status not in (200, 404):  # proxies in front of qyapi answer errors with HTML
        return status, ERROR_PAGE.format(status).encode(), "text/html; charset=utf-8"
    # compact UTF-8, as qyapi answers; 100-customer pages stay cheap
    return status, orjson.dumps(payload), "application/json; charset=UTF-8"


def _text(wsgi_str: str) -> str:
    """http.server carries the request line's bytes as latin-1 text; qyapi's are UTF-8."""
    return wsgi_str.encode("latin-1").decode("utf-8", "replace")


def _query(raw: str) -> dict[str, str]:
    """The first value of each name, blanks kept (as Flask's request.args.to_dict())."""
    out: dict[str, str] = {}
    for name, value in parse_qsl(_text(raw), keep_blank_values=True):
        out.setdefault(name, value)
    return out


class _QuietHandler(WSGIRequestHandler):
    """Keep-alive for qyapi calls, and access logs at DEBUG with tokens, secrets and codes masked."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; on a kept-alive connection Nagle's algorithm would hold
    # the body until the client's delayed ACK (40 ms) arrives.
    disable_nagle_algorithm = True
    server: _Server

    def run_wsgi(self) -> None:
        """Answer a qyapi call (GET or POST under /cgi-bin/) here and keep the connection for the next
        one, as qyapi does: werkzeug closes every connection after a WSGI response, so each call would
        cost both sides a new connection and the simulator a new thread, and Flask's request and
        routing machinery was a third of the simulator's time per call (a resync makes a thousand;
        the simulator shares the CPU with the code under test). Everything else goes to Flask."""
        target = urlsplit(self.path)
        path, gateway = unquote(target.path), self.server.gateway
        if gateway is None or not _is_api_call(self.command, path):
            super().run_wsgi()
            return
        try:
            status, reply, content_type = _answer(gateway, self.command, path, _query(target.query), self._body())
        except Exception:  # a simulator bug or a broken body: answer 500 as werkzeug would, and say so
            log.exception("simulator call %s failed", path)
            status, reply, content_type = 500, ERROR_PAGE.format(500).encode(), "text/html; charset=utf-8"
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(reply)))
        if self.close_connection:  # the client asked for it (Connection: close, HTTP/1.0)
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply)

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True  # trailers are not read: the next request starts afresh
            return DechunkedInput(cast(IO[bytes], self.rfile)).read()
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit():
            self.close_connection = True  # what follows is not a request line we could find
            return b""
        return self.rfile.read(int(length)) if int(length) else b""

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.track(self.connection, open_=False)
        super().finish()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s %s", self.command, SECRET_IN_QUERY.sub(r"\1=***", self.path), code)


class _Server(ThreadedWSGIServer):
    request_queue_size = 1024  # hundreds of benchmark clients connect at once
    block_on_close = False

    gateway: Gateway | None = None  # set by ServerThread: qyapi calls are answered without WSGI

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.accepted = 0  # connections, for tests of keep-alive
        super().__init__(*args, **kwargs)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._open_lock:
            (self._open.add if open_ else self._open.discard)(connection)
            self.accepted += open_

    def drop_connections(self) -> None:
        """A stopped simulator must not keep answering on pooled keep-alive connections."""
        with self._open_lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ServerThread:
    def __init__(self, app: Flask, gateway: Gateway | None = None) -> None:
        self._server = _Server("127.0.0.1", 0, app, handler=_QuietHandler)
        self._server.gateway = gateway
        self.port: int = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"wecom-simulator-{self.port}", daemon=True)

    @property
    def connections_accepted(self) -> int:
        return self._server.accepted

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        self._thread.join(timeout=5)
