"""The scheduler: APScheduler with a persistent job store, one active across processes.

Every `wecom-hr scheduler` process competes for a renewable lease; the holder runs APScheduler,
the others stand by and take over within ``LEASE_TTL`` if it dies. Misfired runs are coalesced
and caught up once. Each run also holds a per-job lock, so a manual `jobs run` never overlaps it.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from jobs.registry import all_jobs
from wecom_hr import job_health
from wecom_hr.config import ConfigError
from wecom_hr.locks import holder_id
from wecom_hr.runtime import Runtime

log = logging.getLogger(__name__)
LEASE_TTL = 30.0
_ACTIVE: dict[str, Runtime] = {}  # APScheduler stores jobs by reference; this is how they find us


def run_job(runtime: Runtime, name: str, now: datetime | None = None) -> dict[str, Any]:
    """Run one job now (or "as of" ``now``); also used by `wecom-hr jobs run`."""
    from wecom_hr.outbox import deliver

    spec = all_jobs()[name]
    with runtime.lock(f"job:{name}", spec.lock_ttl) as got:
        if not got:
            return {"skipped": "another run of this job is in progress"}
        job_health.record_safely("start", job_health.started, runtime, name)
        try:
            result = spec.func(runtime, now or datetime.now(UTC))
        except Exception as exc:
            job_health.record_safely("failure", job_health.failed, runtime, name, exc)
            raise
        job_health.record_safely("success", job_health.succeeded, runtime, name)
    while deliver(runtime):
        pass
    return result


def _scheduled(name: str) -> None:
    runtime = _ACTIVE.get("runtime")
    if runtime is None:
        return
    try:
        log.info("job %s: %s", name, run_job(runtime, name))
    except Exception as exc:  # stored and counted by run_job; the operator reads one line
        log.error("job %s failed: %s", name, job_health.one_line(exc))
        log.debug("job %s failure details", name, exc_info=True)


def schedule_for(runtime: Runtime, name: str) -> CronTrigger | None:
    spec = all_jobs()[name]
    table = runtime.settings.section("jobs").get(name, {})
    if table.get("enabled", True) is False:
        return None
    expr = table.get("cron", spec.cron)
    try:
        return CronTrigger.from_crontab(expr, timezone=ZoneInfo(runtime.settings.timezone))
    except ValueError as exc:
        raise ConfigError(f"jobs.{name}.cron", str(exc)) from None


def build(runtime: Runtime) -> BackgroundScheduler:
    store = SQLAlchemyJobStore(engine=runtime.db.engine, tablename="apscheduler_jobs")
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=ZoneInfo(runtime.settings.timezone),
                                    job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1})
    for name in all_jobs():
        trigger = schedule_for(runtime, name)
        if trigger is not None:
            scheduler.add_job(_scheduled, trigger, args=[name], id=name, name=name, replace_existing=True)
    return scheduler


def run_forever(runtime: Runtime, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    holder = holder_id()
    scheduler: BackgroundScheduler | None = None
    _ACTIVE["runtime"] = runtime
    try:
        while not stop.is_set():
            leader = runtime.locks.renewable("scheduler", holder, LEASE_TTL)
            if leader and scheduler is None:
                log.info("scheduler %s is now active", holder)
                try:
                    scheduler = build(runtime)
                    scheduler.start()
                except Exception:  # e.g. the job store unreachable: stay standby, try next round
                    log.exception("scheduler %s could not start; retrying", holder)
                    scheduler = None
            elif not leader and scheduler is not None:
                log.warning("scheduler %s lost its lease; standing by", holder)
                if scheduler.running:
                    scheduler.shutdown(wait=False)
                scheduler = None
            stop.wait(LEASE_TTL / 3)
    finally:
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
