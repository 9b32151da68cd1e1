"""Archive ingest and search figures on SQLite and PostgreSQL.

    python -m bench.archive_search --messages 1000000 --backend both
    python -m bench.archive_search --backend sqlite --reuse      # search figures on an existing archive
    python -m bench.archive_search --backend postgresql --plain --purge-month --convert \
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/archive_bench_plain   # before partitioning

On PostgreSQL the archive is partitioned by month (migration 0021); ``--plain`` stops the schema
just before it, for figures of the unpartitioned tables. ``--purge-month`` times a retention purge
of the oldest whole month on a copy of the archive (whole-month drop when partitioned, row deletes
otherwise), and ``--convert`` times migration 0021 converting a copy of a ``--plain`` archive.

Ingest goes through the real store: parse the decrypted JSON, append to the hash chain, the docs
and the bigram postings, 1,000 messages per transaction (as the puller does). Search runs each
query ``--repeat`` times (newest 50 plus the total count) and compares every answer with a full
scan of the docs table using the same substring tests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

from sqlalchemy import text

from bench.chat_generator import ChatGenerator
from storage import db as dbmod
from storage.archive_query import parse
from storage.archive_search import Filters, full_scan, search
from storage.archive_store import append_messages
from wecom_hr.archive.messages import parse_message

# (label, query): common words are ≥1% of messages, rare ≤0.1%, "absent" matches nothing.
QUERIES: list[tuple[str, str]] = [
    ("1ch common", "的"), ("1ch common", "价"), ("1ch common", "好"),
    ("1ch rare", "烘"), ("1ch rare", "拍"), ("1ch rare", "罗"), ("1ch absent", "砖"),
    ("2ch common", "好的"), ("2ch common", "发票"), ("2ch common", "安装"), ("2ch common", "返点"),
    ("2ch rare", "私下"), ("2ch rare", "拼多"), ("2ch absent", "顺丰"),
    ("3ch common", "报价单"), ("3ch common", "洗衣机"), ("3ch common", "多少钱"),
    ("3ch rare", "拼多多"), ("3ch rare", "加我私"), ("3ch absent", "顺丰快"),
    ("4ch common", "安装师傅"), ("4ch common", "增值税专"), ("4ch rare", "私人微信"),
    ("4ch rare", "私下交易"), ("4ch absent", "顺丰快递"),
    ("ascii fold", "PDD"), ("AND", "空调 发货"), ("OR", "返点 OR 拼多多"), ("NOT", "价格 -公司"),
    ("phrase", '"个人账户"'),
]
FILTERED: list[tuple[str, str, Filters]] = [
    ("sender filter", "好的", Filters(sender="lina001")),
    ("customer filter", "发票", Filters(customer="wmAb000001x")),
    ("time window", "报价单", Filters(time_from=1_700_000_000_000, time_to=1_700_600_000_000)),
]


def ingest(database: dbmod.Database, n: int, batch: int, seed: int = 1, first: int = 0) -> float:
    """Append ``n`` generated messages (msgids from ``first`` on); prints wall and CPU rates."""
    gen = ChatGenerator(seed=seed, start_ms=1_700_000_000_000 + first * 20_000)
    gen.count = first
    spent = cpu = 0.0
    done = 0
    while done < n:
        size = min(batch, n - done)
        raws = [json.dumps(m, ensure_ascii=False) for m in gen.messages(size)]
        start, start_cpu = time.perf_counter(), time.process_time()
        rows = [parse_message(raw, first + done + i + 1) for i, raw in enumerate(raws)]
        with database.session_scope() as s:
            append_messages(s, rows)
        spent += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        done += size
        if done % 100_000 == 0 or done == n:
            print(f"  ingested {done:,} ({done / spent:,.0f} msg/s wall, {done / cpu:,.0f} per CPU-second "
                  f"of this process)", flush=True)
    return n / spent


def pipeline(url: str, n: int) -> None:
    """The whole decrypt path on a fresh archive: envelopes (RSA-sealed random key per message) ->
    pull -> RSA-open -> stand-in DecryptData -> parse -> append -> default watch-lists."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from storage.db import utcnow
    from wecom_hr.archive.keys import KeyRing
    from wecom_hr.archive.pull import decrypt_pending, pull_envelopes
    from wecom_hr.archive.settings import ArchiveSettings
    from wecom_hr.archive.source import MemorySource
    from wecom_hr.archive.watch import load_rules, match_and_alert

    database = dbmod.Database(url)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    source = MemorySource()
    for m in ChatGenerator(seed=2, start_ms=1_800_000_000_000).messages(n):
        m["msgid"] = "p" + m["msgid"]
        source.add(m, 1, key.public_key())

    def watch(session: Any, messages: Any) -> int:
        rules = load_rules(session, ArchiveSettings())
        return match_and_alert(session, rules, messages, ["compliance"], lambda m: m, utcnow())

    start = time.perf_counter()
    pull_envelopes(database, source)
    pulled = time.perf_counter() - start
    report = decrypt_pending(database, source, KeyRing.of_keys({1: key}), on_appended=watch)
    spent = time.perf_counter() - start
    print(f"pipeline: {n:,} messages pulled in {pulled:.1f}s; pull + RSA + decrypt + append + watch-lists "
          f"{n / spent:,.0f} msg/s ({report.hits} watch-list hits)")
    database.dispose()


def sizes(database: dbmod.Database) -> dict[str, float]:
    """MB per archive relation (table + its indexes, every partition)."""
    with database.engine.connect() as conn:
        if database.engine.dialect.name == "postgresql":
            rows = conn.execute(text("SELECT t, coalesce((SELECT sum(pg_total_relation_size(relid)) FROM "
                                     "pg_partition_tree(t)), pg_total_relation_size(t)) "
                                     "FROM unnest(CAST(ARRAY['archive_postings','archive_docs','archive_messages'] "
                                     "AS regclass[])) AS t"))
            return {str(r[0]): float(r[1]) / 2**20 for r in rows}
        rows = conn.execute(text("SELECT m.tbl_name, sum(s.pgsize) FROM dbstat s JOIN sqlite_master m ON s.name = "
                                 "m.name WHERE m.tbl_name LIKE 'archive_%' GROUP BY m.tbl_name"))
        return {r[0]: r[1] / 2**20 for r in rows if r[0] in ("archive_postings", "archive_docs", "archive_messages")}


def measure(database: dbmod.Database, query: str, filters: Filters, repeat: int) -> dict[str, Any]:
    parsed = parse(query)
    times = []
    with database.session_scope() as s:
        for _ in range(repeat):
            start = time.perf_counter()
            result = search(s, parsed, filters, limit=50)
            times.append((time.perf_counter() - start) * 1000)
        reference = full_scan(s, parsed, filters)
    times.sort()
    return {"total": result.total, "plan": result.plan, "p50": statistics.median(times),
            "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
            "exact": result.ids == reference[:50] and result.total == len(reference)}


def ensure_pg_database(url: str) -> None:
    """Create the bench database (UTF-8, so strpos counts characters) unless it exists."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).first():
            conn.execute(text(f'CREATE DATABASE "{target.database}" TEMPLATE template0 ENCODING UTF8 '
                              "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"))
    admin.dispose()


def append_more(url: str, n: int, batch: int) -> None:
    """Steady state: the rate of appending to an archive that already holds messages."""
    database = dbmod.Database(url)
    with database.engine.connect() as conn:
        have = int(conn.execute(text("SELECT count(*) FROM archive_docs")).scalar_one())
    print(f"== append {n:,} to {database.engine.dialect.name} holding {have:,}")
    rate = ingest(database, n, batch, seed=have + 7, first=10**9 + have)
    print(f"append: {rate:,.0f} msg/s")
    database.dispose()


def purge_month(url: str) -> None:
    """On a copy: purge what precedes the first whole month (untimed), then that month, timed."""
    from datetime import UTC, datetime

    from bench.archive_retention import copy_pg, copy_sqlite, drop_pg
    from storage import archive_retention
    from storage.archive_chain import verify
    from storage.archive_partitions import Month, month_of
    from storage.archive_retention import purge

    pg = url.startswith("postgresql")
    copy = copy_pg(url, "wecom_hr_archive_month_bench") if pg else copy_sqlite(url[len("sqlite:///"):],
                                                                                "/tmp/wecom_hr_archive_month.db")
    database = dbmod.Database(copy)
    with database.engine.connect() as conn:
        first = month_of(int(conn.execute(text("SELECT min(msgtime) FROM archive_messages")).scalar_one()))
    assert first is not None
    whole = Month(first.year + first.month // 12, first.month % 12 + 1)
    now = datetime.now(UTC)
    purge(database, whole.lo, (), b"", actor="bench", reason="bench setup", now=now)
    start = time.perf_counter()
    with database.session_scope() as s:
        checked = verify(s).checked
    verified = time.perf_counter() - start
    inside: list[float] = []

    def timed_verify(*args: Any, **kwargs: Any) -> Any:  # the purge's own verify, timed apart
        begin = time.perf_counter()
        try:
            return verify(*args, **kwargs)
        finally:
            inside.append(time.perf_counter() - begin)

    archive_retention.verify = timed_verify  # type: ignore[assignment]
    start = time.perf_counter()
    report = archive_retention.purge(database, whole.hi, (), b"", actor="bench", reason="bench", now=now)
    spent = time.perf_counter() - start
    archive_retention.verify = verify
    print(f"purge of {whole.suffix[1:]}: {report.deleted:,} messages in {spent:.1f}s, of which the chain verify "
          f"of all {checked:,} rows {sum(inside):.1f}s (alone: {verified:.1f}s), the rest "
          f"{spent - sum(inside):.1f}s; "
          f"whole months dropped: {report.months or 'none'}", flush=True)
    database.dispose()
    if pg:
        drop_pg(copy)
    else:
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists("/tmp/wecom_hr_archive_month.db" + suffix):
                os.unlink("/tmp/wecom_hr_archive_month.db" + suffix)


def convert(url: str) -> None:
    """Migration 0021 on a copy of an unpartitioned PostgreSQL archive."""
    from bench.archive_retention import copy_pg, drop_pg

    copy = copy_pg(url, "wecom_hr_archive_convert_bench")
    start = time.perf_counter()
    dbmod.upgrade(copy)
    print(f"migration 0021 converted the archive to monthly partitions in {time.perf_counter() - start:.1f}s")
    drop_pg(copy)


def run_backend(url: str, n: int, reuse: bool, repeat: int, batch: int, plain: bool = False) -> None:
    if url.startswith("postgresql"):
        ensure_pg_database(url)
    dbmod.upgrade(url, "0010" if plain else "heads")  # 0010: the archive as it was before partitioning
    database = dbmod.Database(url)
    with database.engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM archive_docs")).scalar_one()
    backend = database.engine.dialect.name
    print(f"== {backend}: {url.split('@')[-1]}")
    if not (reuse and have >= n):
        if have:
            raise SystemExit(f"{url} already holds {have} archived messages; use a fresh database or --reuse")
        rate = ingest(database, n, batch)
        print(f"ingest: {n:,} messages at {rate:,.0f} msg/s (parse + hash chain + docs + bigram postings)")
    start = time.perf_counter()
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if backend == "postgresql" else "ANALYZE"))
    print(f"{'VACUUM ANALYZE' if backend == 'postgresql' else 'ANALYZE'}: {time.perf_counter() - start:.1f}s")
    size = sizes(database)
    print("size MB: " + ", ".join(f"{k} {v:,.0f}" for k, v in sorted(size.items())) +
          f"; {sum(size.values()) * 2**20 / max(1, have or n):,.0f} bytes per message with indexes")
    print(f"{'kind':16} {'query':14} {'total':>8} {'plan':10} {'p50 ms':>8} {'p95 ms':>8}  equals scan")
    cases = [(label, q, Filters()) for label, q in QUERIES] + FILTERED
    for label, query, filters in cases:
        m = measure(database, query, filters, repeat)
        print(f"{label:16} {query:14} {m['total']:>8,} {m['plan']:10} {m['p50']:>8.1f} {m['p95']:>8.1f}  "
              f"{'yes' if m['exact'] else 'NO'}", flush=True)
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sqlite-path", default="/tmp/wecom_hr_archive_bench.db")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/wecom_hr_archive_bench")
    parser.add_argument("--reuse", action="store_true", help="keep an archive that already has --messages")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--append", type=int, default=0, metavar="N",
                        help="only append N more messages to the existing archive and print the rate")
    parser.add_argument("--pipeline", type=int, default=0, metavar="N",
                        help="also time the whole decrypt path for N more messages (RSA per message)")
    parser.add_argument("--plain", action="store_true", help="PostgreSQL: the archive without partitions")
    parser.add_argument("--purge-month", action="store_true", help="time purging the oldest whole month (a copy)")
    parser.add_argument("--convert", action="store_true", help="time migration 0021 on a copy of a --plain archive")
    args = parser.parse_args()
    urls = ([f"sqlite:///{args.sqlite_path}"] if args.backend in ("sqlite", "both") else [])
    urls += [args.pg_url] if args.backend in ("postgresql", "both") else []
    for url in urls:
        if args.append:
            append_more(url, args.append, args.batch)
            continue
        run_backend(url, args.messages, args.reuse, args.repeat, args.batch, args.plain)
        if args.purge_month:
            purge_month(url)
        if args.convert and url.startswith("postgresql"):
            convert(url)
        if args.pipeline:
            pipeline(url, args.pipeline)


if __name__ == "__main__":
    main()
