"""WeCom's customer JSON -> our column values, and the rules both sync paths share.

externalcontact/get gives company tags (type 1) with ids and names, and the member's personal tags
(type 2) by name only, without an id; batch/get_by_user gives only company tag ids (WECOM.md §6).
Company tags become ``{"tag_id": ..., "tag_name"?: ..., "group_name"?: ...}``, personal ones
``{"type": 2, "tag_name": ...}``. Comparisons and fingerprints go by company id and personal name,
fingerprints by company ids only, and a resync keeps the names and personal tags it cannot see, so
the same relation never looks changed just because it was read through the other endpoint.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from storage.customers import CUSTOMER_DELETED

CONTACT_FIELDS = ("name", "type", "corp_name", "corp_full_name", "position", "gender", "avatar", "unionid")
PERSONAL = 2  # a member's own tag: externalcontact/get names it, gives no tag_id; batch/get_by_user omits it
FOLLOW_FIELDS = ("remark", "description", "remark_corp_name", "remark_mobiles", "tags", "add_way",
                 "oper_userid", "state")


@dataclass(frozen=True)
class Origin:
    """Where a change came from; copied into every history row it causes."""

    source: str                       # event | resync | api | directory
    event_id: int | None = None       # the inbox event
    api_call: str | None = None       # the WeCom endpoint whose answer we applied
    run_id: int | None = None         # the resync run
    occurred_at: datetime | None = None  # the event's CreateTime
    actor: str | None = None          # the API user

    def history(self) -> dict[str, Any]:
        return {"source": self.source, "event_id": self.event_id, "api_call": self.api_call,
                "run_id": self.run_id, "occurred_at": self.occurred_at, "actor": self.actor}


def from_epoch(value: Any) -> datetime | None:
    try:
        seconds = int(value or 0)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def contact_values(data: dict[str, Any]) -> dict[str, Any]:
    return {"name": str(data.get("name") or ""), "type": _int(data.get("type"), 1),
            "corp_name": str(data.get("corp_name") or ""), "corp_full_name": str(data.get("corp_full_name") or ""),
            "position": str(data.get("position") or ""), "gender": _int(data.get("gender"), 0),
            "avatar": str(data.get("avatar") or ""), "unionid": str(data.get("unionid") or "")}


def follow_values(data: dict[str, Any]) -> dict[str, Any]:
    if isinstance(data.get("tags"), list):
        tags = [_tag(t) for t in data["tags"] if isinstance(t, dict)]
    else:
        tags = [{"tag_id": str(t)} for t in data.get("tag_id") or []]
    return {"remark": str(data.get("remark") or "")[:255], "description": str(data.get("description") or ""),
            "remark_corp_name": str(data.get("remark_corp_name") or "")[:255],
            "remark_mobiles": [str(m) for m in data.get("remark_mobiles") or []], "tags": tags,
            "add_way": _int(data.get("add_way"), 0), "oper_userid": str(data.get("oper_userid") or ""),
            "state": str(data.get("state") or "")[:255]}


def _tag(tag: dict[str, Any]) -> dict[str, Any]:
    if _int(tag.get("type"), 1) == PERSONAL or not tag.get("tag_id"):
        return {"type": PERSONAL, "tag_name": str(tag.get("tag_name") or "")}
    out = {"tag_id": str(tag["tag_id"])}
    for key in ("tag_name", "group_name"):
        if tag.get(key):
            out[key] = str(tag[key])
    return out


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def is_personal(tag: dict[str, Any]) -> bool:
    return tag.get("type") == PERSONAL or not tag.get("tag_id")


def keep_tag_names(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``new`` with the names of company tags known from ``old`` (for ids given without names)."""
    known = {t["tag_id"]: t for t in old if not is_personal(t)}
    return [known.get(t["tag_id"], t) if not is_personal(t) and len(t) == 1 else t for t in new]


def keep_unseen_tags(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """batch/get_by_user's company tag ids, with the names and personal tags it does not give."""
    return keep_tag_names(old, [t for t in new if not is_personal(t)]) + [t for t in old if is_personal(t)]


def tag_ids(tags: list[dict[str, Any]]) -> list[str]:
    """The company tags' ids, sorted: what both endpoints give."""
    return sorted(str(t["tag_id"]) for t in tags if not is_personal(t))


def tag_keys(tags: list[dict[str, Any]]) -> list[str]:
    """What identifies a tag list: company ids, personal names (names of company tags may be missing)."""
    return tag_ids(tags) + sorted(f"personal:{t.get('tag_name', '')}" for t in tags if is_personal(t))


def diff(current: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for every field whose value changes. Tags count as changed when their
    company ids or personal names do; names arriving for known ids (externalcontact/get after a
    resync) and another order are not a change."""
    changes = {k: [current.get(k), v] for k, v in new.items() if current.get(k) != v}
    if "tags" in changes and tag_keys(changes["tags"][0] or []) == tag_keys(changes["tags"][1] or []):
        del changes["tags"]
    return changes


def fingerprint(values: dict[str, Any]) -> str:
    """A digest of WeCom's values (tags by company id: names and personal tags depend on the
    endpoint), so that a resync can tell "unchanged" from one stored column instead of reading and
    decoding every field."""
    # Compact UTF-8 JSON of the values in key order: unambiguous, and orjson keeps it cheap (a
    # resync digests every customer and relation). Digests stored in another form only cost one re-read.
    data = [tag_ids(v) if k == "tags" else v for k, v in sorted(values.items())]
    return hashlib.sha1(orjson.dumps(data)).hexdigest()


def values_of(row: object, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


class Episode(Protocol):
    """A follow episode as a model row or a plain result row (the resync reads tuples)."""

    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def end_reason(self) -> str | None: ...
    @property
    def end_recorded_at(self) -> datetime | None: ...


def may_reopen(latest: Episode | None, created: datetime | None, fetched_at: datetime) -> bool:
    """May a relation WeCom lists right now open a new episode after the ended ``latest`` one?

    A fetch made after we recorded the end saw WeCom after the deletion: the customer was added
    again. A fetch that may predate the end (another worker, a slow resync page) only counts when
    WeCom's createtime is newer than the end. WeCom may keep listing a relation whose customer
    deleted the member, so for churn only a newer createtime reopens it.
    """
    if latest is None or latest.ended_at is None:
        return True
    recorded = latest.end_recorded_at or latest.ended_at
    if fetched_at > recorded and latest.end_reason != CUSTOMER_DELETED:
        return True
    return created is not None and created > latest.ended_at
