"""Typed events at the boundary: decrypted XML -> Event. CamelCase becomes snake_case here only.

defusedxml refuses DTDs, entity declarations and external references, so an XML bomb or an
XXE payload is a MalformedEventError, not a hung worker or a leaked file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


class MalformedEventError(ValueError):
    """The payload is not a WeCom event we can read."""


def snake(name: str) -> str:
    """ExternalUserID -> external_user_id, ChatId -> chat_id, IsLeaderInDept -> is_leader_in_dept."""
    return _CAMEL.sub("_", name).lower()


MAX_DEPTH = 16  # WeCom's deepest event nests 4 levels (SelectedItems/SelectedItem/OptionIds/OptionId)
MAX_CREATE_TIME = 10**11  # seconds; anything longer is not a timestamp


def _too_deep(root: Element, limit: int = MAX_DEPTH) -> bool:
    """Measured without recursion, before _value recurses: 9,000 nested elements cost no stack."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in node)
    return False


def _value(node: Element) -> Any:
    children = list(node)
    if not children:
        return (node.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        key, value = snake(child.tag), _value(child)
        if key in out:  # repeated elements (<OptionId>, <SelectedItem>) become lists
            if not isinstance(out[key], list):
                out[key] = [out[key]]
            out[key].append(value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class Event:
    msg_type: str
    event: str
    change_type: str
    create_time: int
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.event, self.change_type)

    def get(self, name: str, default: str = "") -> Any:
        value = self.fields.get(name, default)
        return default if value is None else value

    def as_list(self, name: str) -> list[Any]:
        value = self.fields.get(name)
        if value in (None, ""):
            return []
        return value if isinstance(value, list) else [value]


def parse_xml(data: bytes | str) -> dict[str, Any]:
    """Parse a WeCom XML document into a snake_case dict; raise MalformedEventError otherwise."""
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise MalformedEventError(type(exc).__name__) from None
    if root.tag != "xml":
        raise MalformedEventError("root element is not <xml>")
    if _too_deep(root):
        raise MalformedEventError(f"elements nested deeper than {MAX_DEPTH}")
    value = _value(root)
    if not isinstance(value, dict):
        raise MalformedEventError("empty document")
    return value


def parse_event(data: bytes | str) -> Event:
    fields = parse_xml(data)
    try:
        raw = str(fields.get("create_time") or 0).strip()
        if len(raw) > 12 or not 0 <= (create_time := int(raw)) < MAX_CREATE_TIME:
            raise ValueError(raw)
    except (TypeError, ValueError):
        raise MalformedEventError("CreateTime is not a timestamp") from None
    for name in ("msg_type", "event", "change_type"):
        if not isinstance(fields.get(name, ""), str):
            raise MalformedEventError(f"{name} is not text")
    return Event(
        msg_type=fields.get("msg_type", ""),
        event=fields.get("event", ""),
        change_type=fields.get("change_type", ""),
        create_time=create_time,
        fields=fields,
    )
