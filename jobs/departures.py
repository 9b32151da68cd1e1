"""Departure jobs: request the transfers of approved departures, and follow them up until final."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.departures import APPROVED, TRANSFERRING, ids_in_states
from wecom_hr.departures import followup, transfers

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime


def _ids(runtime: Runtime, states: tuple[str, ...]) -> list[int]:
    with runtime.db.session_scope() as session:
        return ids_in_states(session, states)


def transfer_departures(runtime: Runtime, now: datetime) -> dict[str, Any]:
    """Send every planned batch (approved departures first get their plan); settle what has nothing to wait for."""
    totals: Counter[str] = Counter()
    for departure_id in _ids(runtime, (APPROVED, TRANSFERRING)):
        totals.update(transfers.run(runtime, departure_id, now))
        totals.update(followup.settle(runtime, departure_id, now))
    return dict(totals)


def follow_up_departures(runtime: Runtime, now: datetime) -> dict[str, Any]:
    """Poll transfer_result for every departure still transferring; complete, brief and report."""
    totals: Counter[str] = Counter()
    for departure_id in _ids(runtime, (TRANSFERRING,)):
        totals.update(followup.follow_up(runtime, departure_id, now))
    return dict(totals)
