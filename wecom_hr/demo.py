"""`wecom-hr demo`: the whole service against the simulator, on the embedded defaults.

A seeded company (departments, managers, salespeople, customers) talks to a real wecom-hr over
HTTP: WeCom's URL check, callbacks with WeCom's retries, then each capability's own scene.
Every secret is generated for this run; nothing here is a credential.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from werkzeug.serving import make_server

from handlers import ROUTES
from storage import inbox, outbox
from storage.db import upgrade
from wecom_hr.app import create_app
from wecom_hr.config import Settings, settings_from_mapping
from wecom_hr.dispatch import Dispatcher, InboxWorker
from wecom_hr.runtime import Runtime
from wecom_hr.simulator import Simulator, seed_company
from wecom_hr.simulator.seed import SeedResult
from wecom_hr.simulator.smtp_sink import SmtpSink

Out = Callable[[str], None]
CORP_ID = "wwdemo0000000000001"


@dataclass
class Demo:
    sim: Simulator
    runtime: Runtime
    seed: SeedResult
    url: str
    out: Out
    server: Any
    worker: InboxWorker

    def wait_idle(self, timeout: float = 20.0) -> None:
        wait_idle(self.runtime, timeout)

    def stop(self) -> None:
        self.worker.stop()
        self.server.shutdown()
        self.sim.stop()
        sink = getattr(self.sim, "smtp_sink", None)
        if sink is not None:
            sink.stop()
        self.runtime.close()


def wait_idle(runtime: Runtime, timeout: float = 20.0) -> None:
    """Until every stored event is handled and every queued message sent (or failed)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with runtime.db.session_scope() as s:
            events = s.scalar(select(func.count()).where(inbox.InboxEvent.status.in_([inbox.PENDING,
                                                                                       inbox.PROCESSING])))
            messages = outbox.undelivered(s)
        if not events and not messages:
            return
        runtime.wakeup.set()
        time.sleep(0.05)
    raise TimeoutError("the demo's events did not settle in time")


def api(runtime: Runtime, method: str, path: str, userid: str, **kwargs: Any) -> tuple[int, Any]:
    """Call the demo service's HTTP API as ``userid`` (with the member's demo token)."""
    import requests

    token = next(t.token for t in runtime.settings.api_tokens if t.userid == userid)
    res = requests.request(method, runtime.settings.public_url + path, timeout=30,
                           headers={"Authorization": f"Bearer {token}"}, **kwargs)
    return res.status_code, res.json()


def demo_settings(workdir: Path, sim: Simulator, seed: SeedResult, port: int, secret_map: dict[str, str],
                  token: str, aes_key: str) -> Settings:
    users = {"hr": seed.hr, "finance": seed.finance, "manager": next(iter(seed.managers.values())),
             "salesperson": seed.all_salespeople[0], "compliance": seed.hr, "admin": seed.hr}
    api_tokens = [{"token": f"demo-{role}-{secrets.token_hex(12)}", "userid": userid}
                  for role, userid in users.items() if role in ("hr", "finance", "manager", "salesperson")]
    raw = {
        "wecom": {"corp_id": CORP_ID, "agent_id": sim.agent_id, "secret": secret_map["app"],
                  "contact_secret": secret_map["contact"], "archive_secret": secret_map["archive"],
                  "token": token, "encoding_aes_key": aes_key, "api_base_url": sim.base_url},
        "database": {"url": f"sqlite:///{workdir / 'demo.db'}"},
        "server": {"public_url": f"http://127.0.0.1:{port}"},
        "worker": {"poll_seconds": 0.1, "backoff_seconds": 0.2},
        "web": {"oauth_authorize_url": sim.oauth_authorize_url, "sso_login_url": sim.sso_login_url,
                "secret_key": secrets.token_hex(16)},
        "api": {"tokens": api_tokens},
        "roles": {"compliance": [seed.hr], "hr": [seed.hr], "finance": [seed.finance], "admin": []},
        "receivables": {"company_name": seed.company},
    }
    sink = getattr(sim, "smtp_sink", None)
    if sink is not None:  # the dunning letter goes out by email to the local sink
        raw["email"] = {"smtp_host": "127.0.0.1", "smtp_port": sink.port, "security": "none",
                        "from_addr": "finance@ruifeng.example"}
    return settings_from_mapping(raw, environ={})


def start(workdir: Path, port: int, out: Out) -> Demo:
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("demo.db", "demo.db-wal", "demo.db-shm"):  # every run starts from a clean company
        (workdir / name).unlink(missing_ok=True)
    secret_map = {k: secrets.token_urlsafe(24) for k in ("app", "contact", "archive")}
    token = secrets.token_urlsafe(16)
    aes_key = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    sim = Simulator(corp_id=CORP_ID, secrets=secret_map, token=token, encoding_aes_key=aes_key).start()
    sim.smtp_sink = SmtpSink().start()  # type: ignore[attr-defined]  # the customer's mailbox for 追款函
    seed = seed_company(sim)
    settings = demo_settings(workdir, sim, seed, port, secret_map, token, aes_key)
    upgrade(settings.database_url)
    runtime = Runtime(settings)
    app = create_app(settings, runtime)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="demo-http", daemon=True).start()
    sim.callback_url = f"http://127.0.0.1:{port}/wecom/callback"
    worker = InboxWorker(Dispatcher(runtime, ROUTES), poll_seconds=0.1).start()
    return Demo(sim, runtime, seed, f"http://127.0.0.1:{port}", out, server, worker)


def play_callbacks(demo: Demo) -> None:
    out, sim = demo.out, demo.sim
    sender, callback_url = sim.sender, f"{demo.url}/wecom/callback"
    assert sender is not None  # the demo simulator is built with a token and key
    out("\n== 1. WeCom verifies the callback URL")
    res = sender.url_check(callback_url)
    out(f"   GET /wecom/callback -> {res.status_code}, echoed {res.text!r} "
        f"({'matches' if res.text == sender.last_echo else 'DOES NOT match'} what WeCom sent)")
    out("\n== 2. A callback delivered three times (WeCom retries) is stored once")
    someone = demo.seed.all_salespeople[0]
    xml = sim.scenario.update_user(someone, position="高级销售")
    statuses = sender.deliver(callback_url, xml, times=2)
    demo.wait_idle()
    with demo.runtime.db.session_scope() as s:
        copies = s.scalar(select(func.count()).where(inbox.InboxEvent.dedupe_key == inbox.dedupe_key(xml.encode())))
    out(f"   first delivery and two retries answered 200, {statuses}; rows stored for that event: {copies}")
    out("\n== 3. A forged callback is refused")
    params, body = sender.envelope(xml)
    params["msg_signature"] = "0" * 40
    import requests

    forged = requests.post(callback_url, params=params, data=body, timeout=5)
    out(f"   bad signature -> HTTP {forged.status_code}")


def scenes() -> list[tuple[str, Callable[..., object]]]:
    """Each capability's scene, in story order: play(sim, runtime, out)."""
    from wecom_hr.archive import demo as archive
    from wecom_hr.customers import demo as customers
    from wecom_hr.departures import demo as departures
    from wecom_hr.receivables import demo as receivables
    from wecom_hr.risk import demo as risk

    return [
        ("Customer pool: customers arrive, a deletion alert, a churn notice", customers.play),
        ("Chat archive: messages pulled, a watch-list alert, a search", archive.play),
        ("跑单 early warning: off-assignment contacts, a mobile number passed, the KPIs", risk.play),
        ("Overdue receivables: reminder, escalation, collection", receivables.play),
        ("Departure handover: approval card, transfers, a refusal, briefing, report", departures.play),
    ]


def summary(demo: Demo) -> None:
    with demo.runtime.db.session_scope() as s:
        counts = dict(s.execute(select(inbox.InboxEvent.status, func.count()).group_by(inbox.InboxEvent.status)).all())
    out = demo.out
    out("\n== What happened")
    out(f"   callback events by status: {counts}")
    out(f"   WeCom messages the simulator received: {len(demo.sim.sent_messages)}")
    for msg in demo.sim.sent_messages[-5:]:
        out(f"     -> {msg.get('touser')}: {_preview(msg)}")
    out("\n== Where to look")
    out(f"   service:    {demo.url}   (health: {demo.url}/healthz, metrics: {demo.url}/metrics)")
    out(f"   simulator:  {demo.sim.base_url}")
    for tok in demo.runtime.settings.api_tokens:
        out(f"   API as {tok.userid:<12} curl -H 'Authorization: Bearer {tok.token}' {demo.url}/api/v1/...")
    from wecom_hr.web.links import console_logins  # issue 7: the console, signed in through the simulator

    out(f"   console:    {demo.url}/console/   (the simulator plays WeCom's login page: pick the member)")
    for role, userid, link in console_logins(demo.runtime.settings, demo.seed):
        out(f"     {role:<6} {userid:<14} {link}")


def _preview(msg: dict[str, Any]) -> str:
    kind = msg.get("msgtype", "")
    body = msg.get(kind, {})
    text = body.get("content") or body.get("title") or (body.get("main_title") or {}).get("title") or kind
    return str(text).replace("\n", " ")[:90]


def run(workdir: Path, port: int, once: bool, out: Out = print) -> Demo:
    demo = start(workdir, port, out)
    out(f"wecom-hr demo: company {demo.seed.company!r} with {len(demo.seed.all_salespeople)} salespeople, "
        f"{demo.seed.relations} customer relations, simulator at {demo.sim.base_url}")
    play_callbacks(demo)
    for title, play in scenes():
        out(f"\n== {title}")
        play(demo.sim, demo.runtime, out)
        demo.wait_idle()
    summary(demo)
    return demo
