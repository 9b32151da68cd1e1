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

Listener = Callable[..., None]


def _listeners() -> dict[str, tuple[Listener, ...]]:
    from wecom_hr.departures import events as departures  # late: features import this module

    return {
        MEMBER_LEFT: (departures.on_member_left,),  # a leaver with customers gets a handover (issue 5)
    }


def listeners(name: str) -> tuple[Listener, ...]:
    table = _listeners()
    if name not in table:
        raise KeyError(f"unknown internal event {name!r}; known: {', '.join(sorted(table))}")
    return table[name]


def emit(name: str, ctx: HandlerContext, *args: Any) -> None:
    for listener in listeners(name):
        listener(ctx, *args)
