"""离职前核查 (issue 17): finance confirms the leaver's open receivables in WeCom, once per departure; the
handover list flags customers nobody chatted with for 90 days and customers who still owe money."""

from __future__ import annotations

from datetime import timedelta

from storage import archive_partitions
from storage.archive import ArchiveDoc
from storage.db import utcnow
from tests.departures.conftest import Corp
from wecom_hr import signals
from wecom_hr.dispatch import HandlerContext
from wecom_hr.receivables.ledger import parse_row, upsert_batch


def _owes(corp: Corp, order_no: str, seller: str, ext: str, amount: str, due: str) -> None:
    with corp.env.runtime.db.session_scope() as s:
        upsert_batch(s, [parse_row({"order_no": order_no, "external_userid": ext, "customer_name": f"客户{order_no}",
                                    "salesperson": seller, "amount": amount, "currency": "", "issued_on": "",
                                    "due_on": due, "paid_amount": ""})], utcnow())


def _started(corp: Corp, departure_id: int) -> None:
    """start.py emitted signals.DEPARTURE_STARTED; emitting it again (a re-run) must send nothing new."""
    with corp.env.runtime.db.session_scope() as s:
        signals.emit(signals.DEPARTURE_STARTED, HandlerContext(corp.env.runtime, s, 0, utcnow()), departure_id)
    corp.env.drain()


def test_finance_gets_the_open_receivables_once(corp: Corp) -> None:
    seller, finance = corp.seller(), corp.seed.finance
    ext = corp.seed.customers[seller][0]
    _owes(corp, "PC-1", seller, ext, "16800", "2020-01-01")
    _owes(corp, "PC-2", seller, "", "200", "2999-01-01")
    dep = corp.start(seller)
    _started(corp, dep["id"])
    _started(corp, dep["id"])  # a replay sends nothing new
    [message] = [m for m in corp.messages_to(finance) if "离职前核查" in m]
    assert "共 **2** 笔" in message and "¥17,000.00" in message and "逾期 1 笔" in message
    assert "PC-1" in message and "PC-2" in message and f"/console/departures/{dep['id']}" in message
    assert len(corp.audit("departure.precheck_sent")) == 1


def test_the_snapshot_flags_silent_customers_and_those_who_owe(corp: Corp) -> None:
    seller = corp.seller()
    quiet, recent, owing = corp.seed.customers[seller]
    now_ms = int(utcnow().timestamp() * 1000)
    chats = ((quiet, timedelta(days=200)), (recent, timedelta(days=3)))
    with corp.env.runtime.db.session_scope() as s:
        # Written straight into the search table: on PostgreSQL its month partitions must exist first.
        archive_partitions.ensure_for(s, [now_ms - int(age.total_seconds() * 1000) for _, age in chats])
        for i, (ext, age) in enumerate(chats):
            s.add(ArchiveDoc(id=900 + i, msgtime=now_ms - int(age.total_seconds() * 1000), sender=seller,
                             customer=ext, conv="p:" + "|".join(sorted((seller, ext))), msgtype="text", body="您好"))
    _owes(corp, "PC-9", seller, owing, "500", "2020-01-01")
    dep = corp.start(seller)
    report = corp.env.api("GET", f"/api/v1/departures/{dep['id']}", corp.hr).get_json()
    rows = {c["ref"]: c for c in report["customers"]["items"]}
    assert rows[quiet]["no_chat_90d"] is True and rows[recent]["no_chat_90d"] is False
    assert rows[owing]["no_chat_90d"] is True and rows[owing]["last_chat"] is None
    assert rows[owing]["open_receivables"] == 1 and rows[owing]["receivables_outstanding"] == "500.00"
    assert rows[quiet]["open_receivables"] == 0
    assert report["summary"]["precheck"] == {"archive": True, "days": 90, "no_chat_90d": 2, "with_receivables": 1}


def test_without_a_chat_archive_nobody_is_flagged_silent(corp: Corp) -> None:
    seller = corp.seller()
    dep = corp.start(seller)
    report = corp.env.api("GET", f"/api/v1/departures/{dep['id']}", corp.hr).get_json()
    assert all("no_chat_90d" not in c for c in report["customers"]["items"])
    assert report["summary"]["precheck"]["archive"] is False
