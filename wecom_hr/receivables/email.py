"""追款函 by email: finance sends a collection task's latest letter (or the reminder run does).

A letter is sent at most once, like the departures' transfer batches:
1. claim: the task is marked "sending" with the letter version, the address and a Message-ID —
   committed BEFORE the SMTP call (a compare-and-set, so two clicks cannot both claim it);
2. the SMTP transaction;
3. record: "sent", "failed" (the server's or the network's reason, one line) or "bounced" (the
   server refused the recipient) — committed AFTER it.
A task found "sending" later is in doubt (the process died, or the answer was lost): it is reported
and never resent blindly; finance checks the mailbox for the Message-ID and sets the status.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import select, update

from storage import audit
from storage.db import Database, utcnow
from storage.receivables import CollectionTask, CustomerEmail, DunningLetter, customer_email, latest_letter, rowcount
from wecom_hr.config import Settings
from wecom_hr.receivables.email_settings import EmailSettings, check_address
from wecom_hr.receivables.email_settings import from_settings as email_settings
from wecom_hr.receivables.settings import from_settings as receivables_settings

SENDING, SENT, FAILED, BOUNCED = "sending", "sent", "failed", "bounced"
SETTABLE = {SENDING: (SENT, FAILED, BOUNCED), SENT: (BOUNCED,), FAILED: (BOUNCED,)}  # status -> what finance may set
MAX_ERROR = 500


class LetterSendError(Exception):
    """Why a letter was not sent; ``http_status`` is the API's answer."""

    http_status = 409


class NothingToSendError(LetterSendError):
    http_status = 404


class InDoubtError(LetterSendError):
    """A previous attempt was interrupted between claim and record: it may have been delivered."""


@dataclass(frozen=True)
class Outcome:
    task_id: int
    status: str
    version: int
    to: str
    error: str = ""
    already_sent: bool = False


def one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_ERROR]


def subject_for(customer: str, company: str) -> str:
    return one_line(f"{company or '我司'}追款函 - {customer or '贵方'}")


def compose(conf: EmailSettings, to: str, subject: str, body: str, message_id: str, now: datetime,
            display_name: str = "") -> EmailMessage:
    """Plain UTF-8 text; every header value is one line (the folding is the email package's)."""
    msg = EmailMessage()
    msg["Subject"] = one_line(subject)
    msg["From"] = Address(display_name=one_line(conf.from_name or display_name), addr_spec=conf.from_addr)
    msg["To"] = Address(addr_spec=check_address(to))
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg.set_content(body, charset="utf-8")
    return msg


def _connect(conf: EmailSettings) -> smtplib.SMTP:
    if conf.security == "ssl":
        return smtplib.SMTP_SSL(conf.smtp_host, conf.smtp_port, timeout=conf.timeout_seconds,
                                context=ssl.create_default_context())
    smtp = smtplib.SMTP(conf.smtp_host, conf.smtp_port, timeout=conf.timeout_seconds)
    if conf.security == "starttls":
        try:
            smtp.starttls(context=ssl.create_default_context())
        except BaseException:
            smtp.close()
            raise
    return smtp


def transmit(conf: EmailSettings, msg: EmailMessage) -> tuple[str, str]:
    """(SENT, "") or (FAILED | BOUNCED, the reason in one line); never raises for SMTP or network trouble."""
    try:
        with _connect(conf) as smtp:
            if conf.username:
                smtp.login(conf.username, conf.password)
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return (BOUNCED if 500 <= code < 600 else FAILED), one_line(f"recipient refused: {code} {text}")
    except smtplib.SMTPResponseException as exc:
        err = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return FAILED, one_line(f"{type(exc).__name__}: {exc.smtp_code} {err}")
    except (smtplib.SMTPException, OSError) as exc:
        return FAILED, one_line(f"{type(exc).__name__}: {exc}")
    return SENT, ""


@dataclass(frozen=True)
class _Claim:
    task_id: int
    version: int
    to: str
    customer: str
    body: str
    message_id: str


def _claim(db: Database, conf: EmailSettings, task_id: int, version: int | None, now: datetime
           ) -> _Claim | Outcome:
    with db.session_scope() as s:
        task = s.get(CollectionTask, task_id)
        letter = latest_letter(s, task_id) if task else None
        if task is None or letter is None:
            raise NothingToSendError(f"no letter for collection task {task_id}")
        if version is not None and version != letter.version:
            raise LetterSendError(f"version: the latest draft is {letter.version}, not {version}; review it first")
        if task.email_status == SENDING:
            raise InDoubtError(f"an attempt at {task.email_at and task.email_at.isoformat()} was interrupted; it may "
                               f"have been delivered (Message-ID {task.email_message_id}): set the status first")
        if task.email_status == SENT and task.email_version == letter.version:
            return Outcome(task_id, SENT, letter.version, task.email_to, already_sent=True)
        to = customer_email(s, task.customer_key)
        if not to:
            raise LetterSendError("the customer has no email address (CSV column customer_email)")
        message_id = make_msgid(domain=conf.from_addr.rpartition("@")[2])
        # Compare-and-set on the status read above: of two clicks, the second updates nothing.
        claimed = s.execute(update(CollectionTask).where(CollectionTask.id == task_id,
                                                         CollectionTask.email_status == task.email_status)
                            .values(email_status=SENDING, email_version=letter.version, email_to=to,
                                    email_message_id=message_id, email_error="", email_at=now))
        if rowcount(claimed) != 1:
            raise InDoubtError("another request is sending this letter right now")
        return _Claim(task_id, letter.version, to, task.customer_name, letter.body, message_id)


def send_letter(db: Database, settings: Settings, task_id: int, actor: str, now: datetime | None = None,
                version: int | None = None) -> Outcome:
    """Send the task's latest letter once; a letter already sent returns its outcome without sending."""
    conf = email_settings(settings)
    if not conf.enabled:
        raise LetterSendError("email is not configured ([email] smtp_host)")
    now = now or utcnow()
    claim = _claim(db, conf, task_id, version, now)
    if isinstance(claim, Outcome):
        return claim
    ledger = receivables_settings(settings).ledger
    msg = compose(conf, claim.to, subject_for(claim.customer, ledger.company_name), claim.body,
                  claim.message_id, now, ledger.company_name)
    status, error = transmit(conf, msg)
    with db.session_scope() as s:
        s.execute(update(CollectionTask).where(CollectionTask.id == task_id, CollectionTask.email_status == SENDING,
                                               CollectionTask.email_message_id == claim.message_id)
                  .values(email_status=status, email_error=error, email_at=utcnow()))
        audit.record(s, actor, "receivables.letter_email", {"task_id": task_id, "version": claim.version,
                                                            "status": status, "error": error})
    return Outcome(task_id, status, claim.version, claim.to, error)


def set_status(db: Database, task_id: int, status: str, reason: str, actor: str) -> str:
    """Finance records what it learnt (a bounce that came back later, the fate of an interrupted send)."""
    with db.session_scope() as s:
        task = s.get(CollectionTask, task_id)
        if task is None:
            raise NothingToSendError(f"no collection task {task_id}")
        allowed = SETTABLE.get(task.email_status, ())
        if status not in allowed:
            raise LetterSendError(f"status: {task.email_status or 'not sent'} cannot become {status!r}"
                                  + (f" (allowed: {', '.join(allowed)})" if allowed else ""))
        before = task.email_status
        task.email_status, task.email_error, task.email_at = status, one_line(reason), utcnow()
        audit.record(s, actor, "receivables.letter_email_status", {"task_id": task_id, "from": before,
                                                                   "to": status, "reason": task.email_error})
        return before


def email_json(task: CollectionTask) -> dict[str, Any]:
    return {"status": task.email_status or None, "version": task.email_version, "to": task.email_to or None,
            "error": task.email_error or None, "message_id": task.email_message_id or None,
            "at": task.email_at.isoformat() if task.email_at else None}


def send_pending(db: Database, settings: Settings, now: datetime) -> dict[str, Any]:
    """``[receivables] auto_send_letters``: open tasks never emailed get their latest letter."""
    with db.session_scope() as s:
        has_letter = select(DunningLetter.task_id).where(DunningLetter.task_id == CollectionTask.id).exists()
        base = select(CollectionTask.id).where(CollectionTask.status == "open", has_letter)
        due = list(s.scalars(base.join(CustomerEmail, CustomerEmail.customer_key == CollectionTask.customer_key)
                             .where(CollectionTask.email_status == "").order_by(CollectionTask.id)))
        in_doubt = list(s.scalars(base.where(CollectionTask.email_status == SENDING)))
        no_address = len(list(s.scalars(base.where(CollectionTask.email_status == "",
                                                   ~select(CustomerEmail.customer_key).where(
                                                       CustomerEmail.customer_key == CollectionTask.customer_key)
                                                   .exists()))))
    counts = {SENT: 0, FAILED: 0, BOUNCED: 0}
    for task_id in due:
        try:
            counts[send_letter(db, settings, task_id, "scheduler", now).status] += 1
        except LetterSendError:
            continue  # claimed by a console click meanwhile, or the task changed: the next run sees it
    return {"letters_sent": counts[SENT], "letters_failed": counts[FAILED], "letters_bounced": counts[BOUNCED],
            "letters_in_doubt": in_doubt, "letters_without_address": no_address}
