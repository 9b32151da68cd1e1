"""Departure handover at scale: one salesperson with 5,000 customers and 200 group chats, 20 ms per call.

    python bench/departure.py [--customers 5000] [--chats 200] [--latency 0.02]
                              [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench]

The manager's approval arrives as a real callback (template_card_event) and is handled by the
dispatcher; the transfers are requested right after it commits. Prints the WeCom calls made from the
click to the last transfer request, the wall time, and the aims from issue 5:
ceil(customers/100) + ceil(chats/100) transfer calls, no per-customer call, under 10 s.
Then the follow-up (every customer accepted) for scale: transfer_result pages and pool updates.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SECRETS = {"app": "bench-app-secret", "contact": "bench-contact-secret", "archive": "bench-archive-secret"}
CORP = "ww1436e0e65a779aee"
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
TRANSFER_PATHS = ("externalcontact/transfer_customer", "externalcontact/groupchat/onjob_transfer")
PER_CUSTOMER_PATHS = ("externalcontact/get",)


def settings_for(base_url: str, db_url: str, hr: str) -> Any:
    from wecom_hr.config import settings_from_mapping

    return settings_from_mapping({
        "wecom": {"corp_id": CORP, "agent_id": 1000002, "secret": SECRETS["app"], "contact_secret": SECRETS["contact"],
                  "token": TOKEN, "encoding_aes_key": AES_KEY, "api_base_url": base_url},
        "database": {"url": db_url},
        "roles": {"hr": [hr]},
    }, environ={})


def build_corp(sim: Any, customers: int, chats: int) -> tuple[str, str, str, str]:
    """(seller, manager, successor, hr): the seller holds ``customers`` customers and ``chats`` chats."""
    from wecom_hr.simulator import seed_company
    from wecom_hr.simulator.models import ExternalContact, Follow, GroupChat

    seed = seed_company(sim, customers_per_salesperson=0)
    dept = seed.departments[0]
    seller, successor = seed.salespeople[dept][:2]
    state, now = sim.state, sim.state.now()
    with state.lock:
        for i in range(customers):
            ext = f"wmBench{i:06d}"
            state.add_external_contact(ExternalContact(ext, f"客户{i:05d}"))
            state.add_follow(Follow(seller, ext, now - 86400 - i, remark=f"客户{i:05d}"))
        for i in range(chats):
            chat_id = f"wrBench{i:05d}"
            state.group_chats[chat_id] = GroupChat(chat_id, f"服务群{i}", seller, now)
    return seller, seed.managers[dept], successor, seed.hr


def poster(app: Any) -> Any:
    client = app.test_client()

    def post(params: Any, body: bytes) -> int:
        return int(client.post("/wecom/callback", query_string=dict(params), data=body,
                               content_type="application/xml").status_code)
    return post


def calls_since(sim: Any, start: int) -> Counter[str]:
    return Counter(c.path for c in sim.calls[start:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    from handlers import ROUTES
    from storage.db import upgrade, utcnow
    from storage.departures import CUSTOMER, GROUP_CHAT, status_counts
    from wecom_hr.app import create_app
    from wecom_hr.customers.directory_sync import sync_directory
    from wecom_hr.customers.resync import resync_customers
    from wecom_hr.departures.start import StartRequest, start
    from wecom_hr.dispatch import Dispatcher
    from wecom_hr.outbox import deliver
    from wecom_hr.runtime import Runtime
    from wecom_hr.scheduler import run_job
    from wecom_hr.simulator import Simulator

    tmp = tempfile.TemporaryDirectory()
    db_url = args.database_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    upgrade(db_url)
    sim = Simulator(corp_id=CORP, secrets=SECRETS, token=TOKEN, encoding_aes_key=AES_KEY).start()
    seller, manager, successor, hr = build_corp(sim, args.customers, args.chats)
    runtime = Runtime(settings_for(sim.base_url, db_url, hr))
    sim.callback_url = poster(create_app(runtime.settings, runtime))
    dispatcher = Dispatcher(runtime, ROUTES)

    prep = time.perf_counter()
    with runtime.db.session_scope() as s:
        sync_directory(s, runtime.wecom("contact"), utcnow(), runtime)
    resync_customers(runtime)
    sim.latency = args.latency  # the handover itself runs at WeCom-like latency
    started = time.perf_counter()
    with runtime.db.session_scope() as s:
        dep = start(s, runtime, StartRequest(userid=seller, successor=successor, actor=hr), utcnow())
        departure_id, task_id = dep.id, f"dep-{dep.id}-"
    snapshot_s = time.perf_counter() - started
    while deliver(runtime):
        pass
    task_id = next(m["template_card"]["task_id"] for m in sim.sent_messages if m.get("msgtype") == "template_card")
    print(f"setup: {args.customers:,} customers, {args.chats} chats synced in {started - prep:.1f}s; "
          f"snapshot and card in {snapshot_s:.2f}s ({sum(calls_since(sim, 0).values())} calls so far)")

    mark = len(sim.calls)
    t0 = time.perf_counter()
    sim.scenario.click_card(manager, task_id, "approve")   # the callback, stored
    dispatcher.drain()                                     # decided, committed, transfers requested
    wall = time.perf_counter() - t0
    window = calls_since(sim, mark)
    with runtime.db.session_scope() as s:
        customers, chats = status_counts(s, departure_id, CUSTOMER), status_counts(s, departure_id, GROUP_CHAT)
    transfer_calls = sum(window[p] for p in TRANSFER_PATHS)
    aim = math.ceil(args.customers / 100) + math.ceil(args.chats / 100)
    per_customer = sum(window[p] for p in PER_CUSTOMER_PATHS)
    print(f"approval -> all transfers requested: {wall:.2f}s wall, {sum(window.values())} WeCom calls")
    for path, n in sorted(window.items()):
        print(f"   {n:>5}  {path}")
    met = transfer_calls == aim and not per_customer and wall < 10
    print(f"transfer calls {transfer_calls} (aim {aim}), per-customer calls {per_customer} (aim 0), "
          f"wall {wall:.2f}s (aim < 10s) -> {'OK' if met else 'MISSED'}")
    print(f"items: customers {customers}, chats {chats}")

    sim.complete_transfers()
    mark, t1 = len(sim.calls), time.perf_counter()
    result = run_job(runtime, "follow-up-departures")
    print(f"follow-up (all accepted): {time.perf_counter() - t1:.2f}s, {dict(calls_since(sim, mark))}, {result}")
    sim.stop()
    runtime.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
