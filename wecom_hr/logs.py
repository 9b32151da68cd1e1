"""Logging: plain or JSON lines, with secrets (access tokens, corp secrets) masked on every line."""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar

event_id_var: ContextVar[int | None] = ContextVar("event_id", default=None)
_SECRET = re.compile(r"(access_token|corpsecret|secret|token)=([^&\s\"']+)", re.IGNORECASE)


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: f"{m.group(1)}=***", text)


class _Redacting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        record.event_id = event_id_var.get()
        return True


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"ts": self.formatTime(record), "level": record.levelname, "logger": record.name,
               "msg": record.getMessage(), "event_id": getattr(record, "event_id", None)}
        if record.exc_info:
            doc["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False)


class RedactFilter(logging.Filter):
    """Masks secrets in a logger's own records, whatever handlers (or test captures) see them."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


def protect_http_loggers() -> None:
    """urllib3 logs full request URLs, access_token included, at DEBUG: mask them at the source."""
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, RedactFilter) for f in logger.filters):
        logger.addFilter(RedactFilter())


def configure(json_lines: bool = False, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_Redacting())
    handler.setFormatter(_Json() if json_lines else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [event=%(event_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # urllib3 logs full URLs (with access_token) at DEBUG; keep it quiet whatever the level.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
