"""Query-string parameters shared by the JSON APIs: a bad one is a 400 that names it."""

from __future__ import annotations

from typing import overload

from flask import request

from wecom_hr.api.auth import AccessDenied


@overload
def int_arg(name: str, default: int, low: int, high: int) -> int: ...
@overload
def int_arg(name: str, default: None, low: int, high: int) -> int | None: ...


def int_arg(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    # ASCII digits only ("²" is a digit to str.isdigit) and a bounded length before int() runs.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(high)) or not low <= int(raw) <= high:
        raise AccessDenied(400, f"{name} must be a number {low}..{high}")
    return int(raw)
