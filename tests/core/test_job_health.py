"""A failing scheduled job is stored, counted, shown by `jobs status` and, once it lasts, told to the
admins in WeCom — once for the spell, and once when it works again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client import REGISTRY

from storage import job_runs
from storage.db import Database
from tests.helpers import WecomEnv, make_env
from wecom_hr.scheduler import run_job
from wecom_hr.simulator.models import User
from wecom_hr.wecom.errors import WeComError

ADMIN = "admin1"


@pytest.fixture
def env(db: Database) -> Iterator[WecomEnv]:
    made = make_env(db, config={"roles": {"admin": [ADMIN]}})
    with made.sim.state.lock:
        made.sim.state.add_user(User(ADMIN, "管理员", [1]))
    try:
        yield made
    finally:
        made.close()


def failures(job: str) -> float:
    return REGISTRY.get_sample_value("wecomhr_job_failures_total", {"job": job}) or 0.0


def alerts(env: WecomEnv) -> list[str]:
    env.drain()
    return [m["markdown"]["content"] for m in env.sim.sent_messages
            if m.get("msgtype") == "markdown" and m.get("touser") == ADMIN]


def test_a_failing_job_is_stored_counted_alerted_once_and_its_recovery_told(env: WecomEnv) -> None:
    before = failures("sync-directory")
    env.sim.inject("department/list", errcode=60020, times=None)  # the IP is not in 企业可信IP
    for _ in range(4):
        with pytest.raises(WeComError):
            run_job(env.runtime, "sync-directory")
    assert failures("sync-directory") == before + 4
    with env.runtime.db.session_scope() as s:
        row = job_runs.get(s, "sync-directory")
        assert row.failures_in_row == 4 and "60020" in (row.last_error or "") and "Traceback" not in row.last_error
    [alert] = alerts(env)  # after 3 failures in a row, not again at the 4th
    assert "定时任务连续失败" in alert and "sync-directory" in alert
    env.sim.clear_faults()
    run_job(env.runtime, "sync-directory")
    [_, recovered] = alerts(env)
    assert "定时任务已恢复" in recovered
    with env.runtime.db.session_scope() as s:
        assert job_runs.get(s, "sync-directory").failures_in_row == 0


def test_jobs_status_shows_failing_jobs_in_one_line_and_exits_non_zero(env: WecomEnv, tmp_path: Path) -> None:
    from tests.helpers import config_toml
    from wecom_hr.cli import _register, cli

    env.sim.inject("department/list", errcode=60020, times=None)
    with pytest.raises(WeComError):
        run_job(env.runtime, "sync-directory")
    cfg = tmp_path / "config.toml"
    cfg.write_text(config_toml(env.sim.base_url, env.runtime.db.url), encoding="utf-8")
    _register()
    result = CliRunner().invoke(cli, ["--config", str(cfg), "jobs", "status"])
    assert result.exit_code == 1
    [line] = [x for x in result.output.splitlines() if x.startswith("sync-directory")]
    assert "FAILING x1" in line and "60020" in line
    ran = CliRunner().invoke(cli, ["--config", str(cfg), "jobs", "run", "sync-directory"])
    assert ran.exit_code == 1 and "60020" in ran.output and "Traceback" not in ran.output
