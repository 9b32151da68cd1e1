"""KPI fixtures: hand-made chats as the archive delivers them, a seeded pool and ledger, and the
seeded console company (tests/web/conftest.py) for the API and the page."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from storage.archive_store import NewMessage
from storage.customers import ACTIVE, Customer
from storage.receivables import Receivable
from tests.web.conftest import console  # noqa: F401  (the seeded console company)
from wecom_hr.archive.messages import parse_message
from wecom_hr.kpi.worktime import ms_of

SH = ZoneInfo("Asia/Shanghai")
_seq = iter(range(1, 10**9))


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def message(sender: str, to: str, when: datetime, text: str = "你好", roomid: str = "",
            msgtype: str = "text") -> NewMessage:
    n = next(_seq)
    raw: dict[str, Any] = {"msgid": f"kpi-{n}", "action": "send", "from": sender, "tolist": [to], "roomid": roomid,
                           "msgtime": ms_of(when), "msgtype": msgtype, "text": {"content": text}}
    return parse_message(json.dumps(raw, ensure_ascii=False), n)


def add_customer(s: Session, ext: str, owner: str, created: datetime, status: str = ACTIVE) -> None:
    s.add(Customer(external_userid=ext, name=ext, first_owner=owner, created_at=created, first_seen_at=created,
                   updated_at=created, status=status))


def add_order(s: Session, no: str, ext: str, seller: str, issued: date, amount: str) -> None:
    now = datetime.combine(issued, datetime.min.time(), SH)
    s.add(Receivable(order_no=no, customer_key=ext, external_userid=ext, salesperson=seller, amount=Decimal(amount),
                     issued_on=issued, due_on=issued, created_at=now, updated_at=now))
