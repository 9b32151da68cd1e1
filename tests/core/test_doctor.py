"""`wecom-hr doctor` against the simulator: one line per check naming the config key, exit 0 only
when everything passes (issue 14 item 8)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.db import Database
from tests.helpers import AGENT_ID, SECRETS, TEST_AES_KEY, TEST_CORP, TEST_TOKEN, config_toml
from wecom_hr.doctor import infra
from wecom_hr.doctor.result import FAIL, PASS, Probe
from wecom_hr.simulator import Simulator, seed_company


@pytest.fixture
def sim() -> Iterator[Simulator]:
    made = Simulator(corp_id=TEST_CORP, secrets=dict(SECRETS), agent_id=AGENT_ID, token=TEST_TOKEN,
                     encoding_aes_key=TEST_AES_KEY).start()
    seed_company(made, departments=2, salespeople_per_department=2, customers_per_salesperson=1)
    try:
        yield made
    finally:
        made.stop()


def doctor(tmp_path: Path, sim: Simulator, db: Database, extra: str = "https://hr.example.com",
           secrets: dict[str, str] | None = None) -> tuple[int, list[str]]:
    cfg = tmp_path / "config.toml"
    text = config_toml(sim.base_url, db.url, f'\n[server]\npublic_url = "{extra}"\n', secrets)
    cfg.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "wecom_hr", "--config", str(cfg), "doctor"],
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout.strip().splitlines()


def line_for(lines: list[str], key: str) -> str:
    found = [line for line in lines if line.split("] ", 1)[-1].startswith(key + ":")]
    assert found, (key, lines)
    return found[0]


def test_a_good_configuration_passes_every_check(tmp_path: Path, sim: Simulator, db: Database) -> None:
    code, lines = doctor(tmp_path, sim, db)
    assert code == 0, lines
    assert line_for(lines, "wecom.secret").startswith(f"[{PASS}]")
    assert line_for(lines, "wecom.contact_secret").startswith(f"[{PASS}]")
    assert any("名成员" in line and "部门" in line for line in lines)
    assert any("客户联系可用" in line for line in lines)
    assert line_for(lines, "callback.replay_window_seconds").startswith(f"[{PASS}]")  # the simulator's Date
    assert line_for(lines, "archive.sdk_path").startswith("[跳过]")


def test_a_refused_secret_is_named_with_wecoms_errcode(tmp_path: Path, sim: Simulator, db: Database) -> None:
    wrong = dict(SECRETS, contact="not-the-contact-secret")
    code, lines = doctor(tmp_path, sim, db, secrets=wrong)
    assert code == 1
    line = line_for(lines, "wecom.contact_secret")
    assert line.startswith(f"[{FAIL}]") and "40001" in line and "secret 不正确" in line
    assert line_for(lines, "wecom.secret").startswith(f"[{PASS}]")


def test_an_ip_outside_the_trusted_list_is_named(tmp_path: Path, sim: Simulator, db: Database) -> None:
    sim.inject("gettoken", errcode=60020, times=None)
    code, lines = doctor(tmp_path, sim, db)
    assert code == 1 and "企业可信IP" in line_for(lines, "wecom.secret")


def test_plain_http_public_url_fails(tmp_path: Path, sim: Simulator, db: Database) -> None:
    code, lines = doctor(tmp_path, sim, db, extra="http://hr.example.com")
    assert code == 1 and line_for(lines, "server.public_url").startswith(f"[{FAIL}]")


def test_clock_skew_against_wecoms_date_header_fails() -> None:
    class Fake:
        class settings:  # noqa: N801 - just what infra.clock reads
            class callback:  # noqa: N801
                replay_window_seconds = 3600

    probe = Probe([(1_800_000_500.0, 1_800_000_000.0)])
    [check] = list(infra.clock(Fake, probe))  # type: ignore[arg-type]
    assert check.failed and "快 500 秒" in check.message
    [fine] = list(infra.clock(Fake, Probe([(1_800_000_002.0, 1_800_000_000.0)])))  # type: ignore[arg-type]
    assert not fine.failed


def test_members_outside_the_visible_range_are_named(tmp_path: Path, sim: Simulator, db: Database) -> None:
    from storage.db import utcnow
    from tests.helpers import base_config
    from wecom_hr.config import settings_from_mapping
    from wecom_hr.customers.directory_sync import sync_directory
    from wecom_hr.runtime import Runtime

    runtime = Runtime(settings_from_mapping(base_config(sim.base_url, db.url), environ={}), db=db)
    try:
        with db.session_scope() as s:
            sync_directory(s, runtime.wecom("contact"), utcnow())
    finally:
        runtime.close()
    first_sales = 2  # seed_company: 销售一部 is department 2
    sim.scenario.limit_visible_range("contact", departments=[first_sales])
    code, lines = doctor(tmp_path, sim, db)
    line = next(line for line in lines if "名成员" in line and "部门" in line)
    assert "不在应用可见范围内" in line, line
