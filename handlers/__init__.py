"""Every handler, in one explicit list: (Event, ChangeType) -> handler. ChangeType None = any.

Handlers are thin: read the typed Event, call a workflow, write through the context's session.
"""

from __future__ import annotations

from wecom_hr.dispatch import Route

ROUTES: list[Route] = [
]
