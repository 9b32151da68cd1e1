"""Customer pool jobs: the nightly directory sync and resync, and the deletion-alert digest."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from wecom_hr.customers.alerts import send_digests
from wecom_hr.customers.directory_sync import sync_directory
from wecom_hr.customers.resync import resync_customers as run_resync

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime


def sync_directory_nightly(runtime: Runtime, now: datetime) -> dict[str, Any]:
    with runtime.db.session_scope() as session:
        counts = sync_directory(session, runtime.wecom("contact"), now, runtime)  # leavers announced
    return dict(counts.__dict__)


def resync_customers(runtime: Runtime, now: datetime) -> dict[str, Any]:
    return run_resync(runtime, now)


def send_customer_alert_digest(runtime: Runtime, now: datetime) -> dict[str, Any]:
    return send_digests(runtime, now)
