"""Demo scene (issue 18): a salesperson works another's customer six times and passes a mobile number;
the risk rules flag both, and the KPI API has the numbers behind them.

Runs after the chat-archive scene, whose in-process source and keys it reuses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from storage.db import utcnow
from wecom_hr.archive import service
from wecom_hr.archive.demo import KEY_VERSION
from wecom_hr.demo import api, wait_idle
from wecom_hr.runtime import Runtime
from wecom_hr.scheduler import run_job

Out = Callable[[str], None]


def _cast(sim: Any) -> tuple[str, str, str]:
    """(owner, their customer, a colleague in another team who is not assigned that customer)."""
    with sim.state.lock:
        people = [u.userid for u in sim.state.active_users() if sim.state.follows_of_user(u.userid)]
        owner = people[0]
        customer = sim.state.follows_of_user(owner)[0].external_userid
        other = next(u for u in people[1:] if customer not in
                     {f.external_userid for f in sim.state.follows_of_user(u)})
    return owner, customer, other


def play(sim: Any, runtime: Runtime, out: Out) -> None:
    source, keys = getattr(runtime, "archive_source", None), getattr(runtime, "archive_keys", None)
    if source is None or keys is None:
        out("   (the chat-archive scene did not run: nothing to show)")
        return
    owner, customer, other = _cast(sim)
    public = keys._key(KEY_VERSION).public_key()  # the demo's in-memory key ring
    start = int(time.time() * 1000) - 60 * 60_000
    lines = [f"王总您好，我是{other}，您上次问的那批货我这边也能做"] * 5
    lines.append("价格好说，我的手机 138 1234 5678，直接打给我")
    for i, text in enumerate(lines):
        source.add({"msgid": f"risk-demo-{start}-{i}", "action": "send", "from": other, "roomid": "",
                    "tolist": [customer], "msgtime": start + i * 300_000, "msgtype": "text",
                    "text": {"content": text}}, KEY_VERSION, public)
    out(f"   {other} messages {owner}'s customer {customer} six times, the last with a mobile number")
    service.pull(runtime, utcnow())
    wait_idle(runtime)
    cards = [m for m in sim.sent_messages if m.get("msgtype") == "template_card"
             and m["template_card"].get("source", {}).get("desc") == "跑单预警"]
    for card in cards:
        body = card["template_card"]
        out(f"   risk card to {card['touser']}: {body['main_title']['title']} — {body.get('sub_title_text', '')}")
    compliance = runtime.settings.roles.compliance[0]
    status, alerts = api(runtime, "GET", "/api/v1/risk/alerts?status=open", compliance)
    kinds = sorted({a["kind"] for a in alerts}) if status == 200 else []
    out(f"   GET /api/v1/risk/alerts?status=open -> {status}: {len(alerts) if status == 200 else 0} open case(s) "
        f"({', '.join(kinds)})")
    run_job(runtime, "evaluate-risk-rules")
    status, kpis = api(runtime, "GET", f"/api/v1/kpis?member={other}", compliance)
    if status == 200 and kpis.get("members"):
        row = kpis["members"][0]
        out(f"   GET /api/v1/kpis?member={other} -> {status}: off_assignment_contacts "
            f"{row['off_assignment_contacts']}, reply_count {row['reply_count']}, open_alerts {row['open_alerts']}")
    else:
        out(f"   GET /api/v1/kpis?member={other} -> {status}")
