"""Search hits for people: highlighted snippets, the conversation around a hit, CSV rows — with the
names of members, customers (with their company) and group chats next to the ids.

Folding keeps lengths, so an offset found in the folded text marks the same characters in the
original. Snippets are HTML-escaped before <mark> is added: archived text is untrusted input.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from storage import audit, groupchat_names
from storage.archive import ArchiveDoc, ArchiveMessage
from storage.archive_query import parse
from storage.archive_search import Filters, search
from storage.archive_text import fold
from storage.customers import Customer
from storage.directory import Member
from wecom_hr.archive.filters import customer_label, describe
from wecom_hr.wecom import WeComClient
from wecom_hr.wecom.errors import WeComAPIError, WeComError

SNIPPET_CHARS = 40
CSV_COLUMNS = ("msgid", "time", "sender", "sender_name", "customer", "customer_name", "room", "room_name",
               "msgtype", "text", "revoked_by")
LEARN_BUDGET = 10  # groupchat/get calls one request may make; the cache fills over a few pages


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


def local_time(ms: int, tz: str) -> str:
    """``2024-05-01 10:00:00+08:00``: the server's local time, with its offset so it is never ambiguous."""
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(tz)).isoformat(sep=" ", timespec="seconds")


def people_names(session: Session, ids: Iterable[str]) -> dict[str, str]:
    """Member userid -> name, external userid -> 名字（公司）; ids nobody knows are left out."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    out = {ext: customer_label(name, corp) for ext, name, corp in session.execute(
        select(Customer.external_userid, Customer.name, Customer.corp_name).where(Customer.external_userid.in_(wanted)))
        if name}
    out.update({u: name for u, name in session.execute(
        select(Member.userid, Member.name).where(Member.userid.in_(wanted))) if name})
    return out


def _names(session: Session, rows: Iterable[ArchiveMessage]) -> tuple[dict[str, str], dict[str, str]]:
    listed = list(rows)
    return (people_names(session, (i for m in listed for i in (m.sender, m.customer))),
            groupchat_names.names_of(session, (m.roomid for m in listed)))


def learn_chat_names(session: Session, client: WeComClient, chat_ids: Iterable[str], now: datetime,
                     budget: int = LEARN_BUDGET) -> int:
    """Ask WeCom's externalcontact/groupchat/get (doc 92122) for chats whose name is unknown or old,
    and cache the answers; at most ``budget`` calls, and none after WeCom could not be reached.
    need_name is 0: it asks for the members' names, which the console does not need."""
    learned: list[tuple[str, str, int]] = []  # written after the calls: no write lock held while WeCom answers
    for chat_id in groupchat_names.due(session, chat_ids, now)[:budget]:
        try:
            data = client.call("POST", "externalcontact/groupchat/get", body={"chat_id": chat_id, "need_name": 0})
        except WeComAPIError as exc:
            if exc.transient:
                break
            learned.append((chat_id, "", int(exc.errcode or -1)))  # e.g. an internal group
        except WeComError:
            break
        else:
            learned.append((chat_id, str((data.get("group_chat") or {}).get("name") or ""), 0))
    for chat_id, name, errcode in learned:
        groupchat_names.remember(session, chat_id, name, errcode, now)
    asked = len(learned)
    return asked


def _spans(folded: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    spans = []
    for term in terms:
        at = folded.find(term)
        while at >= 0:
            spans.append((at, at + len(term)))
            at = folded.find(term, at + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def snippet(text: str, terms: Sequence[str], width: int = SNIPPET_CHARS) -> str:
    """An HTML snippet around the first hit, every hit inside it wrapped in <mark>."""
    spans = _spans(fold(text), terms)
    first = spans[0][0] if spans else 0
    lo = max(0, first - width // 2)
    hi = min(len(text), lo + width + (spans[0][1] - spans[0][0] if spans else 0))
    out, pos = [], lo
    for start, end in spans:
        if end <= lo or start >= hi:
            continue
        start, end = max(start, lo), min(end, hi)
        out += [html.escape(text[pos:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        pos = end
    out.append(html.escape(text[pos:hi]))
    return ("…" if lo else "") + "".join(out).replace("\n", " ") + ("…" if hi < len(text) else "")


def _revocations(session: Session, msgids: Iterable[str]) -> dict[str, str]:
    """original msgid -> the msgid of the message that recalled it (in either arrival order)."""
    ids = list(msgids)
    if not ids:
        return {}
    rows = session.execute(select(ArchiveMessage.ref_msgid, ArchiveMessage.msgid)
                           .where(ArchiveMessage.ref_msgid.in_(ids), ArchiveMessage.msgtype == "revoke"))
    return {ref: msgid for ref, msgid in rows}


def _as_dict(m: ArchiveMessage, revoked_by: str | None) -> dict[str, Any]:
    return {"msgid": m.msgid, "sender": m.sender, "customer": m.customer, "room": m.roomid, "msgtype": m.msgtype,
            "action": m.action, "time": iso(m.msgtime), "msgtime": m.msgtime, "text": m.text,
            "revokes": m.ref_msgid or None, "revoked_by": revoked_by}


def _named(item: dict[str, Any], people: dict[str, str], rooms: dict[str, str]) -> dict[str, Any]:
    return {**item, "sender_name": people.get(item["sender"], item["sender"]),
            "customer_name": people.get(item["customer"], item["customer"]),
            "room_name": rooms.get(item["room"], item["room"])}


def hits(session: Session, ids: Sequence[int], terms: Sequence[str]) -> list[dict[str, Any]]:
    rows = {m.id: m for m in session.scalars(select(ArchiveMessage).where(ArchiveMessage.id.in_(list(ids))))}
    revoked = _revocations(session, (m.msgid for m in rows.values()))
    people, rooms = _names(session, rows.values())
    out = []
    for i in ids:
        m = rows[i]
        item = _named(_as_dict(m, revoked.get(m.msgid)), people, rooms)
        item["snippet"] = snippet(m.text, terms)
        del item["text"]
        out.append(item)
    return out


def context(session: Session, msgid: str, before: int = 10, after: int = 10) -> dict[str, Any] | None:
    """The message and its neighbours in the same conversation, in time order."""
    m = session.scalar(select(ArchiveMessage).where(ArchiveMessage.msgid == msgid))
    if m is None:
        return None
    doc = session.get(ArchiveDoc, m.id)
    assert doc is not None
    key = tuple_(ArchiveDoc.msgtime, ArchiveDoc.id)
    around = select(ArchiveDoc.id).where(ArchiveDoc.conv == doc.conv)
    earlier = list(session.scalars(around.where(key < (doc.msgtime, doc.id))
                                   .order_by(ArchiveDoc.msgtime.desc(), ArchiveDoc.id.desc()).limit(before)))
    later = list(session.scalars(around.where(key > (doc.msgtime, doc.id))
                                 .order_by(ArchiveDoc.msgtime, ArchiveDoc.id).limit(after)))
    ids = [*reversed(earlier), m.id, *later]
    rows = {r.id: r for r in session.scalars(select(ArchiveMessage).where(ArchiveMessage.id.in_(ids)))}
    revoked = _revocations(session, (r.msgid for r in rows.values()))
    people, rooms = _names(session, rows.values())
    items = [_named(_as_dict(rows[i], revoked.get(rows[i].msgid)), people, rooms) for i in ids]
    return {"message": items[len(earlier)], "before": items[:len(earlier)], "after": items[len(earlier) + 1:],
            "conversation": doc.conv}


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def _cell(value: str) -> str:
    # A leading = + - @ (or a TAB/CR/LF before one, which spreadsheets strip) makes them run the
    # cell as a formula; a quote defuses it. Names are typed by customers too: every cell, not only text.
    return "'" + value if value[:1] in _FORMULA_STARTS else value


def csv_lines(session: Session, ids: Sequence[int], batch: int = 1000, tz: str = "UTC") -> Iterator[str]:
    """CSV text (header first) for the messages ``ids``, in that order; times in ``tz`` with the offset."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        rows = {m.id: m for m in session.scalars(select(ArchiveMessage).where(ArchiveMessage.id.in_(list(chunk))))}
        revoked = _revocations(session, (m.msgid for m in rows.values()))
        people, rooms = _names(session, rows.values())
        for i in chunk:
            m = rows[i]
            cells = (m.msgid, local_time(m.msgtime, tz), m.sender, people.get(m.sender, ""), m.customer,
                     people.get(m.customer, ""), m.roomid, rooms.get(m.roomid, ""), m.msgtype, m.text,
                     revoked.get(m.msgid, ""))
            writer.writerow([_cell(c) for c in cells])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    if buf.getvalue():
        yield buf.getvalue()


def find(session: Session, actor: str, q: str, filters: Filters, page: int = 1, per_page: int = 50,
         via: str = "api") -> dict[str, Any]:
    """Search, shape the hits and record the search in the audit log (who, query, filters, count)."""
    query = parse(q)
    result = search(session, query, filters, limit=per_page, offset=(page - 1) * per_page)
    audit.record(session, actor, "archive.search", {"query": q, "filters": describe(filters), "count": result.total,
                                                    "page": page, "via": via})
    return {"query": q, "total": result.total, "page": page, "per_page": per_page, "plan": result.plan,
            "hits": hits(session, result.ids, query.highlight_terms())}


def export_ids(session: Session, actor: str, q: str, filters: Filters, max_rows: int, via: str = "api") -> list[int]:
    result = search(session, parse(q), filters, limit=max_rows)
    audit.record(session, actor, "archive.export", {"query": q, "filters": describe(filters), "count": result.total,
                                                    "exported": len(result.ids), "via": via})
    return result.ids
