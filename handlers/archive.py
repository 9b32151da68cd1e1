"""msgaudit_notify: WeCom has new archive messages (at most every 15 s). Pull them right after
this event's transaction commits, in a thread, so the worker is not held up by the SDK."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from storage.archive_store import request_pull
from wecom_hr.archive import service
from wecom_hr.dispatch import HandlerContext, Route
from wecom_hr.events import Event

log = logging.getLogger("wecom_hr.archive")


def on_archive_notified(ctx: HandlerContext, event: Event) -> None:
    request_pull(ctx.session)  # committed with the event: a busy puller sees it and runs again
    runtime, now = ctx.runtime, ctx.now

    def run() -> None:
        try:
            log.info("archive pull after msgaudit_notify: %s", service.pull(runtime, now))
        except Exception as exc:  # the periodic job retries (and is stored): one line here
            from wecom_hr.job_health import one_line

            log.error("archive pull after msgaudit_notify failed: %s", one_line(exc))

    def after_commit(_session: Session) -> None:
        threading.Thread(target=run, name="archive-pull", daemon=True).start()

    sa_event.listen(ctx.session, "after_commit", after_commit, once=True)


ROUTES = [Route("msgaudit_notify", None, on_archive_notified)]
