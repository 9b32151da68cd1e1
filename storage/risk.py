"""跑单 early warning: who owns a customer, the counted contacts and diversion hits, and the alerts.

Ownership is its own table (the pool's ``first_owner`` is never rewritten): a row exists once an owner
was set by hand or by a handover; without one the owner follows ``[risk] ownership``. Every change
is a history row. Signals are written as messages arrive, one row per counted message, so a rolling
window is one indexed count. An alert is a case: open → confirmed | dismissed, with notes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.customers import Customer
from storage.db import Base

BIG = BigInteger().with_variant(Integer, "sqlite")
OPEN, CONFIRMED, DISMISSED = "open", "confirmed", "dismissed"
STATUSES = (OPEN, CONFIRMED, DISMISSED)
# Where an owner came from.
SET_BY_HAND, SET_BY_HANDOVER = "manual", "handover"


class CustomerOwner(Base):
    __tablename__ = "customer_owners"

    external_userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))   # manual | handover
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(128), default="")

    __table_args__ = (Index("ix_customer_owners_owner", "owner"),)


class CustomerOwnerChange(Base):
    __tablename__ = "customer_owner_changes"

    id: Mapped[int] = mapped_column(BIG, primary_key=True)
    external_userid: Mapped[str] = mapped_column(String(64))
    owner_before: Mapped[str] = mapped_column(String(64), default="")
    owner_after: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128), default="")
    departure_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime]

    __table_args__ = (
        Index("ix_customer_owner_changes_customer", "external_userid", "id"),
        Index("ix_customer_owner_changes_after", "owner_after", "source", "at"),
    )


class RiskContact(Base):
    """One message a member sent to a customer owned by someone else (off_assignment)."""

    __tablename__ = "risk_contacts"

    id: Mapped[int] = mapped_column(BIG, primary_key=True)
    msgid: Mapped[str] = mapped_column(String(128), unique=True)  # a re-archived message counts once
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_risk_contacts_pair", "userid", "external_userid", "sent_at"),
                      Index("ix_risk_contacts_time", "sent_at"))


class RiskHit(Base):
    """One contact detail found in a message (contact_diversion)."""

    __tablename__ = "risk_hits"

    id: Mapped[int] = mapped_column(BIG, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # msgid + shape + offset
    msgid: Mapped[str] = mapped_column(String(128))
    userid: Mapped[str] = mapped_column(String(64))              # the member in the conversation
    external_userid: Mapped[str] = mapped_column(String(64))
    shape: Mapped[str] = mapped_column(String(32))               # mobile | wechat | bank_card | ...
    confidence: Mapped[str] = mapped_column(String(8))           # high | medium | low
    text: Mapped[str] = mapped_column(Text)                      # the excerpt around the hit
    sent_at: Mapped[datetime]

    __table_args__ = (Index("ix_risk_hits_member", "userid", "sent_at"), Index("ix_risk_hits_time", "sent_at"))


class RiskAlert(Base):
    __tablename__ = "risk_alerts"

    id: Mapped[int] = mapped_column(BIG, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # rule, member, subject, window start
    rule: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))               # the signal
    severity: Mapped[str] = mapped_column(String(16))
    userid: Mapped[str] = mapped_column(String(64))
    external_userid: Mapped[str] = mapped_column(String(64), default="")
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    window_days: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_risk_alerts_member", "userid", "rule", "created_at"),
                      Index("ix_risk_alerts_status", "status", "id"))


class RiskAlertNote(Base):
    __tablename__ = "risk_alert_notes"

    id: Mapped[int] = mapped_column(BIG, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("risk_alerts.id"))
    actor: Mapped[str] = mapped_column(String(128))
    status_before: Mapped[str] = mapped_column(String(16))
    status_after: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]

    __table_args__ = (Index("ix_risk_alert_notes_alert", "alert_id", "id"),)


# -- reads ------------------------------------------------------------------------------------

CHUNK = 500  # values per IN (...) list: well under every driver's parameter limit
HIT_COLUMNS = ("key", "msgid", "userid", "external_userid", "shape", "confidence", "text", "sent_at")


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for i in range(0, len(values), CHUNK):
        yield list(values[i:i + CHUNK])


def owners_of(session: Session, customers: Sequence[str]) -> dict[str, str]:
    """external_userid -> owner set by hand or handover, else the pool's first adder; unknown customers absent."""
    out: dict[str, str] = {}
    for part in _chunks(customers):
        for model_key, model_owner in ((Customer.external_userid, Customer.first_owner),
                                       (CustomerOwner.external_userid, CustomerOwner.owner)):  # a set owner wins
            out.update({c: o for c, o in session.execute(select(model_key, model_owner).where(model_key.in_(part)))})
    return out


def known_contacts(session: Session, msgids: Sequence[str]) -> set[str]:
    return {m for part in _chunks(msgids) for m in session.scalars(select(RiskContact.msgid)
                                                                    .where(RiskContact.msgid.in_(part)))}


def known_hits(session: Session, keys: Sequence[str]) -> set[str]:
    return {k for part in _chunks(keys) for k in session.scalars(select(RiskHit.key).where(RiskHit.key.in_(part)))}


def contact_times(session: Session, pairs: Sequence[tuple[str, str]],
                  since: datetime) -> dict[tuple[str, str], list[datetime]]:
    """When each (member, customer) pair's counted contacts were sent, since ``since``: one read per batch."""
    wanted = set(pairs)
    members, customers = sorted({u for u, _ in pairs}), sorted({c for _, c in pairs})
    out: dict[tuple[str, str], list[datetime]] = {}
    for part in _chunks(customers):
        for u, c, at in session.execute(select(RiskContact.userid, RiskContact.external_userid, RiskContact.sent_at)
                                        .where(RiskContact.userid.in_(members), RiskContact.external_userid.in_(part),
                                               RiskContact.sent_at >= since)):
            if (u, c) in wanted:
                out.setdefault((u, c), []).append(at)
    return out


def contacts_in_window(session: Session, userid: str, external_userid: str, since: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(RiskContact).where(
        RiskContact.userid == userid, RiskContact.external_userid == external_userid,
        RiskContact.sent_at >= since)) or 0)


def recent_contacts(session: Session, userid: str, external_userid: str, since: datetime,
                    limit: int) -> list[RiskContact]:
    return list(session.scalars(select(RiskContact).where(
        RiskContact.userid == userid, RiskContact.external_userid == external_userid, RiskContact.sent_at >= since)
        .order_by(RiskContact.sent_at.desc(), RiskContact.id.desc()).limit(limit)))


def latest_alert(session: Session, rule: str, userid: str, external_userid: str | None,
                 since: datetime) -> RiskAlert | None:
    """The newest alert of this rule for the member (and customer) created since ``since``."""
    query = select(RiskAlert).where(RiskAlert.rule == rule, RiskAlert.userid == userid, RiskAlert.created_at >= since)
    if external_userid is not None:
        query = query.where(RiskAlert.external_userid == external_userid)
    return session.scalar(query.order_by(RiskAlert.id.desc()).limit(1))


AlertKey = tuple[str, str, str | None]  # rule, member, customer (None: any customer)


def latest_alerts(session: Session, wanted: dict[AlertKey, datetime]) -> dict[AlertKey, RiskAlert]:
    """latest_alert for many (rule, member, customer) keys, each with its own ``since``: one read per
    500 members (the member index), whatever the number of keys."""
    if not wanted:
        return {}
    rules, since = sorted({r for r, _, _ in wanted}), min(wanted.values())
    out: dict[AlertKey, RiskAlert] = {}
    for part in _chunks(sorted({u for _, u, _ in wanted})):
        query = (select(RiskAlert).where(RiskAlert.userid.in_(part), RiskAlert.rule.in_(rules),
                                         RiskAlert.created_at >= since).order_by(RiskAlert.id.desc()))
        for alert in session.scalars(query):
            for key in ((alert.rule, alert.userid, alert.external_userid), (alert.rule, alert.userid, None)):
                if key in wanted and key not in out and alert.created_at >= wanted[key]:
                    out[key] = alert
    return out


def recent_contacts_of(session: Session, wanted: dict[tuple[str, str], datetime],
                       limit: int) -> dict[tuple[str, str], list[RiskContact]]:
    """recent_contacts for many (member, customer) pairs, each since its own time: one read per batch."""
    out: dict[tuple[str, str], list[RiskContact]] = {}
    if not wanted:
        return out
    members, since = sorted({u for u, _ in wanted}), min(wanted.values())
    for part in _chunks(sorted({c for _, c in wanted})):
        query = (select(RiskContact).where(RiskContact.userid.in_(members), RiskContact.external_userid.in_(part),
                                           RiskContact.sent_at >= since)
                 .order_by(RiskContact.sent_at.desc(), RiskContact.id.desc()))
        for row in session.scalars(query):
            pair = (row.userid, row.external_userid)
            if pair in wanted and row.sent_at >= wanted[pair] and len(out.setdefault(pair, [])) < limit:
                out[pair].append(row)
    return out


def notes_of(session: Session, alert_id: int) -> list[RiskAlertNote]:
    return list(session.scalars(select(RiskAlertNote).where(RiskAlertNote.alert_id == alert_id)
                                .order_by(RiskAlertNote.id)))


def owner_changes(session: Session, external_userid: str) -> list[CustomerOwnerChange]:
    return list(session.scalars(select(CustomerOwnerChange).where(
        CustomerOwnerChange.external_userid == external_userid).order_by(CustomerOwnerChange.id)))


def off_assignment_counts(session: Session, userids: list[str], begins: datetime, ends: datetime) -> dict[str, int]:
    """Messages each member sent to customers owned by someone else in [begins, ends) (for the KPIs)."""
    rows = session.execute(select(RiskContact.userid, func.count()).where(
        RiskContact.userid.in_(userids), RiskContact.sent_at >= begins, RiskContact.sent_at < ends)
        .group_by(RiskContact.userid))
    return {str(u): int(n) for u, n in rows}


def open_alert_counts(session: Session, userids: list[str]) -> dict[str, int]:
    rows = session.execute(select(RiskAlert.userid, func.count()).where(
        RiskAlert.userid.in_(userids), RiskAlert.status == OPEN).group_by(RiskAlert.userid))
    return {str(u): int(n) for u, n in rows}
