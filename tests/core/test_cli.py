"""Operator commands: db upgrade, events list/retry, jobs run, worker --once."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from storage import inbox
from storage.db import Database
from tests.core.test_callback import event_xml, make_client, post, sealed
from tests.core.test_config import GOOD
from wecom_hr.cli import _register, cli


@pytest.fixture
def run(tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    _register()
    cfg = tmp_path / "config.toml"
    cfg.write_text(GOOD.replace('url = "sqlite:///x.db"', f'url = "{db_url}"'))

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
        return result.exit_code, result.output

    return invoke


def test_db_upgrade_is_idempotent(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("db", "upgrade")
    assert code == 0 and out.endswith("database is up to date\n")
    assert run("db", "upgrade")[0] == 0


def test_events_list_and_retry_a_dead_letter(run, db: Database) -> None:  # type: ignore[no-untyped-def]
    client = make_client(db)
    post(client, *sealed(event_xml(change="add_external_contact")))
    with db.session_scope() as s:
        row = s.scalars(select(inbox.InboxEvent)).one()
        row.status, row.attempts, row.last_error = inbox.DEAD, 8, "WeComAPIError: errcode 60011"
        event_id = row.id
    code, out = run("events", "list", "--failed")
    assert code == 0 and str(event_id) in out and "dead" in out and "60011" in out
    code, out = run("events", "retry", str(event_id))
    assert code == 0 and f"event {event_id} queued again" in out
    with db.session_scope() as s:
        assert s.get(inbox.InboxEvent, event_id).status == inbox.PENDING
    code, out = run("events", "list", "--failed")
    assert str(event_id) not in out


def test_retry_of_an_unknown_event_is_a_clear_error(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("events", "retry", "999999")
    assert code != 0 and "no event 999999" in out


def test_jobs_run_rejects_unknown_names_and_bad_moments(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("jobs", "run", "no-such-job")
    assert code != 0 and "unknown job" in out
    from jobs.registry import all_jobs

    name = next(iter(all_jobs()))
    code, out = run("jobs", "run", name, "--now", "yesterday")
    assert code != 0 and "ISO-8601" in out


@pytest.mark.parametrize("args", [("jobs", "status"), ("archive", "status"), ("kpi", "rebuild")])
def test_a_database_that_is_down_is_one_line_not_a_traceback(tmp_path: Path, args: tuple[str, ...]) -> None:
    import subprocess
    import sys

    cfg = tmp_path / "config.toml"
    cfg.write_text(GOOD.replace('url = "sqlite:///x.db"', 'url = "postgresql+psycopg://postgres@127.0.0.1:9/none"'))
    proc = subprocess.run([sys.executable, "-m", "wecom_hr", "--config", str(cfg), *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "database.url" in line
