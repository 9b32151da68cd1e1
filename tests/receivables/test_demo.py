"""The demo scene runs against a seeded simulated company and shows all three escalations."""

from __future__ import annotations

from storage.db import Database
from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from tests.helpers import AGENT_ID, FAST_RETRY, SECRETS, base_config
from wecom_hr.config import settings_from_mapping
from wecom_hr.receivables.demo import play
from wecom_hr.runtime import Runtime
from wecom_hr.simulator import Simulator, seed_company


def test_demo_shows_reminder_escalation_and_collection(db: Database) -> None:
    sim = Simulator(corp_id=TEST_CORP, secrets=dict(SECRETS), agent_id=AGENT_ID, token=TEST_TOKEN,
                    encoding_aes_key=TEST_AES_KEY).start()
    try:
        seed = seed_company(sim)
        raw = base_config(sim.base_url, db.url, roles={"finance": [seed.finance]})
        runtime = Runtime(settings_from_mapping(raw, environ={}), db=db, retry=FAST_RETRY)
        lines: list[str] = []
        play(sim, runtime, lines.append)
    finally:
        sim.stop()
    text = "\n".join(lines)
    assert "finance imported a CSV: 3 receivables" in text
    assert "您名下逾期 ≥30 天的账款" in text
    assert "团队逾期 ≥60 天的账款" in text and "客户财务说在走付款审批" in text
    assert "逾期 ≥90 天，已转催收" in text and "追款函" in text
    touched = {m["touser"] for m in sim.sent_messages}
    assert seed.finance in touched and len(touched) == 3


def test_the_demo_counts_messages_a_competing_sender_delivers(db: Database) -> None:
    """Issue 20 item 7: the demo's own inbox worker may send the queued digest while run_job returns;
    the demo must wait for the delivery before it says how many messages WeCom received."""
    import re
    import threading

    from wecom_hr.outbox import deliver

    sim = Simulator(corp_id=TEST_CORP, secrets=dict(SECRETS), agent_id=AGENT_ID, token=TEST_TOKEN,
                    encoding_aes_key=TEST_AES_KEY, latency=0.05).start()  # WeCom answers slowly
    stop = threading.Event()
    try:
        seed = seed_company(sim)
        raw = base_config(sim.base_url, db.url, roles={"finance": [seed.finance]})
        runtime = Runtime(settings_from_mapping(raw, environ={}), db=db, retry=FAST_RETRY)

        def competing_worker() -> None:  # as the embedded inbox worker of `wecom-hr demo` does
            while not stop.is_set():
                deliver(runtime)

        worker = threading.Thread(target=competing_worker, daemon=True)
        worker.start()
        lines: list[str] = []
        play(sim, runtime, lines.append)
    finally:
        stop.set()
        sim.stop()
    counts = [int(n) for n in re.findall(r"WeCom received (\d+) message", "\n".join(lines))]
    assert counts and all(n >= 1 for n in counts), counts
