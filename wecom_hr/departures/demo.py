"""The departure scene of `wecom-hr demo`: a salesperson leaves and nothing falls through.

HR starts the handover over the real HTTP API; the manager gets the card in WeCom and approves it,
choosing a successor (a click from someone else is refused); the customers and the group chat are
transferred; one customer refuses; the follow-up polls WeCom, the pool shows the new owner, the
successor gets a briefing and HR a report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from storage.db import utcnow
from storage.departures import APPROVED, BATCH_SENDING, PLANNED, batches, get
from wecom_hr.demo import api, wait_idle
from wecom_hr.departures.settings import local_today
from wecom_hr.runtime import Runtime
from wecom_hr.scheduler import run_job
from wecom_hr.simulator import events

Out = Callable[[str], None]


def _cast(sim: Any, hr: str) -> tuple[str, str]:
    """The first salesperson with customers and a department leader, and that leader."""
    with sim.state.lock:
        for user in sim.state.active_users():
            leaders = [u.userid for u in sim.state.active_users() if u.userid not in (user.userid, hr)
                       and set(u.department) & set(user.department) and any(u.is_leader_in_dept)]
            if sim.state.follows_of_user(user.userid) and leaders and not any(user.is_leader_in_dept):
                return user.userid, leaders[0]
    raise RuntimeError("the simulated company has no salesperson with customers and a manager")


def _wait(runtime: Runtime) -> None:
    wait_idle(runtime)


def _show(out: Out, who: str, msg: dict[str, Any]) -> None:
    kind = msg.get("msgtype", "")
    body = msg.get(kind, {})
    text = body.get("content") or (body.get("main_title") or {}).get("title", "")
    out(f"   -> {who}:")
    for line in str(text).splitlines():
        out(f"      {line}")


def play(sim: Any, runtime: Runtime, out: Out) -> None:
    hr = runtime.settings.roles.hr[0]
    seller, manager = _cast(sim, hr)
    out("   the directory and the customer pool are synced from WeCom first")
    run_job(runtime, "sync-directory")
    run_job(runtime, "resync-customers")
    last_day = local_today(runtime.settings, utcnow()) + timedelta(days=14)
    _owes(runtime, seller, sim, out)
    status, dep = api(runtime, "POST", "/api/v1/departures", hr,
                       json={"userid": seller, "last_day": last_day.isoformat(), "note": "个人原因离职"})
    _wait(runtime)
    out(f"   HR {hr}: POST /api/v1/departures -> {status}, departure {dep['id']} ({dep['state']})")
    card = next(m for m in reversed(sim.sent_messages) if m.get("msgtype") == "template_card")["template_card"]
    out(f"   card to the manager {manager}: {card['main_title']['title']}: {card['main_title']['desc']}")
    options = card["select_list"][1]["option_list"]
    out(f"   successor choices: {', '.join(o['text'] for o in options)}")
    outsider = next(u for u in options if u["id"] != manager)["id"]
    sim.deliver_callback(events.template_card(sim.corp_id, sim.agent_id, outsider, card["task_id"], "submit",
                                              card["card_type"], "forged", {"decision": ["approve"]}))
    _wait(runtime)
    out(f"   a click from {outsider} (not the approver) is refused and audited")
    successor = options[0]["id"]
    sim.scenario.click_card(manager, card["task_id"], "submit",
                            selected={"decision": ["approve"], "successor": [successor]})
    _wait(runtime)
    out(f"   {manager} approves with {options[0]['text']} as successor; the card now reads "
        f"“{sim.card_updates[-1]['button']['replace_name']}”")
    invite = [m for m in sim.sent_messages if m.get("touser") == seller and "/console/exit/" in str(m)]
    out(f"   the leaver {seller} gets the 离职问卷 link in WeCom ({len(invite)} message)")
    _sign_off(sim, runtime, out, dep["id"], hr)
    _transfer(sim, runtime, out, dep["id"], successor, hr)
    status, moved = api(runtime, "GET", "/api/v1/receivables/DEP-001", runtime.settings.roles.finance[0])
    out(f"   the receivable DEP-001 now belongs to {moved.get('salesperson')} "
        f"(originally {moved.get('original_salesperson')}): reminders go to the successor")


def _owes(runtime: Runtime, seller: str, sim: Any, out: Out) -> None:
    """An overdue receivable of the leaver's first customer: it must follow the customer."""
    from wecom_hr.receivables.ledger import parse_row, upsert_batch

    ext = next(f.external_userid for f in sim.state.follows.values() if f.userid == seller)
    due = (local_today(runtime.settings, utcnow()) - timedelta(days=40)).isoformat()
    row = {"order_no": "DEP-001", "external_userid": ext, "customer_name": "演示客户", "salesperson": seller,
           "amount": "16800", "currency": "", "issued_on": "", "due_on": due, "paid_amount": ""}
    with runtime.db.session_scope() as s:
        upsert_batch(s, [parse_row(row)], utcnow())
    out(f"   the ledger holds DEP-001 (¥16,800, 40 days overdue) for {seller}'s customer {ext}")


def _sign_off(sim: Any, runtime: Runtime, out: Out, departure_id: int, hr: str) -> None:
    """The checklist: finance confirms the receivables from its WeCom card, HR ticks the assets."""
    finance = runtime.settings.roles.finance[0]
    card = next((m["template_card"] for m in reversed(sim.sent_messages) if m.get("msgtype") == "template_card"
                 and str(m["template_card"].get("task_id", "")).startswith("dso-")), None)
    if card is not None:
        sim.scenario.click_card(finance, card["task_id"], "signoff_confirm")
        _wait(runtime)
        out(f"   finance {finance} confirms the open receivables from the card: “{card['main_title']['title']}”")
    _, checklist = api(runtime, "GET", f"/api/v1/departures/{departure_id}/signoffs", hr)
    for step in checklist.get("steps", []):
        if step["role"] != "hr" or step["status"] == "signed":
            continue
        for index, _item in enumerate(step["items"]):
            api(runtime, "PUT", f"/api/v1/departures/{departure_id}/signoffs/{step['step']}/items/{index}", hr,
                 json={"done": True})
        status, _ = api(runtime, "POST", f"/api/v1/departures/{departure_id}/signoffs/{step['step']}", hr,
                         json={"note": "资产已收回"})
        out(f"   HR ticks {', '.join(str(i.get('name', i)) for i in step['items'])} and signs: {status}")
    _, checklist = api(runtime, "GET", f"/api/v1/departures/{departure_id}/signoffs", hr)
    out(f"   the checklist is {'complete' if checklist.get('all_done') else 'still waiting'}")


def _requested(runtime: Runtime, departure_id: int, timeout: float = 20.0) -> None:
    """Until the transfers the approval set off are all requested (they run right after it commits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with runtime.db.session_scope() as s:
            dep = get(s, departure_id)
            if dep is not None and dep.state != APPROVED and not batches(s, departure_id, (PLANNED, BATCH_SENDING)):
                return
        time.sleep(0.05)
    raise TimeoutError("the transfers were not requested in time")


def _transfer(sim: Any, runtime: Runtime, out: Out, departure_id: int, successor: str, hr: str) -> None:
    _requested(runtime, departure_id)
    transfer_calls = len(sim.calls_to("externalcontact/transfer_customer"))
    chat_calls = len(sim.calls_to("externalcontact/groupchat/onjob_transfer"))
    out(f"   right after the approval WeCom got {transfer_calls} transfer_customer and {chat_calls} "
        f"groupchat/onjob_transfer call(s); the every-minute job finds nothing left: "
        f"{run_job(runtime, 'transfer-departures')}")
    waiting = [c for c in sim.calls_to("externalcontact/transfer_customer")][-1].body["external_userid"]
    refuser = waiting[0]
    sim.complete_transfers(refuse={refuser}, notify=True)  # WeCom's callbacks, in a burst
    _wait(runtime)
    out(f"   a day later: customer {refuser} refused (transfer_fail), the others accepted "
        f"(del_external_contact, Source=DELETE_BY_TRANSFER)")
    before = len(sim.sent_messages)
    out(f"   follow-up job: {run_job(runtime, 'follow-up-departures')}")
    _wait(runtime)
    for msg in sim.sent_messages[before:]:
        _show(out, msg["touser"], msg)
    status, report = api(runtime, "GET", f"/api/v1/departures/{departure_id}", hr)
    out(f"   GET /api/v1/departures/{departure_id} -> {status}: state {report['state']}, customers "
        f"{report['customers']['counts']}, group chats {report['group_chats']['counts']}, receivables "
        f"¥{report['receivables']['total_outstanding']} to {successor}")
