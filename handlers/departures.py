"""template_card_event (the approval card; the checklist's sign-off cards, issue 17) and sys_approval_change
(a resignation approval), issue 5.

change_contact/delete_user and change_external_contact/transfer_fail belong to the directory and
customer-pool handlers, which call wecom_hr.departures.events for us.
"""

from __future__ import annotations

from wecom_hr.departures import decision, events, signoffs
from wecom_hr.dispatch import HandlerContext, Route
from wecom_hr.events import Event


def on_card_clicked(ctx: HandlerContext, event: Event) -> None:
    if str(event.get("task_id")).startswith(signoffs.TASK_PREFIX):
        signoffs.on_card_clicked(ctx, event)  # a sign-off card of the handover checklist (issue 17)
    else:
        decision.on_card_clicked(ctx, event)


def on_approval_changed(ctx: HandlerContext, event: Event) -> None:
    events.on_approval_changed(ctx, event)


ROUTES = [
    Route("template_card_event", None, on_card_clicked),
    Route("sys_approval_change", None, on_approval_changed),
]
