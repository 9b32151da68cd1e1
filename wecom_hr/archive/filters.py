"""Search filters from request arguments or CLI options, shared so both read them the same way.

Times: epoch milliseconds, an ISO date (``2024-05-01``) or datetime; without a zone they are in
the server's timezone ([server] timezone). A date in ``to`` means the end of that day.
Sender, customer and group chat may be given by name (``resolve``; ``suggestions`` for the inputs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage import groupchat_names
from storage.archive_search import Filters
from storage.customers import Customer
from storage.directory import Member
from storage.groupchat_names import GroupChatName


class FilterError(ValueError):
    """A filter value cannot be understood; the message names the parameter."""


def parse_time(value: str, tz: str, name: str, end: bool = False) -> int | None:
    value = value.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        if len(value) > 15:  # epoch milliseconds beyond the year 33000 are not a time
            raise FilterError(f"{name} must be epoch milliseconds of at most 15 digits")
        return int(value)
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
            moment = datetime(day.year, day.month, day.day)
        else:
            moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        raise FilterError(f"{name} must be a date (2024-05-01), an ISO datetime or epoch milliseconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    try:
        return int(moment.timestamp() * 1000)
    except (OverflowError, OSError, ValueError):
        raise FilterError(f"{name} is out of range") from None


def from_args(args: Mapping[str, str], tz: str) -> Filters:
    def text(name: str) -> str:
        value = (args.get(name) or "").strip()
        if len(value) > 300:
            raise FilterError(f"{name} is too long")
        return value

    time_from = parse_time(args.get("from") or "", tz, "from")
    time_to = parse_time(args.get("to") or "", tz, "to", end=True)
    if time_from is not None and time_to is not None and time_from >= time_to:
        raise FilterError("from must be before to")
    return Filters(sender=text("sender"), customer=text("customer"), room=text("room"), msgtype=text("msgtype"),
                   time_from=time_from, time_to=time_to)


def describe(f: Filters) -> dict[str, object]:
    """The filters as recorded in the audit log (only those that were set)."""
    values = {"sender": f.sender, "customer": f.customer, "room": f.room, "msgtype": f.msgtype,
              "from": f.time_from, "to": f.time_to}
    return {k: v for k, v in values.items() if v not in ("", None)}


# -- names ------------------------------------------------------------------------------------
# The page's 发送人 / 客户 / 群聊 fields take what people know: a member's name, a customer's name
# (with the company: 张三（甲公司）) or a group chat's name; an id still works. Two people with the
# same label are told apart by the suggestion naming the id after SEPARATOR.

SEPARATOR = " · "
FIELDS = ("sender", "customer", "room")
KIND_LABELS = {"member": "成员", "customer": "客户", "room": "群聊"}
MAX_SUGGESTIONS = 20


def customer_label(name: str, corp: str, fallback: str = "") -> str:
    name = name or fallback
    return f"{name}（{corp}）" if name and corp else name


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _member_ids(session: Session, value: str) -> list[str]:
    return list(session.scalars(select(Member.userid).where(Member.name == value).order_by(Member.userid)))


def _customer_ids(session: Session, value: str) -> list[str]:
    rows = session.execute(select(Customer.external_userid, Customer.name, Customer.corp_name).where(
        or_(Customer.name == value, Customer.name == value.split("（", 1)[0])).order_by(Customer.external_userid))
    return [ext for ext, name, corp in rows if value in (name, customer_label(name, corp))]


def _known(session: Session, field: str, value: str) -> bool:
    if field == "room":
        return value.startswith("p:") or session.get(GroupChatName, value) is not None
    found = session.get(Customer, value) is not None
    return found or (field == "sender" and session.get(Member, value) is not None)


def _resolve_one(session: Session, field: str, value: str) -> str:
    if not value:
        return value
    if SEPARATOR in value:
        tail = value.rsplit(SEPARATOR, 1)[1].strip()
        if _known(session, field, tail):
            return tail
    if _known(session, field, value):
        return value
    if field == "room":
        ids = list(session.scalars(select(GroupChatName.chat_id).where(GroupChatName.name == value)))
    else:
        ids = (_member_ids(session, value) if field == "sender" else []) + _customer_ids(session, value)
    if len(ids) > 1:
        kind = "群聊" if field == "room" else "人"
        raise FilterError(f"「{value}」对应 {len(ids)} 个{kind}，请从输入框的建议中选择一个")
    return ids[0] if ids else value  # no such name: perhaps an id the directory does not know yet


def resolve(session: Session, f: Filters) -> Filters:
    """The filters with names (as typed or picked from the suggestions) replaced by ids."""
    return replace(f, sender=_resolve_one(session, "sender", f.sender),
                   customer=_resolve_one(session, "customer", f.customer), room=_resolve_one(session, "room", f.room))


def suggestions(session: Session, field: str, text: str, limit: int = MAX_SUGGESTIONS) -> list[dict[str, str]]:
    """What the field's input may offer for ``text``: [{value, id, kind, kind_label}], names first."""
    text = text.strip()[:64]
    if not text or field not in FIELDS:
        return []
    found: list[tuple[str, str, str]] = []  # (label, id, kind)
    if field == "room":
        found += [(name, chat_id, "room") for chat_id, name in groupchat_names.matching(session, text, limit)]
    else:
        like = _like(text)
        if field == "sender":
            rows = session.execute(select(Member.userid, Member.name).where(
                or_(func.lower(Member.name).like(like, escape="\\"), Member.userid == text))
                .order_by(Member.name, Member.userid).limit(limit))
            found += [(name or userid, userid, "member") for userid, name in rows]
        named = or_(func.lower(Customer.name).like(like, escape="\\"),
                    func.lower(Customer.corp_name).like(like, escape="\\"), Customer.external_userid == text)
        customers = session.execute(select(Customer.external_userid, Customer.name, Customer.corp_name).where(named)
                                    .order_by(Customer.name, Customer.external_userid).limit(limit))
        found += [(customer_label(name, corp, ext), ext, "customer") for ext, name, corp in customers]
    seen: dict[str, int] = {}
    for label, _, _ in found:
        seen[label] = seen.get(label, 0) + 1
    return [{"value": label if seen[label] == 1 else f"{label}{SEPARATOR}{ident}", "id": ident, "kind": kind,
             "kind_label": KIND_LABELS[kind]} for label, ident, kind in found[:limit]]
