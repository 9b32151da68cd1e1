"""Validating a follow-up explanation (账款跟进说明), shared by the page and the API."""

from __future__ import annotations

from datetime import date

MAX_NOTE = 1000


class FormError(ValueError):
    """Shown to the person who filled the form, in Chinese."""


def parse_followup(note: str, promised_on: str) -> tuple[str, date | None]:
    text = note.strip()
    if not text:
        raise FormError("请填写跟进说明")
    if len(text) > MAX_NOTE:
        raise FormError(f"跟进说明不能超过 {MAX_NOTE} 字")
    if not promised_on.strip():
        return text, None
    try:
        return text, date.fromisoformat(promised_on.strip())
    except ValueError:
        raise FormError("承诺付款日期格式应为 YYYY-MM-DD") from None
