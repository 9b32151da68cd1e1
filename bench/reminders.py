"""Benchmark: overdue-reminders over 1,000,000 receivables across 500 salespeople (~10% overdue).

    python bench/reminders.py                               # SQLite in a temporary directory
    python bench/reminders.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/reminders.py --rows 100000                 # smaller

Loads the ledger with Core inserts in batches, then runs the job in a fresh child process (so its
peak RSS is the job's own) against the simulator: claim + collection + digests, then delivery.
Prints run time, peak memory, WeCom message/send calls and the recipients that had items.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bench.scratch import scratch_database

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=SH)
BATCH = 10_000
MANAGERS = 10


def config(api_base_url: str, db_url: str, finance: str) -> dict[str, Any]:
    from tests.helpers import base_config

    return base_config(api_base_url, db_url, roles={"finance": [finance]},
                       server={"public_url": "https://hr.example.com"})


def seed_people(sim: Any, db_url: str) -> tuple[list[str], str]:
    """500 salespeople in 10 departments, a leader per department, one finance member; both sides."""
    from storage import directory
    from storage.db import Database
    from wecom_hr.simulator import seed_bulk
    from wecom_hr.simulator.models import Department, User

    seed = seed_bulk(sim, members=500, customers_per_member=1, departments=MANAGERS)
    with sim.state.lock:
        for dept in seed.departments:
            sim.state.add_user(User(f"mgr{dept:02d}", f"经理{dept}", [dept], [1]))
        sim.state.add_department(Department(99, "财务部", 1, 99))
        sim.state.add_user(User("finance01", "财务", [99], [0]))
    db = Database(db_url)
    with db.session_scope() as s:
        directory.upsert_department(s, 1, "公司", None)
        for dept in seed.departments:
            directory.upsert_department(s, dept, f"销售{dept}部", 1)
            directory.upsert_member(s, f"mgr{dept:02d}", name=f"经理{dept}", departments=[dept], leader_in=[1])
            for userid in seed.salespeople[dept]:
                directory.upsert_member(s, userid, name=userid, departments=[dept], leader_in=[0])
        directory.upsert_member(s, "finance01", name="财务", departments=[99], leader_in=[0])
    db.dispose()
    return seed.all_salespeople, "finance01"


def rows(n: int, sellers: list[str], customers: int, rng: random.Random) -> Any:
    today, now = NOW.date(), datetime.now(UTC)
    for i in range(n):
        overdue = rng.random() < 0.10
        due = today - timedelta(days=rng.randint(1, 180)) if overdue else today + timedelta(days=rng.randint(0, 90))
        amount = rng.randint(1_000, 500_000)
        paid = rng.choice((0, 0, 0, amount // 4))
        cust = rng.randrange(customers)
        yield {"order_no": f"SO{i:08d}", "customer_key": f"wm{cust:07d}", "external_userid": f"wm{cust:07d}",
               "customer_name": f"客户{cust}", "salesperson": sellers[i % len(sellers)], "amount": amount,
               "currency": "CNY", "issued_on": due - timedelta(days=30), "due_on": due, "paid_amount": paid,
               "status": "partial" if paid else "open", "created_at": now, "updated_at": now, "paid_at": None}


def load(db_url: str, n: int, sellers: list[str], customers: int) -> float:
    from storage.receivables import Receivable

    engine = create_engine(db_url)
    started, batch = time.perf_counter(), []
    with engine.begin() as conn:
        for row in rows(n, sellers, customers, random.Random(6)):
            batch.append(row)
            if len(batch) == BATCH:
                conn.execute(Receivable.__table__.insert(), batch)
                batch = []
        if batch:
            conn.execute(Receivable.__table__.insert(), batch)
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def child(raw: dict[str, Any], results: Any) -> None:
    """The job in its own process: what `wecom-hr jobs run overdue-reminders` would cost."""
    from wecom_hr.config import settings_from_mapping
    from wecom_hr.outbox import deliver
    from wecom_hr.receivables import reminders
    from wecom_hr.runtime import Runtime

    runtime = Runtime(settings_from_mapping(raw, environ={}))
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    first = reminders.run(runtime.db, runtime.settings, NOW)
    job = time.perf_counter() - started
    started = time.perf_counter()
    while deliver(runtime, limit=200):
        pass
    delivery = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    second = reminders.run(runtime.db, runtime.settings, NOW + timedelta(hours=1))
    rerun = time.perf_counter() - started
    runtime.close()
    results.put(dict(first=first, job=job, delivery=delivery, rerun=rerun, second=second,
                     base_rss_mb=base_rss / 1024, peak_rss_mb=peak / 1024))


def expected_recipients(db_url: str, finance: str) -> int:
    """Owners with items ≥30 days, managers of owners with items ≥60, finance when any ≥90."""
    from storage import directory
    from storage.db import Database
    from storage.receivables import UNPAID, Receivable

    db = Database(db_url)
    with db.session_scope() as s:
        def owners(days: int) -> set[str]:
            cut = NOW.date() - timedelta(days=days)
            return set(s.scalars(select(Receivable.salesperson).where(Receivable.status.in_(UNPAID),
                                                                      Receivable.due_on <= cut).distinct()))
        managers = {m for o in owners(60) for m in directory.managers_of(s, o)}
        total = len(owners(30) | managers | ({finance} if owners(90) else set()))
    db.dispose()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--pg", default="", help="PostgreSQL admin URL; a temporary database is created")
    args = parser.parse_args()

    from storage.db import upgrade
    from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
    from tests.helpers import AGENT_ID, SECRETS
    from wecom_hr.simulator import Simulator

    db_url, drop = scratch_database(args.pg, "bench_reminders")
    sim = Simulator(corp_id=TEST_CORP, secrets=dict(SECRETS), agent_id=AGENT_ID, token=TEST_TOKEN,
                    encoding_aes_key=TEST_AES_KEY).start()
    try:
        upgrade(db_url)
        sellers, finance = seed_people(sim, db_url)
        loaded = load(db_url, args.rows, sellers, args.customers)
        results: Any = mp.get_context("spawn").Queue()
        proc = mp.get_context("spawn").Process(target=child, args=(config(sim.base_url, db_url, finance), results))
        proc.start()
        out = results.get(timeout=900)
        proc.join()
        report(args, db_url, loaded, out, len(sim.calls_to("message/send")), expected_recipients(db_url, finance),
               sim.dropped_messages)
    finally:
        sim.stop()
        drop()


def report(args: Any, db_url: str, loaded: float, out: dict[str, Any], calls: int, expected: int,
           dropped: int) -> None:
    first = out["first"]
    backend = make_url(db_url).get_backend_name()
    print(f"overdue-reminders bench on {backend}: {args.rows:,} receivables, 500 salespeople, "
          f"{MANAGERS} managers, {args.customers:,} customers")
    print(f"  bulk load (Core, {BATCH:,}/batch):  {loaded:8.1f} s")
    print(f"  job run (claim+collect+digests): {out['job']:8.2f} s   claimed {first['claimed']:,} reminders, "
          f"{first['collection_items']:,} collection items, {first['letters']:,} letters")
    print(f"  delivery to the simulator:       {out['delivery']:8.2f} s")
    print(f"  peak RSS of the job process:     {out['peak_rss_mb']:8.1f} MB (after imports: "
          f"{out['base_rss_mb']:.1f} MB)")
    print(f"  WeCom message/send calls:        {calls:8,d}   recipients with items: {expected:,}; "
          f"digests queued: {first['messages']:,}; dropped by WeCom's 30/min: {dropped}")
    print(f"  second run the same day:         {out['rerun']:8.2f} s   new messages: {out['second']['messages']}")
    if calls != expected:
        print("  MISMATCH: calls should equal recipients with items", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
