"""Acknowledged callbacks per second and p50/p99 latency through `wecom-hr serve` on loopback.

Modes, in one run: `ceiling` (verify + decrypt + parse, no storage), `fsync` (the ceiling plus one
write + fdatasync of the event to a private file per request: the bare cost of a durable write on
this disk, no database), `sqlite` and `postgresql` (the durable, deduplicated path: stored in the
inbox before the 200). Every request is a distinct event, sealed as WeCom does, so dedupe never
short-cuts. Load comes from wrk (Debian package).

    python bench/callback_load.py [--duration 10] [--connections 32] [--workers 2] [--threads 4]

Workers and threads default to `wecom-hr serve`'s own defaults.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import requests
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_postgres
from storage import inbox
from storage.db import Database, upgrade
from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from wecom_hr.callback import SIGNED
from wecom_hr.crypto import WXBizMsgCrypt
from wecom_hr.simulator.simulator import DEFAULT_SECRETS

MEMBER = "zhangsan"
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def sealed(crypto: WXBizMsgCrypt, n: int, ts: str) -> tuple[str, str]:
    """(query, body) of distinct event ``n`` (customer wm<n>), sealed as WeCom does."""
    xml = (f"<xml><ToUserName><![CDATA[{TEST_CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
           f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
           "<Event><![CDATA[change_external_contact]]></Event>"
           f"<ChangeType><![CDATA[edit_external_contact]]></ChangeType><UserID><![CDATA[{MEMBER}]]></UserID>"
           f"<ExternalUserID><![CDATA[{customer(n)}]]></ExternalUserID></xml>")
    env = crypto.seal(xml.encode(), ts, uuid.uuid4().hex[:10])
    body = (f"<xml><ToUserName><![CDATA[{TEST_CORP}]]></ToUserName><Encrypt><![CDATA[{env.encrypt}]]>"
            "</Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>")
    return f"msg_signature={env.msg_signature}&timestamp={ts}&nonce={env.nonce}", body


def customer(n: int) -> str:
    return f"wm{n:020d}"


def make_requests(path: Path, count: int) -> None:
    crypto = WXBizMsgCrypt(TEST_TOKEN, TEST_AES_KEY, TEST_CORP)
    ts = str(int(time.time()))
    with path.open("w") as out:
        for n in range(count):
            query, body = sealed(crypto, n, ts)
            out.write(f"{query}\t{body}\n")


def _simulator_main(customers: int, pipe: Connection) -> None:
    """Child process: WeCom's qyapi (the simulator) knowing customers wm0 .. wm<customers-1>."""
    from wecom_hr.simulator import Simulator
    from wecom_hr.simulator.models import ExternalContact, Follow

    logging.disable(logging.WARNING)
    sim = Simulator(corp_id=TEST_CORP)
    created = int(time.time()) - 86400
    with sim.state.lock:  # the member is not in the directory: the first run's resync does not pull them all
        for n in range(customers):
            sim.state.add_external_contact(ExternalContact(customer(n), f"客户{n}"))
            sim.state.add_follow(Follow(MEMBER, customer(n), created))
    sim.journal.record = lambda *a, **k: None  # type: ignore[method-assign]  # 100,000s of calls: keep none
    sim.start()
    pipe.send(sim.base_url)
    pipe.recv()  # until the bench says stop
    sim.stop()


@contextmanager
def simulator(customers: int) -> Iterator[str]:
    ours, theirs = multiprocessing.get_context("fork").Pipe()
    proc = multiprocessing.get_context("fork").Process(target=_simulator_main, args=(customers, theirs), daemon=True)
    proc.start()
    try:
        yield ours.recv()
    finally:
        ours.send("stop")
        proc.join(10)


def write_config(folder: Path, db_url: str, api_base_url: str | None = None) -> Path:
    """The bench's settings; with ``api_base_url`` (the simulator) it is `serve`'s shipped default:
    embedded worker and scheduler on. Without it, storage only (``[worker] embedded = false``)."""
    cfg = folder / f"bench-{uuid.uuid4().hex[:6]}.toml"
    worker = "" if api_base_url else "[worker]\nembedded = false\n"
    cfg.write_text(f"""
[wecom]
corp_id = "{TEST_CORP}"
agent_id = 1000002
secret = "{DEFAULT_SECRETS['app']}"
contact_secret = "{DEFAULT_SECRETS['contact']}"
token = "{TEST_TOKEN}"
encoding_aes_key = "{TEST_AES_KEY}"
api_base_url = "{api_base_url or 'http://127.0.0.1:9/cgi-bin'}"
[database]
url = "{db_url}"
{worker}""")
    return cfg


def start_server(cfg: Path, port: int, workers: int, threads: int, reference: bool,
                 worker_class: str = "gthread") -> subprocess.Popen[bytes]:
    env = dict(os.environ, WECOM_HR_CONFIG=str(cfg), PYTHONPATH=str(ROOT))
    if reference:
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", worker_class, "--threads", str(threads),
               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "bench.ceiling:create()"]
    else:
        cmd = [sys.executable, "-m", "wecom_hr", "--config", str(cfg), "serve", "--port", str(port),
               "--workers", str(workers), "--threads", str(threads), "--worker-class", worker_class]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def run_wrk(port: int, path: str, reqfile: Path, duration: int, connections: int, threads: int = 2) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency",
                          "-s", str(ROOT / "bench" / "callback_load.lua"), f"http://127.0.0.1:{port}",
                          "--", str(reqfile), str(threads), path], capture_output=True, text=True, check=True)
    if "WRAPPED" in out.stderr:
        raise SystemExit("ran out of distinct requests; raise --requests")
    total = int(re.search(r"(\d+) requests in", out.stdout).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out.stdout)
    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out.stdout).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out.stdout).group(1)), "total": total,
            "errors": int(non2xx.group(1)) if non2xx else 0, "p50": ms("50"), "p99": ms("99")}


def inbox_counts(url: str) -> dict[str, int]:
    db = Database(url)
    with db.session_scope() as s:
        rows = s.execute(select(inbox.InboxEvent.status, func.count()).group_by(inbox.InboxEvent.status)).all()
    db.dispose()
    counts = {str(status): int(n) for status, n in rows}
    counts["stored"] = sum(counts.values())
    counts["backlog"] = counts.get(inbox.PENDING, 0) + counts.get(inbox.PROCESSING, 0)
    counts["handled"] = counts.get(inbox.DONE, 0) + counts.get(inbox.IGNORED, 0)
    return counts


def wait_drained(url: str, limit: float) -> tuple[dict[str, int], float]:
    """Inbox counts once nothing is pending (or after ``limit`` seconds), and how long that took."""
    started = time.monotonic()
    counts = inbox_counts(url)
    while counts["backlog"] and time.monotonic() - started < limit:
        time.sleep(0.25)
        counts = inbox_counts(url)
    return counts, time.monotonic() - started


REFERENCE = ("ceiling", "fsync")  # served by bench/ceiling.py, not stored in the inbox


def scratch_url(mode: str, folder: Path) -> tuple[str, Callable[[], None] | None]:
    if mode == "postgresql":
        return scratch_postgres(PG_ADMIN, "wecomhr_bench")
    return f"sqlite:///{folder / (mode + '-' + uuid.uuid4().hex[:6] + '.db')}", None


@contextmanager
def served(args: argparse.Namespace, cfg: Path, port: int, reference: bool) -> Iterator[subprocess.Popen[bytes]]:
    server = start_server(cfg, port, args.workers, args.threads, reference, args.worker_class)
    try:
        yield server
    finally:
        server.terminate()
        server.wait(20)


def measure(mode: str, args: argparse.Namespace, folder: Path, reqfile: Path, api: str | None) -> dict[str, float]:
    """``default`` is `serve` as shipped (SQLite, worker and scheduler on, WeCom = the simulator)."""
    url, drop = scratch_url(mode, folder)
    upgrade(url)
    port = 18000 + os.getpid() % 1000
    reference = mode in REFERENCE
    path = f"/bench/{mode}" if reference else "/wecom/callback"
    with served(args, write_config(folder, url, api if mode == "default" else None), port, reference):
        run_wrk(port, path, reqfile, 2, args.connections)
        if mode == "default":  # start the measured run with the warm-up's events handled
            wait_drained(url, 30)
        result = run_wrk(port, path, reqfile, args.duration, args.connections)
        if not reference:
            counts = inbox_counts(url)
            result.update(stored=counts["stored"], backlog=counts["backlog"])
        if mode == "default":
            counts, took = wait_drained(url, 60)
            result.update(drain_s=took, unhandled=counts["backlog"])
    if drop:
        drop()
    return result


@dataclass
class Delivery:
    """One event as WeCom sends it: first try at ``first``, then up to RETRIES more after a failure."""

    query: str
    body: str
    key: str
    first: float = 0.0
    tries: int = 0
    acked: bool = False


RETRIES, TIMEOUT = 3, 5.0


def _deliver(port: int, item: Delivery, conns: threading.local) -> None:
    for attempt in range(1 + RETRIES):
        item.tries = attempt + 1
        if attempt == 0:
            item.first = time.time()
        conn = getattr(conns, "conn", None) or http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        conns.conn = conn
        try:
            conn.request("POST", "/wecom/callback?" + item.query, item.body, {"Content-Type": "text/xml"})
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                item.acked = True
                return
        except (OSError, http.client.HTTPException):
            conn.close()
            conns.conn = None


def offer(port: int, items: list[Delivery], rate: float, senders: int) -> float:
    """Offer every item at ``rate`` per second from ``senders`` threads; the achieved rate."""
    conns = threading.local()
    started = time.monotonic()

    def paced(item: Delivery, n: int) -> None:
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
        _deliver(port, item, conns)

    with ThreadPoolExecutor(senders) as pool:
        for n, item in enumerate(items):
            pool.submit(paced, item, n)
    return len(items) / (time.monotonic() - started)


def burst(args: argparse.Namespace, folder: Path, api: str) -> None:
    """20,000 distinct events at 1,000/s into the shipped default: lost, handled twice, how late."""
    url, _ = scratch_url("burst", folder)
    upgrade(url)
    crypto = WXBizMsgCrypt(TEST_TOKEN, TEST_AES_KEY, TEST_CORP)
    ts = str(int(time.time()))
    items = []
    for n in range(args.burst):
        query, body = sealed(crypto, n, ts)
        xml = crypto.verify_and_decrypt(*(dict(p.split("=", 1) for p in query.split("&"))[k] for k in SIGNED),
                                        re.search(r"CDATA\[([^\]]+)\]\]></Encrypt>", body).group(1))
        items.append(Delivery(query, body, inbox.dedupe_key(xml)))
    port = 18000 + os.getpid() % 1000
    with served(args, write_config(folder, url, api), port, False):
        offered = offer(port, items, args.burst_rate, args.senders)
        wait_drained(url, 90)
    db = Database(url)
    with db.session_scope() as s:
        rows = {key: (status, attempts, handled_at) for key, status, attempts, handled_at in s.execute(
            select(inbox.InboxEvent.dedupe_key, inbox.InboxEvent.status, inbox.InboxEvent.attempts,
                   inbox.InboxEvent.handled_at))}
    db.dispose()
    handled = {inbox.DONE, inbox.IGNORED}
    lost = sum(1 for item in items if rows.get(item.key, ("",))[0] not in handled)
    twice = sum(1 for status, attempts, _ in rows.values() if status in handled and attempts > 1)
    delays = sorted(rows[i.key][2].timestamp() - i.first for i in items if rows.get(i.key, ("",))[0] in handled)
    retried = sum(1 for item in items if item.tries > 1)
    unacked = sum(1 for item in items if not item.acked)
    print(f"burst: {len(items)} events offered at {offered:.0f}/s ({args.senders} senders, {TIMEOUT:.0f} s timeout, "
          f"{RETRIES} retries): lost {lost}, handled twice {twice}, never acknowledged {unacked}, retried {retried}; "
          f"delay first delivery -> handled p50 {delays[len(delays) // 2]:.2f} s, max {delays[-1]:.2f} s"
          if delays else f"burst: nothing handled (lost {lost})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)  # as `wecom-hr serve`
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=120_000)
    parser.add_argument("--modes", default="ceiling,fsync,sqlite,default,postgresql")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--burst", type=int, default=20_000, help="events in the burst (0: no burst)")
    parser.add_argument("--burst-rate", type=float, default=1000.0)
    parser.add_argument("--senders", type=int, default=200, help="concurrent connections of the burst")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="wecomhr-bench-"))
    reqfile = folder / "requests.tsv"
    make_requests(reqfile, args.requests)
    modes = [m for m in args.modes.split(",") if m]
    with simulator(max(args.requests, args.burst)) as api:
        if modes:
            table(modes, args, folder, reqfile, api)
        if args.burst:
            burst(args, folder, api)
    shutil.rmtree(folder, ignore_errors=True)


def table(modes: list[str], args: argparse.Namespace, folder: Path, reqfile: Path, api: str) -> None:
    print(f"{args.workers} gunicorn {args.worker_class} workers x {args.threads} threads, "
          f"{args.connections} connections, {args.duration}s per mode, {os.cpu_count()} cores (wrk shares them)")
    print(f"{'mode':<11} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'stored':>8} {'backlog':>8}"
          "  vs ceiling")
    ceiling = None
    for mode in modes:
        r = measure(mode, args, folder, reqfile, api)
        ceiling = ceiling or (r["rps"] if mode == "ceiling" else None)
        ratio = f"{r['rps'] / ceiling:.2f}x" if ceiling and mode != "ceiling" else ""
        drained = (f"; backlog handled {r['drain_s']:.1f} s after the load, {r['unhandled']:.0f} left"
                   if "drain_s" in r else "")
        print(f"{mode:<11} {r['rps']:>8.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['errors']:>8} "
              f"{r.get('stored', '-'):>8} {r.get('backlog', '-'):>8}  {ratio}{drained}")


if __name__ == "__main__":
    main()
