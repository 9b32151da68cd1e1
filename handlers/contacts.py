"""change_contact: members, departments and tags, kept in step with WeCom's directory."""

from __future__ import annotations

from wecom_hr.customers import directory_sync
from wecom_hr.departures import events as departure_events
from wecom_hr.dispatch import HandlerContext, Route
from wecom_hr.events import Event

EVENT = "change_contact"


def on_member_created(ctx: HandlerContext, event: Event) -> None:
    directory_sync.member_changed(ctx, event)


def on_member_updated(ctx: HandlerContext, event: Event) -> None:
    directory_sync.member_changed(ctx, event)


def on_member_deleted(ctx: HandlerContext, event: Event) -> None:
    # The departure first: it asks WeCom for the leaver's customers before it writes anything, and
    # on SQLite the first write takes the single write lock until the handler commits (callbacks
    # would wait behind WeCom's answers). Both commit together either way.
    departure_events.on_member_left(ctx, str(event.get("user_id")))  # departure handover (issue 5)
    directory_sync.member_left(ctx, event)


def on_department_changed(ctx: HandlerContext, event: Event) -> None:
    directory_sync.department_changed(ctx, event)


def on_department_deleted(ctx: HandlerContext, event: Event) -> None:
    directory_sync.department_deleted(ctx, event)


def on_tag_changed(ctx: HandlerContext, event: Event) -> None:
    directory_sync.tag_changed(ctx, event)


ROUTES = [
    Route(EVENT, "create_user", on_member_created),
    Route(EVENT, "update_user", on_member_updated),
    Route(EVENT, "delete_user", on_member_deleted),
    Route(EVENT, "create_party", on_department_changed),
    Route(EVENT, "update_party", on_department_changed),
    Route(EVENT, "delete_party", on_department_deleted),
    Route(EVENT, "update_tag", on_tag_changed),
    # Any other change type finds no route: the dispatcher marks it ignored, never an error.
]
