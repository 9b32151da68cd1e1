"""Deliver queued WeCom messages (storage.outbox) through message/send.

WeCom's own duplicate check (same content to the same member within 30 minutes) backs up our
unique key for the one window we cannot close: a crash after WeCom accepted and before we marked sent.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from storage import outbox
from storage.db import utcnow
from wecom_hr import metrics
from wecom_hr.wecom import markdown as md
from wecom_hr.wecom.errors import WeComError

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8


def deliver(runtime: Runtime, limit: int = 50) -> int:
    """Send up to ``limit`` due messages; returns how many were attempted."""
    with runtime.db.session_scope() as session:
        batch = outbox.claim(session, LEASE, limit=limit)
    for message in batch:
        _send_one(runtime, message)
    return len(batch)


def _send_one(runtime: Runtime, message: outbox.OutboxMessage) -> None:
    body = md.fitted(dict(message.payload))  # the one limit, whichever builder made the body
    body.update(touser=message.touser, agentid=runtime.settings.wecom.agent_id,
                enable_duplicate_check=1, duplicate_check_interval=1800)
    try:
        result = runtime.wecom("app").call("POST", "message/send", body=body)
    except WeComError as exc:
        _failed(runtime, message.id, exc)
        return
    with runtime.db.session_scope() as session:
        row = session.get(outbox.OutboxMessage, message.id)
        if row is None:
            return
        row.status, row.sent_at, row.locked_until = outbox.SENT, utcnow(), None
        row.msgid = str(result.get("msgid", "")) or None
        row.response_code = result.get("response_code") or None
        row.invalid_users = result.get("invaliduser") or None
    metrics.MESSAGES_SENT.labels(kind=message.kind).inc()
    if result.get("invaliduser"):
        log.warning("outbox %s: WeCom did not deliver to %s", message.key, result["invaliduser"])


def _failed(runtime: Runtime, message_id: int, exc: WeComError) -> None:
    with runtime.db.session_scope() as session:
        row = session.get(outbox.OutboxMessage, message_id)
        if row is None:
            return
        row.last_error = str(exc)[:2000]
        row.locked_until = None
        if exc.transient and row.attempts < MAX_ATTEMPTS:
            row.status = outbox.PENDING
            row.next_attempt_at = utcnow() + timedelta(seconds=min(2 ** row.attempts, 600))
        else:
            row.status = outbox.FAILED
    log.warning("outbox %s: %s", message_id, exc)
