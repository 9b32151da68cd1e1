"""The overdue-payment reminder run: claim → collection → one digest per recipient → mark sent.

Exactly once per (receivable, tier): claiming writes the reminder log (unique key) and commits;
digests are queued in the outbox under the key ``receivables:<run>:<recipient>``, so a run that dies
while queueing is finished by the next run with the same keys — recipients already queued are
deduplicated by the outbox, the others get theirs. Only then are the log rows marked queued.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from storage import audit, outbox
from storage.db import Database
from storage.receivables import QUEUED, UNROUTABLE
from wecom_hr.config import Settings
from wecom_hr.receivables import claims, collection, dispatch
from wecom_hr.receivables.digest import render
from wecom_hr.receivables.recipients import Router
from wecom_hr.receivables.settings import ReceivablesSettings, from_settings
from wecom_hr.wecom.markdown import markdown, md_url

KIND = "receivables.digest"
COMMIT_EVERY = 50  # digests per transaction: a crash loses at most this much work, never a message
AfterEnqueue = Callable[[int], None]


def new_run_id(today: date) -> str:
    return f"{today.isoformat()}-{uuid.uuid4().hex[:8]}"


def run(db: Database, settings: Settings, now: datetime, after_enqueue: AfterEnqueue | None = None
        ) -> dict[str, Any]:
    conf = from_settings(settings)
    held = conf.policy.hold_reason(now)
    if held:
        return {"held": held}
    today = conf.policy.local_today(now)
    result: dict[str, Any] = {"today": today.isoformat(), "claimed": 0, "cancelled": 0, "recipients": 0,
                              "messages": 0, "unroutable": 0, "collection_items": 0, "letters": 0, "runs": []}
    with db.session_scope() as s:
        result["claimed"] = claims.claim(s, conf.policy, now, new_run_id(today))
    if result["claimed"]:
        with db.session_scope() as s:
            claims.refresh_statistics(s, "receivable_reminders")
    with db.session_scope() as s:
        runs = claims.pending_runs(s)
    for run_id in runs:  # older runs that died half-way first, then today's
        _finish(db, settings, conf, run_id, now, today, result, after_enqueue)
        result["runs"].append(run_id)
    with db.session_scope() as s:
        result["closed_tasks"] = collection.close_paid(s, now)
        audit.record(s, "scheduler", "receivables.reminders", {k: v for k, v in result.items() if k != "runs"})
    return result


def _finish(db: Database, settings: Settings, conf: ReceivablesSettings, run_id: str, now: datetime,
            today: date, result: dict[str, Any], after_enqueue: AfterEnqueue | None) -> None:
    with db.session_scope() as s:
        result["cancelled"] += claims.cancel_paid(s, run_id)
    with db.session_scope() as s:
        collect = [t.days for t in conf.policy.tiers if t.collect]
        result["collection_items"] += collection.open_tasks(s, run_id, collect, now)
    with db.session_scope() as s:
        claims.refresh_statistics(s, "collection_tasks", "collection_items", "dunning_letters")
    with db.session_scope() as s:
        result["letters"] += collection.draft_letters(s, conf.ledger, today, now)
    with db.session_scope() as s:
        unroutable = _queue_digests(s, settings, conf, run_id, today, result, after_enqueue)
    with db.session_scope() as s:
        result["unroutable"] += claims.mark(s, run_id, UNROUTABLE, now, unroutable)
        claims.mark(s, run_id, QUEUED, now)


def _queue_digests(s: Session, settings: Settings, conf: ReceivablesSettings, run_id: str, today: date,
                   result: dict[str, Any], after_enqueue: AfterEnqueue | None) -> list[tuple[str, int]]:
    rows = claims.buckets(s, run_id)
    plan = dispatch.plan(Router(s, settings.roles.finance), conf.policy, rows)
    ctx = dispatch.context(s, run_id, rows, today, conf.policy.max_items, settings.public_url,
                           conf.policy.note_overdue_after)
    for n, recipient in enumerate(sorted(plan.sections), 1):
        sections = dispatch.sections_for(ctx, plan.sections[recipient])
        if not sections:
            continue
        content = render(today, sections, _footer(settings, sections))
        payload = markdown(content)
        result["recipients"] += 1
        key = f"receivables:{run_id}:{recipient}"
        if outbox.enqueue(s, key, KIND, [recipient], payload):
            result["messages"] += 1
        if after_enqueue is not None:
            after_enqueue(n)
        if n % COMMIT_EVERY == 0:
            s.commit()
    return plan.unroutable


def _footer(settings: Settings, sections: list[Any]) -> str:
    roles = {sec.role for sec in sections}
    parts = []
    if "own" in roles:
        parts.append(f"[查看全部逾期账款并填写跟进说明]({md_url(settings.public_url + dispatch.FOLLOWUP_PATH)})")
    if "finance" in roles:
        parts.append("催收任务与追款函草稿已生成（API：/api/v1/collections）")
    return "\n" + "\n".join(parts) if parts else ""
