"""Internal events: what one feature tells the others, and who listens — listed here, in one place,
as handlers/__init__.py lists the handlers of WeCom's events.

A feature emits a named event with ``emit(name, ctx, ...)`` inside the unit of work that caused it
(the listener writes through the same session, so both commit or roll back together). Adding a
reaction means adding a line to ``_listeners`` below, where every reader can see it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wecom_hr.dispatch import HandlerContext

# The directory learned that a member left: a full sync found WeCom no longer knows them (60111), or
# an update_user set status 5. Args: (ctx, userid). (A delete_user callback's handler,
# handlers/contacts.py, starts the departure itself, before the directory write.)
MEMBER_LEFT = "member_left"
# A departure was approved (from the WeCom card or the console), inside decision.decide's unit of work.
# Args: (ctx, departure).
DEPARTURE_APPROVED = "departure_approved"
# A departure was started and its snapshot written (start.py, after snapshot.write). Args: (ctx, departure_id).
DEPARTURE_STARTED = "departure_started"
# WeCom confirmed a departure's customer is the successor's (departures/followup.py). Args: (ctx, departure_id,
# handover, takeover, external_userid).
CUSTOMER_TRANSFERRED = "customer_transferred"
# A customer's transfer ended without success: refused, successor full, no record, failed (departures/followup.py).
# Args: (ctx, departure_id, handover, external_userid).
CUSTOMER_NOT_TRANSFERRED = "customer_not_transferred"
# Every customer of a departure is final and it completed (departures/followup.py). Args: (ctx, departure_id).
DEPARTURE_COMPLETED = "departure_completed"

# Decrypted chat messages were appended to the archive, inside the append's unit of work (archive pull).
# Args: (ctx, messages: list[storage.archive_store.NewMessage]).
MESSAGES_ARCHIVED = "messages_archived"

Listener = Callable[..., None]


def _listeners() -> dict[str, tuple[Listener, ...]]:
    from wecom_hr.departures import events as departures  # late: features import this module
    from wecom_hr.departures import questionnaire
    from wecom_hr.kpi import replies as kpi_replies
    from wecom_hr.receivables import handover, precheck
    from wecom_hr.risk import detectors as risk_detectors
    from wecom_hr.risk import ownership as risk_ownership

    return {
        MEMBER_LEFT: (departures.on_member_left,),  # a leaver with customers gets a handover (issue 5)
        DEPARTURE_APPROVED: (questionnaire.on_departure_approved,),  # the leaver gets the 离职问卷 (issue 17)
        DEPARTURE_STARTED: (precheck.on_departure_started,),  # finance confirms the open receivables (issue 17)
        CUSTOMER_TRANSFERRED: (handover.on_customer_transferred,  # receivables follow the customer (issue 17)
                               risk_ownership.on_customer_transferred),  # the successor owns the customer (issue 18)
        CUSTOMER_NOT_TRANSFERRED: (handover.on_customer_not_transferred,),  # the manager holds them (issue 17)
        DEPARTURE_COMPLETED: (handover.on_departure_completed,),  # what the leaver still holds (issue 17)
        MESSAGES_ARCHIVED: (kpi_replies.on_messages_archived,  # reply times, coverage (issue 18)
                            risk_detectors.on_messages_archived),  # off_assignment, contact_diversion (issue 18)
    }


def listeners(name: str) -> tuple[Listener, ...]:
    table = _listeners()
    if name not in table:
        raise KeyError(f"unknown internal event {name!r}; known: {', '.join(sorted(table))}")
    return table[name]


def emit(name: str, ctx: HandlerContext, *args: Any) -> None:
    for listener in listeners(name):
        listener(ctx, *args)
