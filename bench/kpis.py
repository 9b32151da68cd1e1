"""KPI figures: listener overhead on archive ingest, GET /api/v1/kpis p95, `kpi rebuild` time.

    python -m bench.kpis      # scaled down: 200 members, 20,000 customers, 200,000 messages
    python -m bench.kpis --members 1000 --customers 200000 --messages 10000000   # the issue's size
    WECOM_HR_BENCH_DATABASE_URL=postgresql+psycopg://... python -m bench.kpis --backend both

Ingest goes through the real store (append_messages, 1,000 messages per transaction, as the puller
does); both MESSAGES_ARCHIVED listeners (KPI replies, risk detectors) run in the same transaction and
their time is reported against the append's. The chats are mostly ordinary text, with a few prices,
order numbers, images, contact details and messages to another member's customers (off_assignment).
The API is asked for one 100-member department over a quarter through the Flask app.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from storage import db as dbmod
from storage.archive_store import append_messages
from storage.bulk import insert_rows
from storage.customers import Customer
from storage.db import table
from storage.directory import Department, Member, MemberDepartment
from storage.receivables import Receivable
from wecom_hr.archive.messages import parse_message
from wecom_hr.kpi.rebuild import rebuild
from wecom_hr.kpi.replies import apply
from wecom_hr.kpi.settings import from_settings
from wecom_hr.risk import settings as risk_settings
from wecom_hr.risk.detectors import observe

SH = ZoneInfo("Asia/Shanghai")
BATCH = 1000
ADMIN = "bench-admin"
TOKEN = "bench-token-0123456789abcdef0123"


def _settings(db_url: str) -> Any:
    from tests.helpers import base_config
    from wecom_hr.config import settings_from_mapping

    raw = base_config("http://127.0.0.1:9", db_url, roles={"admin": [ADMIN]},
                      api={"tokens": [{"token": TOKEN, "userid": ADMIN}]})
    return settings_from_mapping(raw, environ={})


def seed(db: dbmod.Database, members: int, customers: int, dept_size: int, start: datetime) -> list[list[str]]:
    users = [f"m{i:05d}" for i in range(members)]
    now = start
    owned: list[list[str]] = [[] for _ in users]
    with db.session_scope() as s:
        depts = [(i // dept_size) + 2 for i in range(members)]
        insert_rows(s, table(Department), ("id", "name", "parent_id", "updated_at"),
                    [(d, f"dept{d}", 1, now) for d in sorted(set(depts))] + [(1, "root", None, now)])
        people = [(u, u, 1, d, "", "", {}, now) for u, d in zip(users, depts, strict=True)]
        insert_rows(s, table(Member), ("userid", "name", "status", "main_department", "position", "mobile", "extra",
                                       "updated_at"), people)
        insert_rows(s, table(MemberDepartment), ("userid", "department_id", "is_leader"),
                    [(u, d, i % dept_size == 0) for i, (u, d) in enumerate(zip(users, depts, strict=True))])
        rows, orders = [], []
        for c in range(customers):
            ext, owner = f"wm{c:08d}", c % members
            created = start + timedelta(minutes=(c * 97) % (90 * 1440))
            owned[owner].append(ext)
            rows.append((ext, ext, users[owner], created, created, created, "active"))
            if c % 3 == 0:
                day = (start + timedelta(days=(c * 7) % 90)).date()
                orders.append((f"O{c}", ext, ext, users[owner], Decimal("100.00"), day, day, now, now))
        insert_rows(s, table(Customer), ("external_userid", "name", "first_owner", "created_at", "first_seen_at",
                                         "updated_at", "status"), rows,
                    constants={"type": 1, "corp_name": "", "corp_full_name": "", "position": "", "gender": 0,
                               "avatar": "", "unionid": "", "note": "", "digest": ""})
        insert_rows(s, table(Receivable), ("order_no", "customer_key", "external_userid", "salesperson", "amount",
                                           "issued_on", "due_on", "created_at", "updated_at"), orders,
                    constants={"currency": "CNY", "paid_amount": Decimal(0), "status": "open", "customer_name": ""})
    return owned


TEXTS = ("价格能再低一点吗", "好的，明天发货", "这款还有货吗？", "收到，谢谢") * 100 + (
    "这个 299 元包邮", "订单号 20250114093015 已发货", "3月15日前付款就行", "加我微信 wx_shop2025 私下便宜",
    "我的手机 138 1234 5678", "淘宝搜店铺更便宜")  # about one message in 70 has a number, 1 in 200 a contact detail


def messages(owned: list[list[str]], total: int, start: datetime, rng: random.Random) -> Any:
    span_ms = 90 * 86_400_000
    base = int(start.timestamp() * 1000)
    batch = []
    for n in range(total):
        m = rng.randrange(len(owned))
        if not owned[m]:
            continue
        member, customer = f"m{m:05d}", rng.choice(owned[m][:50])
        if n % 50 == 1:  # a member writing to another member's customer
            customer = rng.choice(owned[(m + 1) % len(owned)][:50] or owned[m][:50])
        sender, to = (customer, member) if n % 2 == 0 else (member, customer)
        body: dict[str, Any] = {"msgtype": "text", "text": {"content": rng.choice(TEXTS)}}
        if n % 100 == 3:
            body = {"msgtype": "image", "image": {"sdkfileid": f"f{n}", "md5sum": "0" * 32, "filesize": 1}}
        raw = {"msgid": f"b{n}", "action": "send", "from": sender, "tolist": [to], "roomid": "",
               "msgtime": base + (n * span_ms) // total, **body}
        batch.append(parse_message(json.dumps(raw, ensure_ascii=False), n + 1))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def run(url: str, args: argparse.Namespace) -> None:
    dbmod.upgrade(url)
    db = dbmod.Database(url)
    settings = _settings(url)
    kpi, risk = from_settings(settings), risk_settings.from_settings(settings)
    start = datetime(2025, 1, 1, tzinfo=SH)
    owned = seed(db, args.members, args.customers, args.department_size, start)
    append_s = kpi_s = risk_s = 0.0
    for batch in messages(owned, args.messages, start, random.Random(7)):
        with db.session_scope() as s:
            t0 = time.perf_counter()
            append_messages(s, batch)
            s.flush()
            t1 = time.perf_counter()
            apply(s, kpi, batch)
            s.flush()
            t2 = time.perf_counter()
            observe(s, settings, risk, batch, datetime.now(SH))
            s.flush()
            kpi_s, risk_s, append_s = kpi_s + t2 - t1, risk_s + time.perf_counter() - t2, append_s + t1 - t0
    listen_s = kpi_s + risk_s
    print(f"  ingest {args.messages:,} messages: append {append_s:.1f}s, listeners {listen_s:.1f}s "
          f"= +{100 * listen_s / append_s:.1f}% (KPI {kpi_s:.1f}s, risk {risk_s:.1f}s; "
          f"{args.messages / (append_s + listen_s):,.0f} msg/s together)")
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:  # what autovacuum does after a bulk load: plans need row counts
            conn.execute(text("ANALYZE"))
            conn.commit()
    from wecom_hr.app import create_app
    from wecom_hr.runtime import Runtime

    app = create_app(settings, Runtime(settings, db=db))
    client = app.test_client()
    query = f"/api/v1/kpis?department=2&from={date(2025, 1, 1)}&to={date(2025, 3, 31)}"
    timings = []
    for i in range(args.repeat + 2):
        t0 = time.perf_counter()
        res = client.get(query, headers={"Authorization": f"Bearer {TOKEN}"})
        if i >= 2:  # two warm-ups
            timings.append(time.perf_counter() - t0)
        assert res.status_code == 200, res.get_data(as_text=True)
    members = len(res.get_json()["members"])
    p95 = statistics.quantiles(timings, n=20)[-1] * 1000 if len(timings) >= 2 else timings[0] * 1000
    print(f"  GET /api/v1/kpis, {members} members over a quarter: median {statistics.median(timings) * 1000:.0f} ms, "
          f"p95 {p95:.0f} ms")
    t0 = time.perf_counter()
    counts = rebuild(db, kpi)
    print(f"  kpi rebuild: {counts['messages']:,} messages, {counts['replies']:,} replies in "
          f"{time.perf_counter() - t0:.1f}s")
    db.dispose()


def _fresh_postgres(url: str) -> str:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    name = f"bench_kpis_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--department-size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    print(f"{args.members:,} members, {args.customers:,} customers, {args.messages:,} messages")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            print("SQLite")
            run(f"sqlite:///{tmp}/bench.db", args)
    pg = os.environ.get("WECOM_HR_BENCH_DATABASE_URL", "")
    if args.backend in ("postgres", "both"):
        if not pg:
            print("PostgreSQL: skipped (set WECOM_HR_BENCH_DATABASE_URL)")
        else:
            print("PostgreSQL")
            run(_fresh_postgres(pg), args)


if __name__ == "__main__":
    main()
