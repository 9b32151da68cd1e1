"""Signals computed as messages arrive (MESSAGES_ARCHIVED): off_assignment and contact_diversion.

Each archived message costs at most a few indexed reads: its customer's owner (cached per batch),
one insert per counted contact or hit, and one count per touched (member, customer) pair. A message
seen twice (a re-run pull) is counted once: the rows are keyed by msgid.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import directory
from storage.archive import ArchiveDoc
from storage.archive_store import NewMessage
from storage.risk import RiskContact, RiskHit, contacts_in_window, recent_contacts
from wecom_hr.archive.messages import is_external
from wecom_hr.config import Settings
from wecom_hr.risk import diversion, messages
from wecom_hr.risk.cases import Finding, raise_alert
from wecom_hr.risk.ownership import owner_of
from wecom_hr.risk.rules import CONFIDENCE, CONTACT_DIVERSION, OFF_ASSIGNMENT, RuleSpec, for_signal
from wecom_hr.risk.settings import RiskSettings, from_settings

if TYPE_CHECKING:
    from wecom_hr.dispatch import HandlerContext

EVIDENCE_PER_ALERT = 10
TEXT_CHARS = 200


def on_messages_archived(ctx: HandlerContext, new_messages: Sequence[NewMessage]) -> None:
    """Listener (wecom_hr/signals.py): count and evaluate the messages just archived."""
    observe(ctx.session, ctx.settings, from_settings(ctx.settings), new_messages, ctx.now)


class RuleScopes:
    """Whether a rule's members/departments include a member (departments with sub-departments)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._subtrees: dict[tuple[int, ...], set[int]] = {}
        self._depts: dict[str, set[int]] = {}

    def includes(self, rule: RuleSpec, userid: str) -> bool:
        if not rule.members and not rule.departments:
            return True
        if userid in rule.members:
            return True
        if not rule.departments:
            return False
        if rule.departments not in self._subtrees:
            self._subtrees[rule.departments] = directory.subtree(self._session, list(rule.departments))
        if userid not in self._depts:
            self._depts[userid] = {link.department_id for link in directory.departments_of(self._session, userid)}
        return bool(self._depts[userid] & self._subtrees[rule.departments])


@dataclass
class _Batch:
    owners: dict[str, str] = field(default_factory=dict)
    pairs: dict[tuple[str, str], datetime] = field(default_factory=dict)  # (member, customer) -> last sent
    hits: dict[str, list[tuple[RiskHit, NewMessage]]] = field(default_factory=dict)  # member -> new hits
    last_text: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)  # (conv, sender) -> text


def observe(session: Session, settings: Settings, cfg: RiskSettings, new_messages: Sequence[NewMessage],
            now: datetime) -> dict[str, int]:
    batch = _Batch()
    for msg in sorted(new_messages, key=lambda m: (m.msgtime, m.seq)):
        member = _member_of(msg)
        if msg.action != "send" or not msg.msgtime or not member or not msg.customer:
            continue
        at = datetime.fromtimestamp(msg.msgtime / 1000, UTC)
        _count_contact(session, cfg, batch, msg, member, at)
        _record_hits(session, cfg, batch, msg, member, at)
        if msg.text:
            batch.last_text[(msg.conv, msg.sender)] = (msg.msgtime, msg.text)
    scopes = RuleScopes(session)
    fired = _evaluate_contacts(session, settings, cfg, batch, scopes, now)
    fired += _evaluate_hits(session, settings, cfg, batch, scopes, now)
    return {"pairs": len(batch.pairs), "hits": sum(len(v) for v in batch.hits.values()), "alerts": fired}


def _member_of(msg: NewMessage) -> str:
    """The member in the conversation: the sender, or for a customer's message its first member."""
    if msg.sender and not is_external(msg.sender):
        return msg.sender
    try:
        tolist = json.loads(msg.tolist)
    except ValueError:
        return ""
    return next((str(u) for u in tolist if isinstance(u, str) and u and not is_external(u)), "")


def _count_contact(session: Session, cfg: RiskSettings, batch: _Batch, msg: NewMessage, member: str,
                   at: datetime) -> None:
    # One-to-one chats only: in a customer group the whole team talks to every customer.
    if msg.sender != member or msg.roomid:
        return
    if msg.customer not in batch.owners:
        batch.owners[msg.customer] = owner_of(session, msg.customer, cfg.ownership)
    owner = batch.owners[msg.customer]
    if not owner or owner == member:
        return
    if session.scalar(select(RiskContact.id).where(RiskContact.msgid == msg.msgid)) is None:
        session.add(RiskContact(msgid=msg.msgid[:128], userid=member, external_userid=msg.customer, owner=owner,
                                sent_at=at, text=messages.plain(msg.text, TEXT_CHARS)))
        key = (member, msg.customer)
        batch.pairs[key] = max(at, batch.pairs.get(key, at))


def _record_hits(session: Session, cfg: RiskSettings, batch: _Batch, msg: NewMessage, member: str,
                 at: datetime) -> None:
    found = diversion.find(msg.text) if msg.text else []
    if msg.msgtype == "image":
        qr = _qr_after_words(session, cfg, batch, msg)
        if qr is not None:
            found.append(qr)
    for hit in found:
        if is_external(msg.sender):  # a customer's own number (delivery, call-backs) is ordinary; one step down
            hit = diversion.weaker(hit)
        key = f"{msg.msgid[:150]}:{hit.shape}:{hit.start}"
        if session.scalar(select(RiskHit.id).where(RiskHit.key == key)) is not None:
            continue
        row = RiskHit(key=key, msgid=msg.msgid[:128], userid=member, external_userid=msg.customer, shape=hit.shape,
                      confidence=hit.confidence, text=messages.plain(hit.excerpt, TEXT_CHARS), sent_at=at)
        session.add(row)
        batch.hits.setdefault(member, []).append((row, msg))


def _qr_after_words(session: Session, cfg: RiskSettings, batch: _Batch, msg: NewMessage) -> diversion.Hit | None:
    """An image right after diversion words from the same sender is taken for a QR code."""
    if cfg.qr_followup_seconds <= 0:
        return None
    since = msg.msgtime - cfg.qr_followup_seconds * 1000
    before = batch.last_text.get((msg.conv, msg.sender))
    if before is None or before[0] < since:
        body = session.scalar(select(ArchiveDoc.body).where(
            ArchiveDoc.conv == msg.conv, ArchiveDoc.sender == msg.sender, ArchiveDoc.msgtime >= since,
            ArchiveDoc.msgtime <= msg.msgtime, ArchiveDoc.msgtype != "image", ArchiveDoc.body != "")
            .order_by(ArchiveDoc.msgtime.desc(), ArchiveDoc.id.desc()).limit(1))
        before = (msg.msgtime, body) if body else None
    if before is None:
        return None
    confidence = diversion.primes_qr(before[1])
    if confidence is None:
        return None
    words = diversion.fold(before[1])
    return diversion.Hit("qr_code", confidence, 0, 0, diversion.excerpt(words, max(0, len(words) - 60), len(words)))


def _evaluate_contacts(session: Session, settings: Settings, cfg: RiskSettings, batch: _Batch,
                       scopes: RuleScopes, now: datetime) -> int:
    fired = 0
    for rule in for_signal(cfg.rules, OFF_ASSIGNMENT):
        for (member, customer), last in batch.pairs.items():
            if not scopes.includes(rule, member):
                continue
            since = last - timedelta(days=rule.window_days)
            value = float(contacts_in_window(session, member, customer, since))
            if not rule.fires(value):
                continue
            rows = recent_contacts(session, member, customer, since, EVIDENCE_PER_ALERT)
            evidence = [_contact_evidence(settings, r) for r in rows]
            fired += raise_alert(session, settings, Finding(rule, member, customer, value, evidence), now) is not None
    return fired


def _contact_evidence(settings: Settings, row: RiskContact) -> dict[str, Any]:
    return {"msgid": row.msgid, "at": row.sent_at.isoformat(), "text": row.text, "owner": row.owner,
            "external_userid": row.external_userid,
            "context_url": messages.context_url(settings.public_url, row.msgid),
            "customer_url": messages.customer_url(settings.public_url, row.external_userid)}


def _evaluate_hits(session: Session, settings: Settings, cfg: RiskSettings, batch: _Batch,
                   scopes: RuleScopes, now: datetime) -> int:
    fired = 0
    for rule in for_signal(cfg.rules, CONTACT_DIVERSION):
        for member, hits in batch.hits.items():
            chosen = [(h, m) for h, m in hits if rule.fires(CONFIDENCE[h.confidence])]
            if not chosen or not scopes.includes(rule, member):
                continue
            value = max(CONFIDENCE[h.confidence] for h, _ in chosen)
            evidence = [_hit_evidence(settings, h) for h, _ in reversed(chosen)][:EVIDENCE_PER_ALERT]
            finding = Finding(rule, member, chosen[0][0].external_userid, value, evidence)
            fired += raise_alert(session, settings, finding, now) is not None
    return fired


def _hit_evidence(settings: Settings, hit: RiskHit) -> dict[str, Any]:
    return {"msgid": hit.msgid, "at": hit.sent_at.isoformat(), "shape": hit.shape, "confidence": hit.confidence,
            "text": hit.text, "external_userid": hit.external_userid,
            "context_url": messages.context_url(settings.public_url, hit.msgid),
            "customer_url": messages.customer_url(settings.public_url, hit.external_userid)}
