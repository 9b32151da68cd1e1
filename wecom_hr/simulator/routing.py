"""What an endpoint is (path, method, handler) and what it is handed (ApiContext)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wecom_hr.simulator.errors import ApiError
from wecom_hr.simulator.journal import Journal
from wecom_hr.simulator.state import CorpState
from wecom_hr.simulator.tokens import TokenStore

Payload = dict[str, Any]


@dataclass(frozen=True)
class ApiContext:
    state: CorpState
    journal: Journal
    tokens: TokenStore
    query: dict[str, str]
    body: dict[str, Any]
    secret_name: str | None

    def arg(self, name: str, default: str = "") -> str:
        return self.query.get(name, default)

    def field(self, name: str) -> Any:
        """A required body field; missing -> 40058 as qyapi answers."""
        if name not in self.body:
            raise ApiError(40058, f"missing {name}")
        return self.body[name]

    def int_field(self, name: str, default: int, low: int, high: int) -> int:
        value = self.body.get(name, default)
        if not isinstance(value, int) or not low <= value <= high:
            raise ApiError(40058, f"{name} must be {low}..{high}")
        return value

    def list_field(self, name: str, limit: int) -> list[Any]:
        value = self.field(name)
        if not isinstance(value, list) or not value:
            raise ApiError(40058, f"{name} must be a non-empty list")
        if len(value) > limit:
            raise ApiError(40058, f"{name} allows at most {limit} items")
        return value


Handler = Callable[[ApiContext], Payload]


@dataclass(frozen=True)
class Route:
    path: str
    method: str
    handler: Handler
    needs_token: bool = True


def encode_cursor(*positions: int) -> str:
    return base64.urlsafe_b64encode(":".join(map(str, positions)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> tuple[int, ...]:
    if not cursor:
        return (0,) * parts
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        values = tuple(int(v) for v in raw.split(":"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(40058, "invalid cursor") from None
    if len(values) != parts or min(values) < 0:
        raise ApiError(40058, "invalid cursor")
    return values


def page(items: list[Any], cursor: str, size: int) -> tuple[list[Any], str]:
    """One page of ``items`` and the next cursor ("" on the last page)."""
    (start,) = decode_cursor(cursor, 1)
    chunk = items[start:start + size]
    end = start + len(chunk)
    return chunk, encode_cursor(end) if end < len(items) else ""
