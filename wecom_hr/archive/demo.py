"""Demo scene: chat messages arrive through msgaudit_notify, a watch-list alert reaches
compliance in WeCom, and a compliance officer searches the archive.

The demo has no Finance SDK: it gives the runtime an in-process source (same interface, RSA
per publickey_ver, a stand-in body cipher) and an in-memory key ring.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from storage.archive import ArchiveMessage
from storage.archive_chain import verify
from storage.archive_search import Filters
from wecom_hr.archive.keys import KeyRing
from wecom_hr.archive.results import find
from wecom_hr.archive.source import MemorySource
from wecom_hr.runtime import Runtime

Out = Callable[[str], None]
KEY_VERSION = 1


def _cast(sim: Any) -> tuple[str, str]:
    with sim.state.lock:
        for user in sim.state.active_users():
            follows = sim.state.follows_of_user(user.userid)
            if follows:
                return user.userid, follows[0].external_userid
    raise RuntimeError("the simulated company has no salesperson with a customer")


def _chat(seller: str, customer: str, start_ms: int) -> list[dict[str, Any]]:
    lines = [(seller, "您好，我是小王，这款空调现在活动价3999元，今天下单送安装"),
             (customer, "能便宜点吗？别家报价才3600"),
             (seller, "公司价格是统一的，我帮您申请一下9折"),
             (customer, "那可以开发票吗"),
             (seller, "可以开增值税专用发票，合同我发您邮箱"),
             (seller, "其实加我私人微信wx_8888，转账给我个人还能再便宜三百"),
             (customer, "好的，我考虑一下")]
    return [{"msgid": f"demo-{start_ms}-{i}", "action": "send", "from": who, "roomid": "",
             "tolist": [customer if who == seller else seller], "msgtime": start_ms + i * 45_000,
             "msgtype": "text", "text": {"content": text}} for i, (who, text) in enumerate(lines)]


def _archived(runtime: Runtime) -> int:
    with runtime.db.session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(ArchiveMessage)) or 0)


def play(sim: Any, runtime: Runtime, out: Out) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    source = MemorySource()
    runtime.archive_source = source  # type: ignore[attr-defined]
    runtime.archive_keys = KeyRing.of_keys({KEY_VERSION: key})  # type: ignore[attr-defined]
    seller, customer = _cast(sim)
    before = _archived(runtime)
    chat = _chat(seller, customer, int(time.time() * 1000) - 10 * 60_000)
    for msg in chat:
        source.add(msg, KEY_VERSION, key.public_key())
    out(f"   {seller} and customer {customer} chat ({len(chat)} messages); WeCom sends msgaudit_notify")
    sim.scenario.msgaudit_notify()
    deadline = time.monotonic() + 20
    while _archived(runtime) < before + len(chat) and time.monotonic() < deadline:
        time.sleep(0.05)
    out(f"   pulled, decrypted (RSA key version {KEY_VERSION}) and archived: {_archived(runtime) - before} messages")
    _show_alerts(sim, runtime, out)
    with runtime.db.session_scope() as s:
        found = find(s, "demo", "私人微信", Filters(), per_page=5, via="demo")
        report = verify(s)
    out(f"   compliance searches 私人微信: {found['total']} hit(s), plan {found['plan']}")
    for hit in found["hits"]:
        text = hit["snippet"].replace("<mark>", "【").replace("</mark>", "】")
        out(f"      {hit['time']} {hit['sender']} → {hit['customer']}: {text}")
    out(f"   {report.line()}")
    out("   the same search over HTTP: GET /api/v1/archive/search?q=私人微信 (compliance/admin token)")


def _show_alerts(sim: Any, runtime: Runtime, out: Out) -> None:
    deadline = time.monotonic() + 20
    cards: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        cards = [m for m in sim.sent_messages if m.get("msgtype") == "template_card"
                 and "会话存档" in str(m.get("template_card", {}).get("source", {}))]
        if cards:
            break
        runtime.wakeup.set()
        time.sleep(0.1)
    for card in cards:
        body = card["template_card"]
        out(f"   watch-list alert to {card['touser']}: {body['main_title']['title']} — {body['sub_title_text']}")
    if not cards:
        out("   (no watch-list alert arrived: are [roles] compliance or [archive] alert_recipients set?)")
