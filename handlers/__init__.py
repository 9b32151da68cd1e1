"""Every handler, in one explicit list: (Event, ChangeType) -> handler. ChangeType None = any.

Handlers are thin: read the typed Event, call a workflow, write through the context's session.
"""

from __future__ import annotations

from handlers import (
    archive,  # chat archive (issue 4)
    contacts,
    customers,
    departures,  # departure handover (issue 5)
)
from wecom_hr.dispatch import Route

ROUTES: list[Route] = [
    *contacts.ROUTES,   # change_contact: directory sync (issue 3)
    *customers.ROUTES,  # change_external_contact: customer pool (issue 3)
    *departures.ROUTES,  # template_card_event, sys_approval_change: departure handover (issue 5)
    *archive.ROUTES,    # msgaudit_notify: pull the chat archive (issue 4)
]
