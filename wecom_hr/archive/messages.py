"""Decrypted archive messages -> rows: who, to whom, which chat, which customer, and the text.

The extracted text is what search and watch-lists see (never the serialized JSON, where a keyword
could hide inside a URL or a field name). The raw JSON is kept unchanged, so unknown message
types lose nothing and can be re-read when we learn them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from storage.archive_store import NewMessage


class MessageFormatError(ValueError):
    """The decrypted payload is not a JSON object with a msgid."""


def is_external(userid: str) -> bool:
    # External contacts (customers) have userids starting with "wo" (WeChat) or "wm" (WeCom).
    return userid.startswith(("wo", "wm"))


def _inner(value: Any) -> dict[str, Any]:
    """mixed/chatrecord items carry their content as a JSON string (sometimes as an object)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {"content": value}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _fields(obj: Any, *names: str) -> str:
    if not isinstance(obj, dict):
        return ""
    return "\n".join(str(obj[n]) for n in names if isinstance(obj.get(n), (str, int)) and str(obj[n]))


def _items_text(items: Any, type_key: str) -> str:
    parts = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        kind = str(item.get(type_key, "")).lower().removeprefix("chatrecord")
        content = _inner(item.get("content"))
        extractor = _EXTRACTORS.get(kind)
        parts.append(extractor({kind: content}) if extractor else _fields(content, "content", "title"))
    return "\n".join(p for p in parts if p)


def _chatrecord(body: dict[str, Any]) -> str:
    record = body.get("chatrecord", {})
    title = _fields(record, "title")
    return "\n".join(p for p in (title, _items_text(record.get("item"), "type")) if p)


_EXTRACTORS: dict[str, Callable[[dict[str, Any]], str]] = {
    "text": lambda b: _fields(b.get("text"), "content"),
    "markdown": lambda b: _fields(b.get("info") or b.get("markdown"), "content"),
    "link": lambda b: _fields(b.get("link"), "title", "description", "link_url"),
    "file": lambda b: _fields(b.get("file"), "filename"),
    "location": lambda b: _fields(b.get("location"), "title", "address"),
    "weapp": lambda b: _fields(b.get("weapp"), "title", "description"),
    "card": lambda b: _fields(b.get("card"), "corpname", "userid"),
    "todo": lambda b: _fields(b.get("todo"), "title", "content"),
    "redpacket": lambda b: _fields(b.get("redpacket"), "wish"),
    "external_redpacket": lambda b: _fields(b.get("redpacket"), "wish"),
    "meeting": lambda b: _fields(b.get("meeting"), "topic"),
    "docmsg": lambda b: _fields(b.get("doc"), "title"),
    "calendar": lambda b: _fields(b.get("calendar"), "title", "place", "remarks"),
    "news": lambda b: "\n".join(_fields(i, "title", "description") for i in (b.get("info") or {}).get("item", [])
                                if isinstance(i, dict)),
    "mixed": lambda b: _items_text((b.get("mixed") or {}).get("item"), "type"),
    "chatrecord": _chatrecord,
}


def extract_text(msgtype: str, body: dict[str, Any]) -> str:
    extractor = _EXTRACTORS.get(msgtype)
    try:
        return extractor(body) if extractor else ""
    except (AttributeError, TypeError):  # a field of an unexpected shape: keep the raw, index nothing
        return ""


def _customer(sender: str, tolist: list[str]) -> str:
    if is_external(sender):
        return sender
    return next((u for u in tolist if is_external(u)), "")


def parse_message(raw: str, seq: int) -> NewMessage:
    """One decrypted payload -> NewMessage. Switch messages have no from/tolist/msgtime."""
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise MessageFormatError(f"not JSON: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("msgid"), str) or not body["msgid"]:
        raise MessageFormatError("no msgid")
    action = str(body.get("action", "send"))
    msgtype = str(body.get("msgtype") or ("switch" if action == "switch" else "unknown"))
    sender = str(body.get("from") or body.get("user") or "")
    tolist = [str(u) for u in body.get("tolist") or [] if isinstance(u, (str, int))]
    roomid = str(body.get("roomid") or "")
    raw_time = body.get("msgtime") or body.get("time") or 0
    text_time = str(raw_time)
    msgtime = int(text_time) if text_time.isascii() and text_time.isdigit() and len(text_time) <= 15 else 0
    conv = roomid or "p:" + "|".join(sorted({sender, *tolist}))
    revoke = body.get("revoke") if msgtype == "revoke" else None
    return NewMessage(
        msgid=body["msgid"], seq=seq, action=action[:16], msgtype=msgtype[:32], sender=sender[:128],
        tolist=json.dumps(tolist, ensure_ascii=False), roomid=roomid[:128], customer=_customer(sender, tolist)[:128],
        conv=conv[:300], msgtime=msgtime,
        text=extract_text(msgtype, body), ref_msgid=str((revoke or {}).get("pre_msgid", ""))[:128], raw=raw,
    )


MEDIA_TYPES = ("image", "voice", "video", "file", "emotion")


def media_refs(raw: str) -> list[tuple[str, str]]:
    """(sdkfileid, md5sum) of every media item in a decrypted message, mixed messages included."""
    try:
        body = json.loads(raw)
    except ValueError:
        return []
    msgtype = body.get("msgtype") if isinstance(body, dict) else None
    items: list[Any] = []
    if msgtype in MEDIA_TYPES:
        items.append(body.get(msgtype))
    elif msgtype == "mixed":
        items += [_inner(i.get("content")) for i in (body.get("mixed") or {}).get("item", []) if isinstance(i, dict)]
    return [(str(i["sdkfileid"]), str(i.get("md5sum", ""))) for i in items
            if isinstance(i, dict) and isinstance(i.get("sdkfileid"), str) and i["sdkfileid"]]
