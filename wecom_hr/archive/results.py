"""Search hits for people: highlighted snippets, the conversation around a hit, CSV rows.

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

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from storage import audit
from storage.archive import ArchiveDoc, ArchiveMessage
from storage.archive_query import parse
from storage.archive_search import Filters, search
from storage.archive_text import fold
from wecom_hr.archive.filters import describe

SNIPPET_CHARS = 40
CSV_COLUMNS = ("msgid", "time", "sender", "customer", "room", "msgtype", "text", "revoked_by")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds")


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


def hits(session: Session, ids: Sequence[int], terms: Sequence[str]) -> list[dict[str, Any]]:
    rows = {m.id: m for m in session.scalars(select(ArchiveMessage).where(ArchiveMessage.id.in_(list(ids))))}
    revoked = _revocations(session, (m.msgid for m in rows.values()))
    out = []
    for i in ids:
        m = rows[i]
        item = _as_dict(m, revoked.get(m.msgid))
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
    items = [_as_dict(rows[i], revoked.get(rows[i].msgid)) for i in ids]
    return {"message": items[len(earlier)], "before": items[:len(earlier)], "after": items[len(earlier) + 1:],
            "conversation": doc.conv}


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_lines(session: Session, ids: Sequence[int], batch: int = 1000) -> Iterator[str]:
    """CSV text (header first) for the messages ``ids``, in that order."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        rows = {m.id: m for m in session.scalars(select(ArchiveMessage).where(ArchiveMessage.id.in_(list(chunk))))}
        revoked = _revocations(session, (m.msgid for m in rows.values()))
        for i in chunk:
            m = rows[i]
            # A leading = + - @ (or a TAB/CR/LF before one, which spreadsheets strip) makes them run
            # the cell as a formula; a quote defuses it.
            text = "'" + m.text if m.text[:1] in _FORMULA_STARTS else m.text
            writer.writerow((m.msgid, iso(m.msgtime), m.sender, m.customer, m.roomid, m.msgtype, text,
                             revoked.get(m.msgid, "")))
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
