"""Soak: callbacks at a steady rate through gunicorn + separate `wecom-hr worker` processes on
PostgreSQL + Redis, with a PostgreSQL crash/restart and a worker SIGKILL in the middle.

    python bench/soak.py [--seconds 60] [--rate 300] [--gunicorn-workers 4] [--workers 2]

Prints: acknowledged, handled, lost (acknowledged but never handled: must be 0), handled twice
(an event whose WeCom notice reached WeCom more than once: must be 0), events claimed more than
once (retried after the crash or the kill: allowed), and p50/p99 acknowledgement latency outside
the outage. PostgreSQL is a private cluster (initdb on its own port), so the machine's own
database is never touched; Redis is the local one under a unique key prefix.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from storage import inbox  # noqa: E402
from storage.db import Database, upgrade  # noqa: E402
from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN  # noqa: E402
from tests.helpers import SECRETS, free_port  # noqa: E402
from tests.pgcluster import PrivateCluster  # noqa: E402
from wecom_hr.simulator import CallbackSender, Simulator, seed_bulk  # noqa: E402
from wecom_hr.simulator.events import external_contact  # noqa: E402


def config(path: Path, sim: Simulator, db_url: str, redis_url: str) -> Path:
    path.write_text(f"""
[wecom]
corp_id = "{TEST_CORP}"
agent_id = {sim.agent_id}
secret = "{SECRETS['app']}"
contact_secret = "{SECRETS['contact']}"
token = "{TEST_TOKEN}"
encoding_aes_key = "{TEST_AES_KEY}"
api_base_url = "{sim.base_url}"
[database]
url = "{db_url}"
[redis]
url = "{redis_url}"
prefix = "wecom-hr-soak-{uuid.uuid4().hex[:6]}:"
[worker]
embedded = false
scheduler = false
poll_seconds = 0.2
lease_seconds = 8.0
backoff_seconds = 0.5
[customers]
deletion_alerts = "immediate"
""")
    return path


def spawn(args: list[str], cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "wecom_hr", "--config", str(cfg), *args], cwd=ROOT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


class Load:
    """WeCom's side: one distinct event per tick, retried like WeCom (3 attempts in all).

    Runs in its own process (``run_in_child``), so the simulator's GIL is not the load's."""

    def __init__(self, url: str, events: list[str]) -> None:
        self.url, self.events = url, events
        self.sender = CallbackSender(TEST_TOKEN, TEST_AES_KEY, TEST_CORP)
        self.acked: list[str] = []
        self.latencies: list[tuple[float, float]] = []  # (sent at, seconds)
        self.refused: Counter[int] = Counter()
        self.lock = threading.Lock()
        self.session = requests.Session()
        self.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))

    def send(self, xml: str) -> None:
        for attempt in range(3):
            params, body = self.sender.envelope(xml)
            started = time.monotonic()
            try:
                status = self.session.post(self.url, params=params, data=body, timeout=5).status_code
            except requests.RequestException:
                status = 0
            elapsed = time.monotonic() - started
            with self.lock:
                if status == 200:
                    self.acked.append(xml)
                    self.latencies.append((time.time() - elapsed, elapsed))
                    return
                self.refused[status] += 1
            time.sleep(1.0 + attempt)

    def run(self, rate: float, seconds: float) -> None:
        with ThreadPoolExecutor(max_workers=64) as pool:
            start = time.monotonic()
            for n, xml in enumerate(self.events):
                due = start + n / rate
                if due - start > seconds:
                    break
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(self.send, xml)


def _load_child(url: str, events: list[str], rate: float, seconds: float, out: Any) -> None:
    load = Load(url, events)
    load.run(rate, seconds)
    out.send((load.acked, load.latencies, dict(load.refused)))
    out.close()


def run_in_child(url: str, events: list[str], rate: float,
                 seconds: float) -> tuple[list[str], list[tuple[float, float]], dict[int, int]]:
    ctx = multiprocessing.get_context("fork")
    ours, theirs = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_load_child, args=(url, events, rate, seconds, theirs))
    child.start()
    result = ours.recv()
    child.join()
    return result  # type: ignore[no-any-return]


def make_events(sim: Simulator, count: int) -> list[str]:
    """Distinct add_external_contact and del_follow_user events for relations the simulator holds."""
    pairs = [(f.userid, f.external_userid) for f in list(sim.state.follows.values())[:count]]
    out = []
    for n, (userid, ext) in enumerate(pairs):  # every (member, customer) once: events are distinct
        change = "del_follow_user" if n % 4 == 3 else "edit_external_contact"
        out.append(external_contact(TEST_CORP, change, userid, ext))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="wecomhr-soak-"))
    log = folder / "processes.log"
    cluster = PrivateCluster(free_port())
    cluster.start()
    upgrade(cluster.url)
    sim = Simulator(corp_id=TEST_CORP, secrets=dict(SECRETS), token=TEST_TOKEN, encoding_aes_key=TEST_AES_KEY).start()
    seed_bulk(sim, members=100, customers_per_member=int(args.seconds * args.rate / 100) + 10)
    cfg = config(folder / "config.toml", sim, cluster.url, args.redis)
    port = free_port()
    server = spawn(["serve", "--port", str(port), "--workers", str(args.gunicorn_workers)], cfg, log)
    workers = [spawn(["worker"], cfg, log) for _ in range(args.workers)]
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.1)
    events = make_events(sim, int(args.seconds * args.rate) + 100)
    outage: list[tuple[float, float]] = []

    def chaos() -> None:
        time.sleep(args.seconds / 3)
        began = time.time()
        cluster.restart_after(3.0)
        outage.append((began, time.time() + 2.0))
        time.sleep(args.seconds / 3)
        victim = workers[0]
        os.kill(victim.pid, signal.SIGKILL)  # mid-handler, most likely: the workers are busy
        workers[0] = spawn(["worker"], cfg, log)

    threading.Thread(target=chaos, daemon=True).start()
    started = time.monotonic()
    acked, latencies, refused = run_in_child(url + "/wecom/callback", events, args.rate, args.seconds)
    sent_for = time.monotonic() - started
    report(acked, latencies, refused, cluster.url, sim, outage, sent_for, args)
    for proc in [server, *workers]:
        proc.terminate()
    for proc in [server, *workers]:
        proc.wait(30)
    sim.stop()
    cluster.destroy()


def wait_handled(db: Database, acked: int, timeout: float = 180.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with db.session_scope() as s:
            open_events = s.scalar(select(func.count()).where(inbox.InboxEvent.status.in_([inbox.PENDING,
                                                                                            inbox.PROCESSING])))
        if not open_events:
            return
        time.sleep(0.5)


def report(acked: list[str], latencies: list[tuple[float, float]], refused: dict[int, int], db_url: str,
           sim: Simulator, outage: list[tuple[float, float]], sent_for: float, args: argparse.Namespace) -> None:
    db = Database(db_url)
    wait_handled(db, len(acked))
    with db.session_scope() as s:
        rows = {r.xml: (r.status, r.attempts) for r in s.scalars(select(inbox.InboxEvent))}
    time.sleep(3)  # let the last outbox deliveries land in the simulator
    lost = [xml for xml in acked if rows.get(xml, ("missing", 0))[0] not in ("done", "ignored")]
    handled = sum(1 for status, _ in rows.values() if status == "done")
    retried = sum(1 for _, attempts in rows.values() if attempts > 1)
    notices = Counter(str(sorted(m.items())) for m in sim.sent_messages)
    twice = sum(1 for n in notices.values() if n > 1)
    steady = [lat for at, lat in latencies if not any(a - 1 <= at <= b for a, b in outage)]
    q = statistics.quantiles(steady, n=100) if len(steady) > 100 else [0.0] * 99
    print(f"{args.seconds:.0f}s at {args.rate:.0f}/s: gunicorn x{args.gunicorn_workers}, {args.workers} workers, "
          f"PostgreSQL crash+restart at {args.seconds / 3:.0f}s, worker SIGKILL at {2 * args.seconds / 3:.0f}s")
    sent = int(args.seconds * args.rate) + 1
    print(f"sent                 {sent}  (distinct events; an event is given up after 3 refused attempts)")
    print(f"acknowledged         {len(acked)}  (sent for {sent_for:.1f}s; refused answers {refused})")
    print(f"handled              {handled}")
    print(f"lost                 {len(lost)}")
    print(f"handled twice        {twice}  (WeCom notices received more than once; {len(sim.sent_messages)} in all)")
    print(f"claimed more than once {retried}  (re-run after the crash or the kill, without duplicate effects)")
    print(f"ack latency outside the outage: p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms")
    if outage:
        start, end = outage[0]
        for label, part in (("before the outage", [lat for at, lat in latencies if at < start - 1]),
                            ("after recovery   ", [lat for at, lat in latencies if at > end])):
            if len(part) > 100:
                pq = statistics.quantiles(part, n=100)
                print(f"  {label}: p50 {pq[49] * 1000:.1f} ms, p99 {pq[98] * 1000:.1f} ms ({len(part)} events)")
    db.dispose()


if __name__ == "__main__":
    main()
