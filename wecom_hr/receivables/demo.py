"""The receivables scene of `wecom-hr demo`: an invoice goes unpaid and escalates.

Finance imports a CSV; the job runs as of three mornings — 31, 61 and 91 days after the due date —
showing the salesperson's reminder, the manager's escalation (with the salesperson's follow-up
note) and finance's collection task with its drafted 追款函. One customer pays on the way and
drops out of the escalation.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from jobs.registry import all_jobs
from storage import directory
from storage.db import utcnow
from storage.receivables import CollectionTask, add_followup, add_payment, by_order, latest_letter
from wecom_hr.demo import wait_idle
from wecom_hr.receivables.csv_import import import_csv
from wecom_hr.receivables.settings import from_settings
from wecom_hr.runtime import Runtime
from wecom_hr.scheduler import run_job

Out = Callable[[str], None]
# The public CSV contract plus the optional customer_email column (the dunning letter's address).
HEADER = ("order_no,external_userid,customer_name,salesperson,amount,currency,issued_on,due_on,paid_amount,"
          "customer_email\n")


def _cast(sim: Any) -> tuple[str, str, list[tuple[str, str]]]:
    """A salesperson with customers, and their manager, from the simulated company."""
    with sim.state.lock:
        for user in sim.state.active_users():
            follows = sim.state.follows_of_user(user.userid)
            leaders = [u.userid for u in sim.state.active_users()
                       if set(u.department) & set(user.department) and any(u.is_leader_in_dept)
                       and u.userid != user.userid]
            if len(follows) >= 2 and leaders:
                names = [(f.external_userid, sim.state.external_contacts[f.external_userid].name) for f in follows]
                return user.userid, leaders[0], names
    raise RuntimeError("the simulated company has no salesperson with a manager and two customers")


def _ensure_directory(runtime: Runtime, userid: str) -> None:
    with runtime.db.session_scope() as s:
        known = directory.member(s, userid) is not None
    if not known and "sync-directory" in all_jobs():
        run_job(runtime, "sync-directory")


def _import(runtime: Runtime, seller: str, customers: list[tuple[str, str]], due: str, out: Out) -> None:
    (c1, n1), (c2, n2) = customers[:2]
    rows = [f"DEMO-001,{c1},{n1},{seller},12800.00,CNY,,{due},,caiwu@guolaoban.example",
            f"DEMO-002,{c1},{n1},{seller},5600.00,CNY,,{due},1600.00,",
            f"DEMO-003,{c2},{n2},{seller},9900.00,CNY,,{due},,chen@chenxiansheng.example"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "receivables.csv"
        path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8-sig")
        report = import_csv(runtime.db, path, from_settings(runtime.settings).ledger, actor="demo")
    out(f"   finance imported a CSV: {report.created} receivables for {n1} and {n2}, due {due}")


def _morning(runtime: Runtime, day: Any) -> datetime:
    policy = from_settings(runtime.settings).policy
    return datetime.combine(day, time(9, 30), tzinfo=policy.timezone)


def _run(sim: Any, runtime: Runtime, now: datetime, out: Out) -> None:
    before = len(sim.sent_messages)
    result = run_job(runtime, "overdue-reminders", now)
    wait_idle(runtime)  # the demo's inbox worker may still be sending what the job queued
    sent = sim.sent_messages[before:]
    out(f"   {now:%Y-%m-%d %H:%M}: job claimed {result.get('claimed', 0)} reminders, "
        f"WeCom received {len(sent)} message(s)")
    for body in sent:
        out(f"   -> {body['touser']}:")
        for line in body["markdown"]["content"].splitlines():
            out(f"      {line}")


def play(sim: Any, runtime: Runtime, out: Out) -> None:
    seller, manager, customers = _cast(sim)
    _ensure_directory(runtime, seller)
    today = from_settings(runtime.settings).policy.local_today(utcnow())
    due = today - timedelta(days=95)
    _import(runtime, seller, customers, due.isoformat(), out)
    out("\n   Day 31: the salesperson gets one digest with a link to explain each item")
    _run(sim, runtime, _morning(runtime, due + timedelta(days=31)), out)
    with runtime.db.session_scope() as s:
        row = by_order(s, "DEMO-001")
        assert row is not None
        add_followup(s, row, seller, "客户财务说在走付款审批", due + timedelta(days=75))
    out("\n   The salesperson records a follow-up on DEMO-001 (promised payment date included)")
    out(f"\n   Day 61: escalated to the manager {manager}, with the follow-up note")
    _run(sim, runtime, _morning(runtime, due + timedelta(days=61)), out)
    with runtime.db.session_scope() as s:
        row = by_order(s, "DEMO-003")
        assert row is not None
        add_payment(s, row, row.outstanding, due + timedelta(days=70), source="api", reference="demo-bank-1",
                    actor="demo")
    out("\n   DEMO-003 is paid in full on day 70: its escalation stops")
    out("\n   Day 91: finance gets the collection list; a task and a dunning letter are drafted")
    _run(sim, runtime, _morning(runtime, due + timedelta(days=91)), out)
    _show_letter(runtime, out)
    _email_letters(sim, runtime, out)


def _email_letters(sim: Any, runtime: Runtime, out: Out) -> None:
    """Finance reviewed the drafts and sends them: each letter reaches the customer's mailbox once."""
    from wecom_hr.receivables.email import LetterSendError, send_letter

    sink, finance = getattr(sim, "smtp_sink", None), runtime.settings.roles.finance
    if sink is None or not finance:
        return
    with runtime.db.session_scope() as s:
        tasks = list(s.scalars(select(CollectionTask.id).order_by(CollectionTask.id)))
    for task_id in tasks:
        try:
            outcome = send_letter(runtime.db, runtime.settings, task_id, finance[0])
            again = send_letter(runtime.db, runtime.settings, task_id, finance[0])  # a double click
        except LetterSendError as exc:
            out(f"   letter of task {task_id} not emailed: {exc}")
            continue
        out(f"   finance emails the letter of task {task_id} to {outcome.to}: {outcome.status}"
            f"{' (a second click sent nothing)' if again.already_sent else ''}")
    for mail in sink.received:
        out(f"   the customer's mailbox {', '.join(mail.recipients)} received: “{mail.message['Subject']}”")


def _show_letter(runtime: Runtime, out: Out) -> None:
    with runtime.db.session_scope() as s:
        for task in s.scalars(select(CollectionTask).order_by(CollectionTask.id)):
            letter = latest_letter(s, task.id)
            out(f"\n   collection task {task.id} for {task.customer_name} ({task.status}); "
                f"GET /api/v1/collections/{task.id}/letter returns:")
            for line in (letter.body if letter else "(no letter)").splitlines():
                out(f"      {line}")
