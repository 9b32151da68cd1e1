"""change_external_contact: every ChangeType, each a one-line call into the customer pool."""

from __future__ import annotations

from wecom_hr.customers import sync_events
from wecom_hr.departures import events as departure_events
from wecom_hr.dispatch import HandlerContext, Route
from wecom_hr.events import Event

EVENT = "change_external_contact"


def on_customer_added(ctx: HandlerContext, event: Event) -> None:
    sync_events.customer_added(ctx, event)


def on_customer_half_added(ctx: HandlerContext, event: Event) -> None:
    sync_events.customer_added(ctx, event, half=True)


def on_customer_edited(ctx: HandlerContext, event: Event) -> None:
    sync_events.customer_edited(ctx, event)


def on_customer_deleted(ctx: HandlerContext, event: Event) -> None:
    sync_events.customer_removed_by_member(ctx, event)


def on_follow_user_deleted(ctx: HandlerContext, event: Event) -> None:
    sync_events.member_removed_by_customer(ctx, event)


def on_transfer_failed(ctx: HandlerContext, event: Event) -> None:
    sync_events.transfer_failed(ctx, event)
    departure_events.on_transfer_failed(ctx, event)  # departure handover (issue 5)


def on_msg_audit_approved(ctx: HandlerContext, event: Event) -> None:
    sync_events.archive_agreed(ctx, event)


ROUTES = [
    Route(EVENT, "add_external_contact", on_customer_added),
    Route(EVENT, "add_half_external_contact", on_customer_half_added),
    Route(EVENT, "edit_external_contact", on_customer_edited),
    Route(EVENT, "del_external_contact", on_customer_deleted),
    Route(EVENT, "del_follow_user", on_follow_user_deleted),
    Route(EVENT, "transfer_fail", on_transfer_failed),
    Route(EVENT, "msg_audit_approved", on_msg_audit_approved),
]
