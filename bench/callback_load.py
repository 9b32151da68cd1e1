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
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scratch import scratch_postgres
from storage import inbox
from storage.db import Database, upgrade
from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from wecom_hr.crypto import WXBizMsgCrypt

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def make_requests(path: Path, count: int) -> None:
    crypto = WXBizMsgCrypt(TEST_TOKEN, TEST_AES_KEY, TEST_CORP)
    ts = str(int(time.time()))
    with path.open("w") as out:
        for n in range(count):
            xml = (f"<xml><ToUserName><![CDATA[{TEST_CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
                   f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                   "<Event><![CDATA[change_external_contact]]></Event>"
                   "<ChangeType><![CDATA[edit_external_contact]]></ChangeType><UserID><![CDATA[zhangsan]]></UserID>"
                   f"<ExternalUserID><![CDATA[wm{n:020d}]]></ExternalUserID></xml>")
            env = crypto.seal(xml.encode(), ts, uuid.uuid4().hex[:10])
            body = (f"<xml><ToUserName><![CDATA[{TEST_CORP}]]></ToUserName><Encrypt><![CDATA[{env.encrypt}]]>"
                    "</Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>")
            out.write(f"msg_signature={env.msg_signature}&timestamp={ts}&nonce={env.nonce}\t{body}\n")


def write_config(folder: Path, db_url: str) -> Path:
    cfg = folder / f"bench-{uuid.uuid4().hex[:6]}.toml"
    cfg.write_text(f"""
[wecom]
corp_id = "{TEST_CORP}"
agent_id = 1000002
secret = "bench"
token = "{TEST_TOKEN}"
encoding_aes_key = "{TEST_AES_KEY}"
api_base_url = "http://127.0.0.1:9/cgi-bin"
[database]
url = "{db_url}"
[worker]
embedded = false
""")
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


def stored_count(url: str) -> int:
    db = Database(url)
    with db.session_scope() as s:
        n = int(s.scalar(select(func.count()).select_from(inbox.InboxEvent)) or 0)
    db.dispose()
    return n


REFERENCE = ("ceiling", "fsync")  # served by bench/ceiling.py, not stored in the inbox


def measure(mode: str, args: argparse.Namespace, folder: Path, reqfile: Path) -> dict[str, float]:
    drop = None
    if mode == "postgresql":
        url, drop = scratch_postgres(PG_ADMIN, "wecomhr_bench")
    else:
        url = f"sqlite:///{folder / (mode + '.db')}"
    upgrade(url)
    port = 18000 + os.getpid() % 1000
    reference = mode in REFERENCE
    server = start_server(write_config(folder, url), port, args.workers, args.threads, reference, args.worker_class)
    path = f"/bench/{mode}" if reference else "/wecom/callback"
    try:
        run_wrk(port, path, reqfile, 2, args.connections)
        result = run_wrk(port, path, reqfile, args.duration, args.connections)
    finally:
        server.terminate()
        server.wait(20)
    result["stored"] = stored_count(url) if not reference else 0
    if drop:
        drop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)  # as `wecom-hr serve`
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=120_000)
    parser.add_argument("--modes", default="ceiling,fsync,sqlite,postgresql")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    folder = Path(tempfile.mkdtemp(prefix="wecomhr-bench-"))
    reqfile = folder / "requests.tsv"
    make_requests(reqfile, args.requests)
    print(f"{args.workers} gunicorn {args.worker_class} workers x {args.threads} threads, "
          f"{args.connections} connections, {args.duration}s per mode, {os.cpu_count()} cores (wrk shares them)")
    print(f"{'mode':<11} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'stored':>8}  vs ceiling")
    ceiling = None
    for mode in args.modes.split(","):
        r = measure(mode, args, folder, reqfile)
        ceiling = ceiling or (r["rps"] if mode == "ceiling" else None)
        ratio = f"{r['rps'] / ceiling:.2f}x" if ceiling and mode != "ceiling" else ""
        print(f"{mode:<11} {r['rps']:>8.0f} {r['p50']:>8.2f} {r['p99']:>8.2f} {r['errors']:>8} "
              f"{r['stored'] if mode not in REFERENCE else '-':>8}  {ratio}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
