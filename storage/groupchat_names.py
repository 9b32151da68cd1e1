"""Group chat names, cached from WeCom's externalcontact/groupchat/get (doc 92122): the archive and
departures know a chat only by its id (wr…), and people read names.

A failed lookup is stored too (empty name, its errcode) so a chat WeCom will not describe (an
internal group, one that was dismissed) is not asked for on every page; it is asked again after
RETRY_AFTER, and a known name is refreshed after REFRESH_AFTER (chats get renamed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.archive import ArchiveDoc
from storage.db import Base

RETRY_AFTER = timedelta(days=1)
REFRESH_AFTER = timedelta(days=7)


class GroupChatName(Base):
    __tablename__ = "groupchat_names"

    chat_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    errcode: Mapped[int] = mapped_column(Integer, default=0)  # of the last lookup; 0 when it answered
    fetched_at: Mapped[datetime]


def names_of(session: Session, chat_ids: Iterable[str]) -> dict[str, str]:
    """chat_id -> name, for the chats whose name is known (others are left out)."""
    ids = sorted({i for i in chat_ids if i})
    if not ids:
        return {}
    rows = session.execute(select(GroupChatName.chat_id, GroupChatName.name)
                           .where(GroupChatName.chat_id.in_(ids), GroupChatName.name != ""))
    return {chat_id: name for chat_id, name in rows}


def _fresh(row: GroupChatName, now: datetime) -> bool:
    return now - row.fetched_at < (REFRESH_AFTER if row.name else RETRY_AFTER)


def due(session: Session, chat_ids: Iterable[str], now: datetime) -> list[str]:
    """The chats (of ``chat_ids``) to ask WeCom about: never asked, or asked too long ago."""
    ids = sorted({i for i in chat_ids if i and not i.startswith("p:")})
    if not ids:
        return []
    known = {r.chat_id: r for r in session.scalars(select(GroupChatName).where(GroupChatName.chat_id.in_(ids)))}
    return [i for i in ids if i not in known or not _fresh(known[i], now)]


def unasked_rooms(session: Session, limit: int) -> list[str]:
    """Group chats in the archive never looked up (one-to-one conversations are "p:a|b")."""
    asked = select(GroupChatName.chat_id).where(GroupChatName.chat_id == ArchiveDoc.conv).exists()
    query = (select(ArchiveDoc.conv).where(ArchiveDoc.conv != "", ArchiveDoc.conv.not_like("p:%"), ~asked)
             .distinct().limit(limit))
    return list(session.scalars(query))


def remember(session: Session, chat_id: str, name: str, errcode: int, now: datetime) -> None:
    row = session.get(GroupChatName, chat_id)
    if row is None:
        session.add(GroupChatName(chat_id=chat_id, name=name[:255], errcode=errcode, fetched_at=now))
    else:
        if name or not errcode:  # a failed refresh keeps the name last seen: it reads better than an id
            row.name = name[:255]
        row.errcode, row.fetched_at = errcode, now
    session.flush()


def matching(session: Session, text: str, limit: int = 20) -> list[tuple[str, str]]:
    """(chat_id, name) of chats whose name contains ``text`` (or whose id is ``text``), by name."""
    like = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.execute(select(GroupChatName.chat_id, GroupChatName.name)
                           .where(GroupChatName.name != "",
                                  or_(func.lower(GroupChatName.name).like(like, escape="\\"),
                                      GroupChatName.chat_id == text))
                           .order_by(GroupChatName.name, GroupChatName.chat_id).limit(limit))
    return [(chat_id, name) for chat_id, name in rows]
