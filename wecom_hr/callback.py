"""/wecom/callback: GET answers WeCom's URL check; POST verifies, decrypts, parses and stores the
event in the inbox, and only then answers 200. Handling happens later, in the inbox worker.

Answers: 200 stored (or already stored: a retry), 400 undecryptable/malformed, 403 bad signature
or stale timestamp, 413 too large, 503 database down (so WeCom retries). No stack traces, no secrets.
"""

from __future__ import annotations

import logging
import re
import time

from flask import Blueprint, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from wecom_hr import metrics
from wecom_hr.crypto import CallbackCryptoError, SignatureError, WXBizMsgCrypt
from wecom_hr.events import Event, MalformedEventError, parse_event, parse_xml
from wecom_hr.inbox_writer import StoreError
from wecom_hr.runtime import Runtime

log = logging.getLogger(__name__)
bp = Blueprint("callback", __name__)
# WeCom's envelope: CDATA sections are fine before <Encrypt>; any other "<!" (DOCTYPE, ENTITY) or an
# entity reference sends the body to defusedxml instead, which refuses it.
_ENCRYPT = re.compile(
    rb"\A\s*<xml>(?:(?!<!(?!\[CDATA\[))[^&])*?<Encrypt><!\[CDATA\[([A-Za-z0-9+/]+={0,2})\]\]></Encrypt>")
SIGNED = ("msg_signature", "timestamp", "nonce")


def _runtime() -> Runtime:
    return current_app.extensions["wecom_hr"]


def _crypto() -> WXBizMsgCrypt:
    return current_app.extensions["wecom_hr.crypto"]


def _reject(status: int, outcome: str, text: str) -> Response:
    metrics.CALLBACKS.labels(outcome=outcome).inc()
    return Response(text, status=status, mimetype="text/plain")


def _signed_params() -> tuple[str, str, str] | None:
    values = tuple(request.args.get(name, "") for name in SIGNED)
    return values if all(values) else None  # type: ignore[return-value]


@bp.get("/wecom/callback")
def url_check() -> Response:
    params = _signed_params()
    echostr = request.args.get("echostr", "")
    if params is None or not echostr:
        return _reject(400, "rejected_params", "missing msg_signature, timestamp, nonce or echostr")
    try:
        plain = _crypto().verify_and_decrypt(*params, echostr)
    except SignatureError:
        return _reject(403, "rejected_signature", "bad signature")
    except CallbackCryptoError:
        return _reject(400, "rejected_decrypt", "cannot decrypt echostr")
    return Response(plain, status=200, mimetype="text/plain")


@bp.post("/wecom/callback")
def receive() -> Response:
    started = time.perf_counter()
    runtime = _runtime()
    opened = open_envelope(runtime)
    if isinstance(opened, Response):
        return opened
    xml, event = opened
    try:
        event_id = runtime.inbox_writer.store(xml, event.event or event.msg_type, event.change_type)
    except (SQLAlchemyError, StoreError) as exc:
        log.error("callback not stored, answering 503 so WeCom retries: %s", type(exc).__name__)
        return _reject(503, "db_down", "storage unavailable")
    if event_id is None:
        metrics.CALLBACKS.labels(outcome="duplicate").inc()
    else:
        metrics.CALLBACKS.labels(outcome="acknowledged").inc()
        runtime.wakeup.set()
    metrics.ACK_SECONDS.observe(time.perf_counter() - started)
    return Response("success", status=200, mimetype="text/plain")


def open_envelope(runtime: Runtime) -> tuple[bytes, Event] | Response:
    """Size, signature, decryption and parsing of the current request: the event, or the refusal."""
    limit = runtime.settings.callback.max_body_bytes
    if request.content_length is None or request.content_length > limit:
        return _reject(413 if request.content_length else 411, "rejected_size", "body missing or too large")
    params = _signed_params()
    if params is None:
        return _reject(403, "rejected_signature", "missing signature parameters")
    window = runtime.settings.callback.replay_window_seconds
    if window and not _fresh(params[1], window):
        return _reject(403, "rejected_stale", "timestamp outside the replay window")
    try:
        encrypt = _encrypt_field(request.get_data(cache=False))
    except MalformedEventError:
        return _reject(400, "rejected_malformed", "malformed envelope")
    try:
        xml = _crypto().verify_and_decrypt(*params, encrypt)
    except SignatureError:
        return _reject(403, "rejected_signature", "bad signature")
    except CallbackCryptoError:
        return _reject(400, "rejected_decrypt", "cannot decrypt")
    try:
        return xml, parse_event(xml)
    except MalformedEventError:
        return _reject(400, "rejected_malformed", "malformed event")


def _encrypt_field(body: bytes) -> str:
    """The envelope's <Encrypt>: a strict match for WeCom's own shape (no XML parser touches
    unauthenticated input), else defusedxml for any other well-formed envelope."""
    match = _ENCRYPT.search(body)
    if match:
        return match.group(1).decode("ascii")
    encrypt = parse_xml(body).get("encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise MalformedEventError("no Encrypt element")
    return encrypt


def _fresh(timestamp: str, window: int) -> bool:
    try:
        return abs(time.time() - int(timestamp)) <= window
    except ValueError:
        return False
