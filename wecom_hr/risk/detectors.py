"""Signals computed as messages arrive (MESSAGES_ARCHIVED): off_assignment and contact_diversion.

A batch of archived messages costs a fixed number of statements, whatever its size: the customers'
owners, the msgids and hit keys already counted, and the counted contacts of the touched (member,
customer) pairs in the window are read once each; the new rows are written with one executemany.
Contact-diversion patterns run only on text with a digit or a trigger word (diversion.may_hold).
A message seen twice (a re-run pull) is counted once: the rows are keyed by msgid.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from storage import directory
from storage.archive import ArchiveDoc
from storage.archive_store import NewMessage
from storage.risk import (
    HIT_COLUMNS,
    RiskContact,
    RiskHit,
    contact_times,
    known_contacts,
    known_hits,
    owners_of,
    recent_contacts_of,
)
from wecom_hr.archive.messages import is_external
from wecom_hr.config import Settings
from wecom_hr.risk import diversion, messages
from wecom_hr.risk.cases import Finding, raise_alerts
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
    contacts: list[dict[str, Any]] = field(default_factory=list)  # new risk_contacts rows
    hits: dict[str, list[tuple[RiskHit, NewMessage]]] = field(default_factory=dict)  # member -> new hits


Chat = tuple[NewMessage, str, datetime]  # the message, the member in the conversation, when it was sent


def observe(session: Session, settings: Settings, cfg: RiskSettings, new_messages: Sequence[NewMessage],
            now: datetime) -> dict[str, int]:
    """A batch costs a fixed number of statements: owners, known msgids and hit keys, and the contacts
    in the window are each read once for the whole batch; new rows are written with one executemany."""
    chats: list[Chat] = []
    for msg in sorted(new_messages, key=lambda m: (m.msgtime, m.seq)):
        member = _member_of(msg)
        if msg.action == "send" and msg.msgtime and member and msg.customer:
            chats.append((msg, member, datetime.fromtimestamp(msg.msgtime / 1000, UTC)))
    batch = _Batch()
    _count_contacts(session, cfg, batch, chats)
    _record_hits(session, cfg, batch, chats)
    scopes = RuleScopes(session)
    findings = _evaluate_contacts(session, settings, cfg, batch, scopes)
    findings += _evaluate_hits(settings, cfg, batch, scopes)
    fired = sum(alert is not None for alert in raise_alerts(session, settings, findings, now))
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


def _owners(session: Session, customers: set[str], mode: str) -> dict[str, str]:
    """owner_of for many customers: two reads; "department" mode asks owner_of for each pool customer."""
    owners = owners_of(session, sorted(customers))
    if mode == "department":
        return {c: owner_of(session, c, mode) if c in owners else "" for c in customers}
    return {c: owners.get(c, "") for c in customers}


def _count_contacts(session: Session, cfg: RiskSettings, batch: _Batch, chats: Sequence[Chat]) -> None:
    # One-to-one chats only: in a customer group the whole team talks to every customer.
    mine = [(msg, member, at) for msg, member, at in chats if msg.sender == member and not msg.roomid]
    if not mine:
        return
    batch.owners = _owners(session, {msg.customer for msg, _, _ in mine}, cfg.ownership)
    counted = [(msg, member, at, batch.owners[msg.customer]) for msg, member, at in mine
               if batch.owners[msg.customer] not in ("", member)]
    seen = known_contacts(session, sorted({msg.msgid[:128] for msg, _, _, _ in counted}))
    for msg, member, at, owner in counted:
        msgid = msg.msgid[:128]
        if msgid in seen:
            continue
        seen.add(msgid)  # a message twice in one batch counts once too
        batch.contacts.append({"msgid": msgid, "userid": member, "external_userid": msg.customer, "owner": owner,
                               "sent_at": at, "text": messages.plain(msg.text, TEXT_CHARS)})
        key = (member, msg.customer)
        batch.pairs[key] = max(at, batch.pairs.get(key, at))
    if batch.contacts:
        session.execute(insert(RiskContact), batch.contacts)


def _record_hits(session: Session, cfg: RiskSettings, batch: _Batch, chats: Sequence[Chat]) -> None:
    found: list[tuple[RiskHit, NewMessage]] = []
    qr = _qr_after_words(session, cfg, chats)
    for msg, member, at in chats:
        hits = diversion.find(msg.text) if msg.text else []
        if msg.msgid in qr and msg.msgtype == "image":
            hits.append(qr[msg.msgid])
        for hit in hits:
            if is_external(msg.sender):  # a customer's own number (delivery, call-backs) is ordinary; one step down
                hit = diversion.weaker(hit)
            row = RiskHit(key=f"{msg.msgid[:150]}:{hit.shape}:{hit.start}", msgid=msg.msgid[:128], userid=member,
                          external_userid=msg.customer, shape=hit.shape, confidence=hit.confidence,
                          text=messages.plain(hit.excerpt, TEXT_CHARS), sent_at=at)
            found.append((row, msg))
    if not found:
        return
    seen = known_hits(session, sorted({row.key for row, _ in found}))
    rows = []
    for row, msg in found:
        if row.key in seen:
            continue
        seen.add(row.key)
        rows.append({c: getattr(row, c) for c in HIT_COLUMNS})
        batch.hits.setdefault(row.userid, []).append((row, msg))
    if rows:
        session.execute(insert(RiskHit), rows)


def _qr_after_words(session: Session, cfg: RiskSettings, chats: Sequence[Chat]) -> dict[str, diversion.Hit]:
    """Images right after diversion words from the same sender are taken for QR codes: msgid -> hit.
    The words are the batch's own text before the image, else the archive's (one read for the batch)."""
    if cfg.qr_followup_seconds <= 0:
        return {}
    window = cfg.qr_followup_seconds * 1000
    last_text: dict[tuple[str, str], tuple[int, str]] = {}  # (conv, sender) -> the latest text so far
    before: dict[str, str] = {}
    look_up: list[NewMessage] = []
    for msg, _, _ in chats:
        if msg.msgtype == "image":
            seen = last_text.get((msg.conv, msg.sender))
            if seen is not None and seen[0] >= msg.msgtime - window:
                before[msg.msgid] = seen[1]
            else:
                look_up.append(msg)
        if msg.text:
            last_text[(msg.conv, msg.sender)] = (msg.msgtime, msg.text)
    before.update(_archived_words(session, look_up, window))
    out: dict[str, diversion.Hit] = {}
    for msgid, text in before.items():
        confidence = diversion.primes_qr(text)
        if confidence is not None:
            words = diversion.fold(text)
            out[msgid] = diversion.Hit("qr_code", confidence, 0, 0,
                                       diversion.excerpt(words, max(0, len(words) - 60), len(words)))
    return out


def _archived_words(session: Session, images: Sequence[NewMessage], window: int) -> dict[str, str]:
    """For each image, the archive's latest non-image text of its sender in its conversation within the window."""
    if not images:
        return {}
    low, high = min(m.msgtime for m in images) - window, max(m.msgtime for m in images)
    convs, senders = sorted({m.conv for m in images}), sorted({m.sender for m in images})
    docs: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
    for conv, sender, msgtime, doc_id, body in session.execute(
            select(ArchiveDoc.conv, ArchiveDoc.sender, ArchiveDoc.msgtime, ArchiveDoc.id, ArchiveDoc.body).where(
                ArchiveDoc.conv.in_(convs), ArchiveDoc.sender.in_(senders), ArchiveDoc.msgtime >= low,
                ArchiveDoc.msgtime <= high, ArchiveDoc.msgtype != "image", ArchiveDoc.body != "")):
        docs.setdefault((conv, sender), []).append((msgtime, doc_id, body))
    out: dict[str, str] = {}
    for m in images:
        fits = [d for d in docs.get((m.conv, m.sender), ()) if m.msgtime - window <= d[0] <= m.msgtime]
        if fits:
            out[m.msgid] = max(fits)[2]
    return out


def _evaluate_contacts(session: Session, settings: Settings, cfg: RiskSettings, batch: _Batch,
                       scopes: RuleScopes) -> list[Finding]:
    rules = for_signal(cfg.rules, OFF_ASSIGNMENT)
    if not rules or not batch.pairs:
        return []
    longest = max(r.window_days for r in rules)
    times = contact_times(session, list(batch.pairs), min(batch.pairs.values()) - timedelta(days=longest))
    firing: list[tuple[RuleSpec, tuple[str, str], datetime, float]] = []
    for rule in rules:
        for (member, customer), last in batch.pairs.items():
            if not scopes.includes(rule, member):
                continue
            since = last - timedelta(days=rule.window_days)
            value = float(sum(at >= since for at in times.get((member, customer), ())))
            if rule.fires(value):
                firing.append((rule, (member, customer), since, value))
    wanted: dict[tuple[str, str], datetime] = {}
    for _, pair, since, _ in firing:
        wanted[pair] = min(since, wanted.get(pair, since))
    recent = recent_contacts_of(session, wanted, EVIDENCE_PER_ALERT)  # newest first: a shorter window is a prefix
    return [Finding(rule, pair[0], pair[1], value,
                    [_contact_evidence(settings, r) for r in recent.get(pair, []) if r.sent_at >= since]
                    [:EVIDENCE_PER_ALERT])
            for rule, pair, since, value in firing]


def _contact_evidence(settings: Settings, row: RiskContact) -> dict[str, Any]:
    return {"msgid": row.msgid, "at": row.sent_at.isoformat(), "text": row.text, "owner": row.owner,
            "external_userid": row.external_userid,
            "context_url": messages.context_url(settings.public_url, row.msgid),
            "customer_url": messages.customer_url(settings.public_url, row.external_userid)}


def _evaluate_hits(settings: Settings, cfg: RiskSettings, batch: _Batch, scopes: RuleScopes) -> list[Finding]:
    findings = []
    for rule in for_signal(cfg.rules, CONTACT_DIVERSION):
        for member, hits in batch.hits.items():
            chosen = [(h, m) for h, m in hits if rule.fires(CONFIDENCE[h.confidence])]
            if not chosen or not scopes.includes(rule, member):
                continue
            value = max(CONFIDENCE[h.confidence] for h, _ in chosen)
            evidence = [_hit_evidence(settings, h) for h, _ in reversed(chosen)][:EVIDENCE_PER_ALERT]
            findings.append(Finding(rule, member, chosen[0][0].external_userid, value, evidence))
    return findings


def _hit_evidence(settings: Settings, hit: RiskHit) -> dict[str, Any]:
    return {"msgid": hit.msgid, "at": hit.sent_at.isoformat(), "shape": hit.shape, "confidence": hit.confidence,
            "text": hit.text, "external_userid": hit.external_userid,
            "context_url": messages.context_url(settings.public_url, hit.msgid),
            "customer_url": messages.customer_url(settings.public_url, hit.external_userid)}
