"""The customer pool's part of `wecom-hr demo`: customers arriving, a deletion alert, a churn notice.

``play(sim, runtime, out)`` drives the simulator and waits until the pool (and WeCom's inbox) shows
the result. It handles due events itself as well, so it works with or without a worker running:
claims are atomic, so the two never handle an event twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TextIO

from sqlalchemy import select

from storage import directory
from storage.customers import Customer, CustomerFollow
from storage.db import utcnow
from wecom_hr.customers.directory_sync import sync_directory
from wecom_hr.customers.messages import REASONS
from wecom_hr.customers.resync import resync_customers
from wecom_hr.runtime import Runtime

Out = Callable[[str], Any] | TextIO
NEW_CUSTOMERS = [("wmDemoA01", "陈先生", "远航物流"), ("wmDemoA02", "林女士", "青禾食品"),
                 ("wmDemoA03", "黄总", "启明软件")]


def _say(out: Out, text: str) -> None:
    if callable(out):
        out(text)
    else:
        out.write(text + "\n")
        out.flush()


def _settle(runtime: Runtime, done: Callable[[], bool], timeout: float = 10.0) -> bool:
    from handlers import ROUTES
    from wecom_hr.dispatch import Dispatcher
    from wecom_hr.outbox import deliver

    dispatcher = Dispatcher(runtime, ROUTES)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatcher.drain()
        deliver(runtime)
        if done():
            return True
        time.sleep(0.05)
    return False


def _pick_seller(runtime: Runtime) -> tuple[str, list[str]]:
    """A member with a manager (the seeded company has several)."""
    with runtime.db.session_scope() as s:
        for userid in s.scalars(select(directory.Member.userid).where(directory.Member.status == directory.ACTIVE)
                                .order_by(directory.Member.userid)):
            managers = directory.managers_of(s, userid)
            if managers and not directory.is_manager(s, userid):
                return userid, managers
    raise RuntimeError("the demo needs a member with a manager; seed the simulator first (seed_company)")


def _relation(runtime: Runtime, ext: str, userid: str) -> CustomerFollow | None:
    with runtime.db.session_scope() as s:
        return s.scalar(select(CustomerFollow).where(CustomerFollow.external_userid == ext,
                                                     CustomerFollow.userid == userid)
                        .order_by(CustomerFollow.id.desc()).limit(1))


def _messages_to(sim: Any, userid: str) -> list[str]:
    return [m["markdown"]["content"] for m in sim.sent_messages
            if m.get("msgtype") == "markdown" and userid in str(m.get("touser", "")).split("|")]


def play(sim: Any, runtime: Runtime, out: Out) -> dict[str, Any]:
    with runtime.db.session_scope() as s:
        sync_directory(s, runtime.wecom("contact"), utcnow(), runtime)
    synced = resync_customers(runtime)
    _say(out, f"— 全量同步（wecom-hr sync contacts）：{synced.get('relations', 0)} 条跟进关系，"
              f"{synced.get('calls', 0)} 次企业微信调用，用时 {synced.get('seconds', 0)} 秒")
    seller, managers = _pick_seller(runtime)
    with runtime.db.session_scope() as s:
        seller_name, manager_name = directory.display_name(s, seller), directory.display_name(s, managers[0])
    _say(out, f"— 客户池：{seller_name}（{seller}）添加了 {len(NEW_CUSTOMERS)} 位客户")
    for ext, name, corp in NEW_CUSTOMERS:
        sim.scenario.add_customer(seller, ext, name, corp_name=corp, remark=f"{name}-{corp}", state="demo")
    arrived = _settle(runtime, lambda: all(_relation(runtime, e, seller) for e, _, _ in NEW_CUSTOMERS))
    with runtime.db.session_scope() as s:
        total = s.query(Customer).count()
    _say(out, f"  客户已入池（{'✓' if arrived else '超时'}），企业客户池共 {total} 位客户")

    ext, name, corp = NEW_CUSTOMERS[0]
    _say(out, f"— {seller_name} 在企业微信里删除了客户 {name}（{corp}）")
    before = len(_messages_to(sim, managers[0]))
    sim.scenario.member_deletes_customer(seller, ext)
    alerted = _settle(runtime, lambda: len(_messages_to(sim, managers[0])) > before)
    relation = _relation(runtime, ext, seller)
    reason = REASONS.get(relation.end_reason or "", "?") if relation else "?"
    _say(out, f"  关系已结束（{reason}），客户仍保留在客户池")
    if alerted:
        _say(out, f"  主管 {manager_name} 收到：{_messages_to(sim, managers[0])[-1].splitlines()[0]}")

    ext, name, corp = NEW_CUSTOMERS[1]
    _say(out, f"— 客户 {name}（{corp}）删除了 {seller_name}")
    before = len(_messages_to(sim, seller))
    sim.scenario.customer_deletes_member(seller, ext)
    churned = _settle(runtime, lambda: len(_messages_to(sim, seller)) > before)
    if churned:
        _say(out, f"  {seller_name} 收到：{' '.join(_messages_to(sim, seller)[-1].splitlines()[:2])}")
    return {"seller": seller, "manager": managers[0], "arrived": arrived, "deletion_alert": alerted,
            "churn_notice": churned}
