"""The customer pool: customers (外部联系人), follow relations, their history, alerts and resync runs.

Nothing here is ever deleted. A follow relation is one *episode* of a member following a customer:
it opens when we first see it and ends with a reason and a time (the member deleted the customer,
the customer deleted the member, a transfer moved it, or a resync no longer found it). A customer
re-added later gets a new episode, so past relations stay visible. Every change is a history row
naming what changed, when, and where we learned it (an inbox event id or a WeCom API call).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.db import Base, utcnow

BIG = BigInteger().with_variant(Integer, "sqlite")

# Customer status: someone follows them / nobody does any more / the customer deleted us.
ACTIVE, LOST, CHURNED = "active", "lost", "churned"
# Why a follow relation ended.
MEMBER_DELETED = "member_deleted"        # del_external_contact: the member deleted the customer
CUSTOMER_DELETED = "customer_deleted"    # del_follow_user: the customer deleted the member (churn)
TRANSFERRED = "transferred"              # del_external_contact with Source=DELETE_BY_TRANSFER
MISSING = "missing_in_wecom"             # a full resync no longer found it; reason unknown
END_REASONS = (MEMBER_DELETED, CUSTOMER_DELETED, TRANSFERRED, MISSING)


class Customer(Base):
    __tablename__ = "customers"

    external_userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    type: Mapped[int] = mapped_column(Integer, default=1)  # 1 WeChat user, 2 WeCom user
    corp_name: Mapped[str] = mapped_column(String(255), default="")
    corp_full_name: Mapped[str] = mapped_column(String(255), default="")
    position: Mapped[str] = mapped_column(String(255), default="")
    gender: Mapped[int] = mapped_column(Integer, default=0)
    avatar: Mapped[str] = mapped_column(Text, default="")
    unionid: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    first_owner: Mapped[str] = mapped_column(String(64), default="")   # core: never rewritten
    created_at: Mapped[datetime]                                        # core: first follow createtime
    first_seen_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")                 # the pool's own annotation
    digest: Mapped[str] = mapped_column(String(40), default="")  # of WeCom's fields: a resync compares this

    __table_args__ = (Index("ix_customers_status", "status"),)


class CustomerFollow(Base):
    __tablename__ = "customer_follows"

    id: Mapped[int] = mapped_column(BIG, primary_key=True)
    external_userid: Mapped[str] = mapped_column(ForeignKey("customers.external_userid"))
    userid: Mapped[str] = mapped_column(String(64))  # no FK: events may name members not synced yet
    remark: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    remark_corp_name: Mapped[str] = mapped_column(String(255), default="")
    remark_mobiles: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    add_way: Mapped[int] = mapped_column(Integer, default=0)
    oper_userid: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(255), default="")
    half: Mapped[bool] = mapped_column(Boolean, default=False)  # add_half_external_contact
    follow_created_at: Mapped[datetime | None] = mapped_column(nullable=True)  # WeCom createtime
    opened_at: Mapped[datetime]                                   # when we recorded it (our clock)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    end_recorded_at: Mapped[datetime | None] = mapped_column(nullable=True)
    archive_agreed_at: Mapped[datetime | None] = mapped_column(nullable=True)  # msg_audit_approved
    digest: Mapped[str] = mapped_column(String(40), default="")  # of WeCom's fields: a resync compares this
    updated_at: Mapped[datetime]

    __table_args__ = (
        # At most one open episode per (customer, member); ended ones accumulate.
        Index("uq_customer_follows_open", "external_userid", "userid", unique=True,
              sqlite_where=text("ended_at IS NULL"), postgresql_where=text("ended_at IS NULL")),
        Index("ix_customer_follows_customer", "external_userid", "id"),
        Index("ix_customer_follows_userid", "userid", "ended_at"),
    )

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class CustomerChange(Base):
    """History: one row per change of a customer or a relation, with where we learned it."""

    __tablename__ = "customer_changes"

    id: Mapped[int] = mapped_column(BIG, primary_key=True)
    external_userid: Mapped[str] = mapped_column(String(64))
    userid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]                                           # when we recorded it
    occurred_at: Mapped[datetime | None] = mapped_column(nullable=True)  # the event's CreateTime
    source: Mapped[str] = mapped_column(String(16))                # event | resync | api | directory
    event_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    api_call: Mapped[str | None] = mapped_column(String(64), nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_customer_changes_customer", "external_userid", "id"),)


class CustomerAlert(Base):
    """A deletion worth telling one recipient about; sent at once or gathered into their digest."""

    __tablename__ = "customer_alerts"

    id: Mapped[int] = mapped_column(BIG, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # replaying an event adds nothing
    kind: Mapped[str] = mapped_column(String(32))                # member_deleted | customer_deleted
    userid: Mapped[str] = mapped_column(String(64))              # the member in the relation
    external_userid: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    recipient: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))                # immediate | digest
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (Index("ix_customer_alerts_pending", "sent_at", "recipient"),)


class CustomerSyncRun(Base):
    __tablename__ = "customer_sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    total_batches: Mapped[int] = mapped_column(Integer, default=0)
    done_batches: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class CustomerSyncBatch(Base):
    """The checkpoint: a batch of userids is done once its relations and reconciliation committed."""

    __tablename__ = "customer_sync_batches"

    run_id: Mapped[int] = mapped_column(ForeignKey("customer_sync_runs.id"), primary_key=True)
    batch_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    userids: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done
    relations: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(nullable=True)


# -- reads ------------------------------------------------------------------------------------

def open_follow(session: Session, external_userid: str, userid: str) -> CustomerFollow | None:
    return session.scalar(select(CustomerFollow).where(
        CustomerFollow.external_userid == external_userid, CustomerFollow.userid == userid,
        CustomerFollow.ended_at.is_(None)))


def latest_follow(session: Session, external_userid: str, userid: str) -> CustomerFollow | None:
    """The newest episode for the pair, open or ended."""
    return session.scalar(select(CustomerFollow).where(
        CustomerFollow.external_userid == external_userid, CustomerFollow.userid == userid)
        .order_by(CustomerFollow.id.desc()).limit(1))


def follows_of(session: Session, external_userid: str) -> list[CustomerFollow]:
    return list(session.scalars(select(CustomerFollow).where(CustomerFollow.external_userid == external_userid)
                                .order_by(CustomerFollow.id)))


def history_of(session: Session, external_userid: str, limit: int = 500) -> list[CustomerChange]:
    return list(session.scalars(select(CustomerChange).where(CustomerChange.external_userid == external_userid)
                                .order_by(CustomerChange.id).limit(limit)))


# -- writes -----------------------------------------------------------------------------------

def record_change(session: Session, external_userid: str, kind: str, changes: dict[str, Any], *,
                  source: str, userid: str | None = None, occurred_at: datetime | None = None,
                  event_id: int | None = None, api_call: str | None = None, run_id: int | None = None,
                  actor: str | None = None, at: datetime | None = None) -> CustomerChange:
    row = CustomerChange(external_userid=external_userid, userid=userid, kind=kind, at=at or utcnow(),
                         occurred_at=occurred_at, source=source, event_id=event_id, api_call=api_call,
                         run_id=run_id, actor=actor, changes=changes)
    session.add(row)
    return row


class _Episode(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def opened_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...
    @property
    def end_reason(self) -> str | None: ...


def status_from(episodes: Sequence[_Episode]) -> str:
    """active while any episode is open; else churned if the customer ended the last one, else lost."""
    if any(f.ended_at is None for f in episodes):
        return ACTIVE
    if episodes and max(episodes, key=_end_order).end_reason == CUSTOMER_DELETED:
        return CHURNED
    return LOST


def refresh_status(session: Session, customer: Customer) -> str:
    session.flush()
    customer.status = status_from(follows_of(session, customer.external_userid))
    return customer.status


def refresh_statuses(session: Session, external_userids: Sequence[str]) -> int:
    """refresh_status for many customers (a resync that found thousands of relations gone): one read
    of their episodes and one of their statuses per thousand, one UPDATE for those that change.
    Customer rows loaded in the session are not refreshed. Returns how many changed."""
    session.flush()
    changed: list[dict[str, str]] = []
    for i in range(0, len(external_userids), 1000):
        chunk = list(external_userids[i:i + 1000])
        episodes: dict[str, list[Any]] = {}
        for row in session.execute(select(CustomerFollow.id, CustomerFollow.external_userid, CustomerFollow.opened_at,
                                          CustomerFollow.ended_at, CustomerFollow.end_reason)
                                   .where(CustomerFollow.external_userid.in_(chunk))):
            episodes.setdefault(row.external_userid, []).append(row)
        for ext, status in session.execute(select(Customer.external_userid, Customer.status)
                                           .where(Customer.external_userid.in_(chunk))):
            new = status_from(episodes.get(ext, []))
            if new != status:
                changed.append({"external_userid": ext, "status": new})
    if changed:
        session.execute(update(Customer), changed)
    return len(changed)


def _end_order(follow: _Episode) -> tuple[datetime, int]:
    return (follow.ended_at or follow.opened_at, follow.id)
