"""追款函 by email against a real local SMTP server (aiosmtpd): once, in Chinese, failures recorded."""

from __future__ import annotations

import csv
import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from storage.db import Database
from storage.receivables import CollectionTask
from tests.helpers import free_port, make_env, merge
from tests.receivables.conftest import ENV_CONFIG, NOW, TODAY, make_settings, mirror_in_simulator
from wecom_hr.config import ConfigError, settings_from_mapping
from wecom_hr.receivables import email as letters
from wecom_hr.receivables import reminders
from wecom_hr.receivables.csv_import import import_csv
from wecom_hr.receivables.email_settings import from_settings as email_settings
from wecom_hr.receivables.settings import LedgerOptions
from wecom_hr.scheduler import run_job

HEADER = ["order_no", "external_userid", "customer_name", "salesperson", "amount", "currency", "issued_on",
          "due_on", "paid_amount", "customer_email"]
DUE_95_DAYS_AGO = (TODAY.toordinal() - 95)


@dataclass
class Sink:
    """Records every accepted message; refuses the recipients in ``refuse`` with a 550."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"

    def parsed(self, i: int = 0) -> Any:
        return email.message_from_bytes(self.messages[i][2], policy=email.policy.default)


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def email_config(port: int, **extra: Any) -> dict[str, Any]:
    conf = {"email": {"smtp_host": "127.0.0.1", "smtp_port": port, "security": "none",
                      "from_addr": "finance@example.test", "timeout_seconds": 5.0},
            "receivables": {"company_name": "示例科技", "contact": "财务部 钱财"}}
    return merge(merge(ENV_CONFIG, conf), extra)


@pytest.fixture
def make(rdb: Database) -> Iterator[Any]:
    made: list[Any] = []

    def build(port: int, **extra: Any) -> Any:
        e = make_env(rdb, config=email_config(port, **extra), api_users=("fin1", "alice"))
        mirror_in_simulator(e.sim)
        made.append(e)
        return e

    yield build
    for e in made:
        e.close()


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def row(order_no: str, customer: str, address: str, external: str = "") -> list[str]:
    due = TODAY.fromordinal(DUE_95_DAYS_AGO).isoformat()
    return [order_no, external, customer, "alice", "16800.00", "", "", due, "", address]


def open_task(e: Any, tmp_path: Path, *rows: list[str]) -> int:
    report = import_csv(e.runtime.db, write_csv(tmp_path / "ar.csv", list(rows)), LedgerOptions())
    assert report.errors == []
    reminders.run(e.runtime.db, e.settings, NOW)
    return task_id(e.runtime.db, rows[0][2])


def task_id(db: Database, customer: str) -> int:
    with db.session_scope() as s:
        return int(s.scalar(select(CollectionTask.id).where(CollectionTask.customer_name == customer)) or 0)


def send(e: Any, task: int, **body: Any) -> Any:
    return e.api("POST", f"/api/v1/collections/{task}/letter/send", "fin1", json=body)


def email_state(e: Any, task: int) -> dict[str, Any]:
    res = e.api("GET", f"/api/v1/collections/{task}/letter", "fin1")
    assert res.status_code == 200
    return dict(res.get_json()["email"])


def test_the_letter_is_received_once_in_chinese(make: Any, smtp: tuple[Sink, int], tmp_path: Path) -> None:
    sink, port = smtp
    e = make(port)
    task = open_task(e, tmp_path, row("AR-1", "华东贸易", "ap@huadong.example"))
    letter = e.api("GET", f"/api/v1/collections/{task}/letter", "fin1").get_json()
    assert letter["email"]["status"] is None

    first = send(e, task, version=letter["version"])
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["status"] == "sent" and not first.get_json()["already_sent"]
    again = send(e, task)
    assert again.status_code == 200 and again.get_json()["already_sent"]
    assert len(sink.messages) == 1

    mail_from, rcpt, _ = sink.messages[0]
    assert mail_from == "finance@example.test" and rcpt == ["ap@huadong.example"]
    msg = sink.parsed()
    assert msg["Subject"] == "示例科技追款函 - 华东贸易"
    assert "=?utf-8?" in sink.messages[0][2].decode("ascii").split("\r\n\r\n")[0]  # encoded on the wire
    assert msg["To"] == "ap@huadong.example" and msg["From"].addresses[0].display_name == "示例科技"
    body = msg.get_content()
    assert body == letter["body"] and "追款函" in body and "AR-1" in body and "¥16,800.00" in body
    state = email_state(e, task)
    assert state["status"] == "sent" and state["to"] == "ap@huadong.example"
    assert state["message_id"] == msg["Message-ID"]


def test_a_refused_recipient_is_recorded_as_bounced(make: Any, smtp: tuple[Sink, int], tmp_path: Path) -> None:
    sink, port = smtp
    sink.refuse.add("gone@customer.example")
    e = make(port)
    task = open_task(e, tmp_path, row("AR-2", "西南实业", "gone@customer.example"))
    res = send(e, task)
    assert res.status_code == 502
    assert res.get_json()["status"] == "bounced" and "550" in res.get_json()["error"]
    state = email_state(e, task)
    assert state["status"] == "bounced" and "mailbox unavailable" in state["error"] and "\n" not in state["error"]
    assert sink.messages == []


def test_a_server_that_is_down_is_recorded_as_failed(make: Any, tmp_path: Path) -> None:
    e = make(free_port())  # nothing listens there
    task = open_task(e, tmp_path, row("AR-3", "北方机械", "ap@north.example"))
    res = send(e, task)
    assert res.status_code == 502 and res.get_json()["status"] == "failed"
    assert "ConnectionRefusedError" in email_state(e, task)["error"]


def test_starttls_is_required_when_configured(make: Any, smtp: tuple[Sink, int], tmp_path: Path) -> None:
    sink, port = smtp
    e = make(port, email={"security": "starttls"})
    task = open_task(e, tmp_path, row("AR-4", "东海物流", "ap@donghai.example"))
    assert send(e, task).get_json()["status"] == "failed"
    assert "STARTTLS" in email_state(e, task)["error"] and sink.messages == []


def test_an_interrupted_send_is_reported_not_resent(make: Any, smtp: tuple[Sink, int], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sink, port = smtp
    e = make(port, receivables={"auto_send_letters": True})
    task = open_task(e, tmp_path, row("AR-5", "南方电子", "ap@south.example"))

    def killed(*args: Any) -> Any:
        raise SystemExit("killed between claim and record")

    with monkeypatch.context() as m:
        m.setattr(letters, "transmit", killed)
        with pytest.raises(SystemExit):
            send(e, task)
    assert email_state(e, task)["status"] == "sending"
    res = send(e, task)
    assert res.status_code == 409 and "Message-ID" in res.get_json()["error"]
    assert run_job(e.runtime, "overdue-reminders", NOW)["letters_in_doubt"] == [task]
    assert sink.messages == []
    # Finance checked the mailbox: it went out. Now it counts as sent and is never sent again.
    ok = e.api("POST", f"/api/v1/collections/{task}/letter/status", "fin1", json={"status": "sent"})
    assert ok.status_code == 200 and ok.get_json()["previous"] == "sending"
    assert send(e, task).get_json()["already_sent"] and sink.messages == []


def test_a_later_bounce_can_be_recorded(make: Any, smtp: tuple[Sink, int], tmp_path: Path) -> None:
    _, port = smtp
    e = make(port)
    task = open_task(e, tmp_path, row("AR-6", "中原商贸", "ap@zhongyuan.example"))
    assert e.api("POST", f"/api/v1/collections/{task}/letter/status", "fin1",
                 json={"status": "sent"}).status_code == 409  # nothing was sent
    assert send(e, task).status_code == 200
    res = e.api("POST", f"/api/v1/collections/{task}/letter/status", "fin1",
                json={"status": "bounced", "reason": "退信：\r\n用户不存在"})
    assert res.status_code == 200
    state = email_state(e, task)
    assert state["status"] == "bounced" and state["error"] == "退信： 用户不存在"
    assert e.api("POST", f"/api/v1/collections/{task}/letter/send", "alice").status_code == 403


def test_auto_send_on_the_reminder_job(make: Any, smtp: tuple[Sink, int], tmp_path: Path) -> None:
    sink, port = smtp
    e = make(port, receivables={"auto_send_letters": True})
    rows = [row("AR-7", "华北重工", "ap@huabei.example"), row("AR-8", "无邮箱客户", "")]
    assert import_csv(e.runtime.db, write_csv(tmp_path / "ar.csv", rows), LedgerOptions()).errors == []
    first = run_job(e.runtime, "overdue-reminders", NOW)
    assert first["letters_sent"] == 1 and first["letters_without_address"] == 1
    second = run_job(e.runtime, "overdue-reminders", NOW.replace(hour=15))
    assert second["letters_sent"] == 0
    assert [rcpt for _, rcpt, _ in sink.messages] == [["ap@huabei.example"]]
    assert email_state(e, task_id(e.runtime.db, "华北重工"))["status"] == "sent"


def test_a_reopened_task_is_a_new_round(make: Any, smtp: tuple[Sink, int], tmp_path: Path) -> None:
    sink, port = smtp
    e = make(port, receivables={"auto_send_letters": True})
    assert import_csv(e.runtime.db, write_csv(tmp_path / "a.csv", [row("R-1", "回头客", "ap@back.example")]),
                      LedgerOptions()).errors == []
    assert run_job(e.runtime, "overdue-reminders", NOW)["letters_sent"] == 1
    paid = e.api("POST", "/api/v1/receivables/R-1/payments", "fin1", json={"amount": "16800.00"})
    assert paid.status_code == 201
    later = NOW.replace(day=2)
    assert run_job(e.runtime, "overdue-reminders", later)["closed_tasks"] == 1
    # Months later the same customer is 95 days late again: the task reopens and gets a new letter.
    again = [row("R-2", "回头客", "")]
    assert import_csv(e.runtime.db, write_csv(tmp_path / "b.csv", again), LedgerOptions()).errors == []
    assert run_job(e.runtime, "overdue-reminders", later.replace(hour=10))["letters_sent"] == 1
    assert len(sink.messages) == 2 and "R-2" in sink.parsed(1).get_content()


def test_header_injection_is_refused_at_import(make: Any, smtp: tuple[Sink, int], tmp_path: Path) -> None:
    sink, port = smtp
    e = make(port)
    bad = [row("X-1", "甲", "a@b.example\r\nBcc: spy@evil.example"), row("X-2", "乙", "a@b.example, spy@evil.example"),
           row("X-3", "丙", "no-at-sign"), row("X-4", "丁", "x" * 250 + "@b.example"),
           row("X-5", "戊", "Boss <a@b.example>")]
    report = import_csv(e.runtime.db, write_csv(tmp_path / "bad.csv", bad), LedgerOptions())
    assert report.good == 0 and len(report.errors) == 5
    assert all(problem.startswith("customer_email: ") for _, problem in report.errors)
    # A customer name is typed by people too: in the Subject it stays one line, no header is added.
    task = open_task(e, tmp_path, row("X-6", "恶意\r\nBcc: spy@evil.example", "ap@ok.example"))
    assert send(e, task).status_code == 200
    msg = sink.parsed()
    assert msg["Bcc"] is None and "\n" not in msg["Subject"] and sink.messages[0][1] == ["ap@ok.example"]


def test_the_api_batch_takes_an_address_too(make: Any, smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    e = make(port)
    items = [dict(zip(HEADER, row("API-1", "接口客户", "ap@api.example"), strict=True)),
             dict(zip(HEADER, row("API-2", "坏地址", "a@b.example\nBcc: c@d.example"), strict=True))]
    res = e.api("POST", "/api/v1/receivables", "fin1", json={"items": items})
    assert res.get_json()["created"] == 1 and res.get_json()["errors"][0]["error"].startswith("customer_email: ")
    reminders.run(e.runtime.db, e.settings, NOW)
    assert send(e, task_id(e.runtime.db, "接口客户")).status_code == 200
    assert sink.messages[0][1] == ["ap@api.example"]


def test_the_default_header_still_imports(rdb: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "plain.csv", [row("P-1", "老客户", "")[:9]], HEADER[:9])
    assert import_csv(rdb, path, LedgerOptions()).created == 1


@pytest.mark.parametrize(("email_section", "key"), [
    ({"smtp_host": "h", "from_addr": "f@x.example", "security": "tls"}, "email.security"),
    ({"smtp_host": "h", "from_addr": "f@x.example", "smtp_port": "abc"}, "email.smtp_port"),
    ({"smtp_host": "h", "from_addr": "f@x.example", "smtp_port": 70000}, "email.smtp_port"),
    ({"smtp_host": "h"}, "email.from_addr"),
    ({"smtp_host": "h", "from_addr": "f@x.example\nBcc: y@z"}, "email.from_addr"),
    ({"smtp_host": "h", "from_addr": "f@x.example", "username": "u", "security": "none"}, "email.security"),
    ({"smtp_host": "h", "from_addr": "f@x.example", "sender": "x"}, "email.sender"),
    ({}, "email.smtp_host"),  # auto_send_letters below, without a server
])
def test_bad_email_settings_name_the_key(db_url: str, email_section: dict[str, Any], key: str) -> None:
    extra: dict[str, Any] = {"email": email_section}
    if not email_section:
        extra["receivables"] = {"auto_send_letters": True}
    with pytest.raises(ConfigError) as err:
        make_settings(db_url, extra)
    assert err.value.key == key


def test_the_password_comes_from_the_environment(db_url: str) -> None:
    base = make_settings(db_url)
    raw = merge(dict(base.raw), {"email": {"smtp_host": "smtp.example.test", "username": "fin@example.test",
                                           "from_addr": "fin@example.test", "security": "ssl"}})
    conf = email_settings(settings_from_mapping(raw, environ={"WECOM_HR_EMAIL_PASSWORD": "s3cret-pass"}))
    assert conf.password == "s3cret-pass" and conf.smtp_port == 465 and "s3cret" not in repr(conf)
