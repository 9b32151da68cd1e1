"""First run: a new installation fills its directory and customer pool at start-up, in the background.

Without this, managers would see an empty team until the 01:30 directory job. When the directory
is empty, `serve` (and `worker` / `scheduler` run alone) syncs it once in a background thread — the
callback answers meanwhile — and when the customer pool is still empty after that, a customer
resync follows. Both run as the ordinary jobs (their locks, so several processes start one run).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from storage.customers import Customer
from storage.directory import Member

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime

log = logging.getLogger("wecom_hr.first_run")


def _empty(runtime: Runtime, model: Any) -> bool:
    with runtime.db.session_scope() as s:
        return s.scalar(select(model).limit(1)) is None


def fill(runtime: Runtime) -> dict[str, Any]:
    """Sync the directory if it is empty, then resync customers if the pool is empty; what was done."""
    from wecom_hr.scheduler import run_job

    done: dict[str, Any] = {}
    if _empty(runtime, Member):
        log.info("first run: the directory is empty, reading it from WeCom (sync-directory)")
        done["sync-directory"] = run_job(runtime, "sync-directory")
        log.info("first run: directory read: %s", done["sync-directory"])
    if _empty(runtime, Customer) and not _empty(runtime, Member):
        log.info("first run: the customer pool is empty, reading every member's customers (resync-customers)")
        done["resync-customers"] = run_job(runtime, "resync-customers")
        log.info("first run: customer pool filled: %s", done["resync-customers"])
    return done


def _run(runtime: Runtime) -> None:
    try:
        fill(runtime)
    except Exception as exc:  # the nightly jobs try again; the operator reads one line, not a traceback
        log.error("first run: could not fill the directory and customer pool (%s: %s); "
                  "the nightly jobs will retry, `wecom-hr doctor` shows why", type(exc).__name__, str(exc)[:300])


def start(runtime: Runtime) -> threading.Thread:
    """Start the first-run fill in a daemon thread; returns at once."""
    thread = threading.Thread(target=_run, args=(runtime,), name="first-run", daemon=True)
    thread.start()
    return thread
