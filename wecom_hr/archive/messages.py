"""Decrypted archive messages -> rows: who, to whom, which chat, which customer, and the text.

The extracted text is what search and watch-lists see (never the serialized JSON, where a keyword
could hide inside a URL or a field name). The raw JSON is kept unchanged, so unknown message
types lose nothing and can be re-read when we learn them.

Shapes follow WeCom's doc 91774 (and WxJava's WxCpMsgAuditTest): most types keep their body under
their own name, a few elsewhere (``_BODY_KEYS``), vote and switch at the top level. mixed and
chatrecord carry parts whose ``content`` is a JSON string (sometimes an object); parts are walked
to ``MAX_DEPTH`` levels and ``MAX_PARTS`` parts, so a hostile or odd payload never raises and
never costs more than a bounded walk. See README "Chat archive" for what each type contributes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from typing import Any

from storage.archive_store import NewMessage

MAX_DEPTH = 4          # chatrecord inside chatrecord inside ...: deeper parts are ignored
MAX_PARTS = 2000       # parts visited per message
TEXT_CHARS = 20_000    # extracted text kept per message (watch-lists look at the first 20,000 too)


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
        except (ValueError, RecursionError):
            return {"content": value}
        return parsed if isinstance(parsed, dict) else {}
    return {}


# Where a message type keeps its body when not under its own name; vote and switch: at the top level.
_BODY_KEYS = {"docmsg": "doc", "markdown": "info", "news": "info", "external_redpacket": "redpacket"}
_TOP_LEVEL = frozenset({"vote", "switch"})
# chatrecord parts are typed "ChatRecordText", "ChatRecordFile", ...; a few names differ from msgtypes.
_PART_ALIASES = {"doc": "docmsg", "": "chatrecord"}

# Text per type: scalar fields, then (list field, fields of each element or the element itself).
_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("content",), "markdown": ("content",), "file": ("filename",), "card": ("corpname",),
    "link": ("title", "description", "link_url", "url"), "weapp": ("title", "description", "displayname"),
    "location": ("title", "address"), "chatrecord": ("title",), "meeting": ("topic", "address", "remarks"),
    "docmsg": ("title", "link_url"), "calendar": ("title", "place", "remarks"), "collect": ("room_name", "title"),
    "redpacket": ("wish",), "external_redpacket": ("wish",), "vote": ("votetitle",), "todo": ("title", "content"),
    "sphfeed": ("feed_desc", "sph_name"), "voip_doc_share": ("filename",), "qydiskfile": ("filename",),
}
_LISTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "news": ("item", ("title", "description")), "vote": ("voteitem", ("content",)),
    "collect": ("details", ("ques", "answer", "ans")), "meeting_voice_call": ("demofiledata", ("filename",)),
}
_UNKNOWN_PART = ("content", "title", "filename")  # a part type we do not know: its likely text


def _fields(obj: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    return [str(obj[n]) for n in names if isinstance(obj.get(n), (str, int)) and str(obj[n])]


def _list_text(value: Any, names: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for element in value[:MAX_PARTS] if isinstance(value, list) else []:
        if isinstance(element, str) and element:
            out.append(element)
        elif isinstance(element, dict):
            out += _fields(element, names)
    return out


def _body_of(msgtype: str, message: dict[str, Any]) -> dict[str, Any]:
    if msgtype in _TOP_LEVEL:
        return message
    value = message.get(_BODY_KEYS.get(msgtype, msgtype))
    return _inner(value if value is not None else message.get(msgtype))


def _kind(part_type: Any) -> str:
    kind = str(part_type).lower().removeprefix("chatrecord")
    return _PART_ALIASES.get(kind, kind)


def _parts(kind: str, body: dict[str, Any], depth: int = 0) -> Iterator[tuple[str, dict[str, Any], int]]:
    """(kind, body, depth) of a message and of every part nested in it (mixed, chatrecord)."""
    yield kind, body, depth
    if kind not in ("mixed", "chatrecord") or depth >= MAX_DEPTH:
        return
    items = body.get("item")
    if not isinstance(items, list):  # a mixed part wrapped once more: {"mixed": {"item": [...]}}
        items = _inner(body.get(kind)).get("item")
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            yield from _parts(_kind(item.get("type", "")), _inner(item.get("content")), depth + 1)


def _walk(msgtype: str, message: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], int]]:
    return islice(_parts(msgtype, _body_of(msgtype, message)), MAX_PARTS)


def _part_text(kind: str, body: dict[str, Any], depth: int) -> list[str]:
    if kind not in _FIELDS and kind not in _LISTS:
        return _fields(body, _UNKNOWN_PART) if depth else []
    texts = _fields(body, _FIELDS.get(kind, ()))
    if kind in _LISTS:
        key, names = _LISTS[kind]
        texts += _list_text(body.get(key), names)
    return texts


def extract_text(msgtype: str, message: dict[str, Any]) -> str:
    """What a person reads in the message (and in each part of it), at most TEXT_CHARS characters."""
    texts: list[str] = []
    size = 0
    for kind, body, depth in _walk(msgtype, message):
        for text in _part_text(kind, body, depth):
            texts.append(text)
            size += len(text) + 1
        if size > TEXT_CHARS:
            break
    return "\n".join(texts)[:TEXT_CHARS]


def _customer(sender: str, tolist: list[str]) -> str:
    if is_external(sender):
        return sender
    return next((u for u in tolist if is_external(u)), "")


def _load(raw: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise MessageFormatError(f"not JSON: {str(exc)[:200]}") from None


def parse_message(raw: str, seq: int) -> NewMessage:
    """One decrypted payload -> NewMessage. Switch messages have no from/tolist/msgtime."""
    body = _load(raw)
    if not isinstance(body, dict) or not isinstance(body.get("msgid"), str) or not body["msgid"]:
        raise MessageFormatError("no msgid")
    action = str(body.get("action", "send"))
    msgtype = str(body.get("msgtype") or ("switch" if action == "switch" else "unknown"))
    sender = str(body.get("from") or body.get("user") or "")
    given = body.get("tolist")
    tolist = [str(u) for u in given if isinstance(u, (str, int))] if isinstance(given, list) else []
    roomid = str(body.get("roomid") or "")
    raw_time = body.get("msgtime") or body.get("time") or 0
    text_time = str(raw_time)
    msgtime = int(text_time) if text_time.isascii() and text_time.isdigit() and len(text_time) <= 15 else 0
    conv = roomid or "p:" + "|".join(sorted({sender, *tolist}))
    revoke = _inner(body.get("revoke")) if msgtype == "revoke" else {}
    return NewMessage(
        msgid=body["msgid"], seq=seq, action=action[:16], msgtype=msgtype[:32], sender=sender[:128],
        tolist=json.dumps(tolist, ensure_ascii=False), roomid=roomid[:128], customer=_customer(sender, tolist)[:128],
        conv=conv[:300], msgtime=msgtime,
        text=extract_text(msgtype, body), ref_msgid=str(revoke.get("pre_msgid", ""))[:128], raw=raw,
    )


MEDIA_TYPES = ("image", "voice", "video", "file", "emotion")
# Every msgtype that may carry media (migrations select candidate messages with it).
MEDIA_CARRIERS = (*MEDIA_TYPES, "mixed", "chatrecord", "meeting_voice_call", "voip_doc_share")


def media_refs(raw: str) -> list[tuple[str, str]]:
    """(sdkfileid, md5sum) of every media file in a decrypted message: the media types, the parts of
    mixed and chatrecord messages, meeting_voice_call and voip_doc_share. Each file once."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return []
    msgtype = body.get("msgtype") if isinstance(body, dict) else None
    if not isinstance(msgtype, str) or msgtype not in MEDIA_CARRIERS:
        return []
    refs: dict[str, str] = {}
    for _, part, _ in _walk(msgtype, body):
        fileid = part.get("sdkfileid")
        if isinstance(fileid, str) and fileid and fileid not in refs:
            refs[fileid] = str(part.get("md5sum") or "")
    return list(refs.items())
