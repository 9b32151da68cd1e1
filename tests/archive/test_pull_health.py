"""Issue 15: an SDK failure is one line everywhere; the pull's health is stored, shown and exported;
compliance hears of an outage once and of the recovery once; stored envelopes are decrypted while
fetching fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from storage import archive_state
from storage.archive import PENDING, ArchiveEnvelope, ArchiveMessage
from storage.archive_store import Envelope
from storage.db import Database, utcnow
from tests.archive.conftest import FakeArchive, message, write_pem
from tests.archive.test_cli_and_settings import _write_config
from tests.helpers import WecomEnv, base_config, make_env
from wecom_hr.archive import service
from wecom_hr.archive.errors import (
    ArchiveError,
    ChatDataError,
    PullFailedError,
    SdkCrashedError,
    SdkError,
    diagnose,
)
from wecom_hr.archive.keys import KeyRing
from wecom_hr.archive.pull import decrypt_pending, pull_envelopes
from wecom_hr.archive.sdk import MediaChunk
from wecom_hr.archive.source import MemorySource
from wecom_hr.simulator.models import User

COMPLIANCE = "compliance1"
WRONG_SECRET = 'WeWorkFinanceSdk:access:{"errcode": 40001, "errmsg": "invalid credential, hint: [xyz]"}'
IP_REFUSED = 'WeWorkFinanceSdk:access:{"errcode": 301042, "errmsg": "ip not allowed"}'


# --- diagnose: one line, the code named, the SDK's own word, what to check ---------------------------------------

def test_a_network_error_names_the_code_and_what_to_check() -> None:
    line = diagnose(SdkError("GetChatData", 10001))
    assert "\n" not in line
    assert "GetChatData" in line and "10001" in line and "network error" in line
    assert "egress" in line and "[archive] proxy" in line and "企业可信IP" in line


def test_the_sdk_stderr_names_a_wrong_archive_secret() -> None:
    line = diagnose(SdkError("GetChatData", 10001, stderr=WRONG_SECRET))
    assert "10001" in line and "network error" in line
    assert "SDK stderr: " + WRONG_SECRET in line
    assert "wrong wecom.archive_secret" in line and "企业可信IP" not in line


def test_an_ip_not_allowed_from_stderr_or_from_the_json_body() -> None:
    from_stderr = diagnose(SdkError("GetChatData", 10001, stderr=IP_REFUSED))
    from_body = diagnose(ChatDataError(301042, "ip not allowed"))
    for line in (from_stderr, from_body):
        assert "301042" in line and "IP not allowed (会话内容存档 可信IP" in line


def test_a_stderr_attribute_set_later_and_a_crash_are_read_too() -> None:
    exc = SdkError("GetChatData", 10001)
    exc.stderr = WRONG_SECRET + "\nmore\tnoise"  # how the child may pass it on
    line = diagnose(exc)
    assert "\n" not in line and "wrong wecom.archive_secret" in line
    crash = diagnose(SdkCrashedError("DecryptData", -6, "terminate called after throwing an instance"))
    assert "signal 6" in crash and "SDK stderr: terminate called" in crash
    assert diagnose(SdkError("Init", 10003)).startswith("Init failed: 10003 (system error)")


def test_a_failed_pull_says_what_was_decrypted_meanwhile() -> None:
    line = diagnose(PullFailedError(SdkError("GetChatData", 10001, stderr=WRONG_SECRET), {"appended": 2}))
    assert "wrong wecom.archive_secret" in line and "meanwhile 2 stored messages were decrypted" in line


# --- sources that fail on demand ----------------------------------------------------------------------------------

class FlakySource:
    """A MemorySource whose GetChatData fails with 10001 (and the SDK's stderr) while ``down``."""

    def __init__(self, inner: MemorySource, stderr: str = "") -> None:
        self.inner, self.stderr, self.down = inner, stderr, True

    def fetch(self, seq: int, limit: int) -> list[Envelope]:
        if self.down:
            raise SdkError("GetChatData", 10001, stderr=self.stderr)
        return self.inner.fetch(seq, limit)

    def decrypt(self, random_key: bytes, encrypt_chat_msg: str) -> str:
        return self.inner.decrypt(random_key, encrypt_chat_msg)

    def media(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        return self.inner.media(sdkfileid, indexbuf)

    def close(self) -> None:
        pass


@pytest.fixture
def env(db: Database, tmp_path: Path, rsa_keys: dict[int, rsa.RSAPrivateKey]) -> Iterator[WecomEnv]:
    archive = {"private_keys": {"1": write_pem(tmp_path / "v1.pem", rsa_keys[1])}}
    e = make_env(db, {"archive": archive, "roles": {"compliance": [COMPLIANCE]}})
    e.sim.state.add_user(User(userid=COMPLIANCE, name=COMPLIANCE))
    yield e
    e.close()


def _flaky(env: WecomEnv, stderr: str = "") -> FlakySource:
    source = FlakySource(MemorySource(), stderr)
    env.runtime.archive_source = source  # type: ignore[attr-defined]
    return source


def _failed_pull(env: WecomEnv, now: datetime) -> PullFailedError:
    with pytest.raises(PullFailedError) as err:
        service.pull(env.runtime, now)
    return err.value


def _metrics(env: WecomEnv) -> dict[str, float]:
    text = env.client.get("/metrics").get_data(as_text=True)
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith("wecomhr_archive_")}


def _outage_messages(env: WecomEnv) -> list[dict[str, Any]]:
    env.drain()
    return [m for m in env.sim.sent_messages if m.get("msgtype") == "markdown" and "会话存档" in str(m)]


# --- stored state, status and metrics -----------------------------------------------------------------------------

def test_status_and_metrics_after_a_failed_pull_on_a_fresh_install(env: WecomEnv) -> None:
    fresh = _metrics(env)
    assert "wecomhr_archive_seconds_since_success" in fresh  # there from the first start, before any attempt
    assert fresh["wecomhr_archive_pull_consecutive_failures"] == 0
    assert service.status(env.runtime)["pull"]["last_attempt"] is None
    before = fresh.get('wecomhr_archive_pull_failures_total{errcode="10001"}', 0.0)

    _flaky(env, WRONG_SECRET)
    attempt = utcnow() - timedelta(minutes=5)
    _failed_pull(env, attempt)

    pull = service.status(env.runtime)["pull"]
    assert pull["last_attempt"] == pull["first_attempt"] == attempt.isoformat()
    assert pull["last_success"] is None and pull["consecutive_failures"] == 1 and pull["seq"] == 0
    assert pull["last_error"]["errcode"] == 10001
    assert "wrong wecom.archive_secret" in pull["last_error"]["text"]
    got = _metrics(env)
    assert got['wecomhr_archive_pull_failures_total{errcode="10001"}'] - before == 1
    assert got["wecomhr_archive_pull_consecutive_failures"] == 1
    # no success yet: counted from the first attempt
    assert 300 <= got["wecomhr_archive_seconds_since_success"] < 400


def test_a_success_resets_the_failures_and_records_the_seq(env: WecomEnv, rsa_keys: dict[int, rsa.RSAPrivateKey]
                                                          ) -> None:
    source = _flaky(env)
    source.inner.add(message("m1", "您好"), 1, rsa_keys[1].public_key())
    t0 = utcnow() - timedelta(hours=1)
    _failed_pull(env, t0)
    source.down = False
    assert service.pull(env.runtime, t0 + timedelta(minutes=1))["appended"] == 1
    pull = service.status(env.runtime)["pull"]
    assert pull["consecutive_failures"] == 0 and pull["seq"] == 1
    assert pull["last_success"] == (t0 + timedelta(minutes=1)).isoformat()
    assert pull["last_error"]["errcode"] == 10001  # kept: the last error seen, with its time


# --- the outage alert and the recovery notice ---------------------------------------------------------------------

def test_one_alert_per_outage_and_one_recovery_notice(env: WecomEnv) -> None:
    source = _flaky(env, IP_REFUSED)
    t0 = utcnow() - timedelta(hours=3)
    for minutes in (0, 10, 29):
        _failed_pull(env, t0 + timedelta(minutes=minutes))
    assert _outage_messages(env) == []  # under [archive] alert_after_minutes (30)

    for minutes in (31, 40, 55):
        _failed_pull(env, t0 + timedelta(minutes=minutes))
    alerts = _outage_messages(env)
    assert len(alerts) == 1 and alerts[0]["touser"] == COMPLIANCE
    content = alerts[0]["markdown"]["content"]
    assert content.startswith("**会话存档拉取中断**") and "连续失败 4 次" in content
    assert "301042" in content and "IP not allowed" in content
    assert '"errcode"' not in content and "＂errcode＂" in content  # the SDK's text is escaped (md_escape)

    source.down = False
    service.pull(env.runtime, t0 + timedelta(minutes=60))
    service.pull(env.runtime, t0 + timedelta(minutes=61))
    sent = _outage_messages(env)
    assert len(sent) == 2
    assert sent[1]["markdown"]["content"].startswith("**会话存档已恢复拉取**")
    assert "中断约 60 分钟" in sent[1]["markdown"]["content"] and "期间失败 6 次" in sent[1]["markdown"]["content"]

    # a later, separate outage is told again (its own key: the new last success)
    source.down = True
    for minutes in (62, 100):
        _failed_pull(env, t0 + timedelta(minutes=minutes))
    assert len(_outage_messages(env)) == 3


def test_a_short_outage_sends_nothing(env: WecomEnv) -> None:
    source = _flaky(env)
    t0 = utcnow() - timedelta(hours=1)
    _failed_pull(env, t0)
    source.down = False
    service.pull(env.runtime, t0 + timedelta(minutes=5))
    assert _outage_messages(env) == []


# --- the decrypt pass during a fetch outage -----------------------------------------------------------------------

def _archived(db: Database) -> list[str]:
    with db.session_scope() as s:
        return list(s.scalars(select(ArchiveMessage.msgid).order_by(ArchiveMessage.id)))


def test_stored_envelopes_are_decrypted_while_getchatdata_fails(db: Database, fake_archive: FakeArchive) -> None:
    fake_archive.add(message("m1", "一"))
    fake_archive.add(message("m2", "二"))
    source = fake_archive.source()
    try:
        assert pull_envelopes(db, source).stored == 2  # stored, not yet decrypted
    finally:
        source.close()
    e = make_env(db, {"archive": {"sdk_path": fake_archive.lib, "call_timeout_seconds": 70.0,
                                  "private_keys": {"1": fake_archive.key_files[1]}}})
    try:
        fake_archive.configure(abort_on_fetch=1)  # the real child path: GetChatData kills the SDK
        failed = _failed_pull(e, utcnow())
    finally:
        e.close()
    assert isinstance(failed.cause, SdkCrashedError) and failed.cause.call == "GetChatData"
    assert failed.figures["appended"] == 2
    assert str(failed).startswith("the SDK process died during GetChatData")  # what a job log line shows
    assert "meanwhile 2 stored messages were decrypted" in diagnose(failed)
    assert _archived(db) == ["m1", "m2"]


class _InitFails(FlakySource):
    def decrypt(self, random_key: bytes, encrypt_chat_msg: str) -> str:
        raise SdkError("Init", 10003)


def test_an_sdk_that_does_not_start_marks_no_message_failed(db: Database, fake_archive: FakeArchive) -> None:
    fake_archive.add(message("m1", "一"))
    source = fake_archive.source()
    try:
        pull_envelopes(db, source)
    finally:
        source.close()
    with pytest.raises(SdkError):
        decrypt_pending(db, _InitFails(MemorySource()), KeyRing({1: fake_archive.key_files[1]}))
    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(ArchiveEnvelope).where(ArchiveEnvelope.status == PENDING)) == 1


# --- the command line: one line, exit 1, no traceback -------------------------------------------------------------

def _cli(config: str, *args: str) -> Any:
    from wecom_hr.cli import _register, cli

    _register()
    return CliRunner().invoke(cli, ["--config", config, *args], catch_exceptions=False)


def _one_line_failure(result: Any, *names: str) -> str:
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for name in names:
        assert name in lines[0], lines[0]
    return str(lines[0])


def _config(db: Database, path: Path, secret: str = "", **archive: Any) -> str:
    raw = base_config("http://127.0.0.1:9", db.url, archive=dict(archive, call_timeout_seconds=70.0))
    if secret:
        raw["wecom"]["archive_secret"] = secret
    return _write_config(path, raw)


def test_a_wrong_archive_secret_is_named_in_one_line(db: Database, fake_archive: FakeArchive, tmp_path: Path) -> None:
    config = _config(db, tmp_path / "c.toml", "wrong-secret", sdk_path=fake_archive.lib,
                     private_keys={"1": fake_archive.key_files[1]})
    for args in (("archive", "pull"), ("jobs", "run", "archive-pull")):
        line = _one_line_failure(_cli(config, *args), "GetChatData", "10001", "network error",
                                 "wrong wecom.archive_secret")
        assert "errcode\": 40001" in line or '"errcode": 40001' in line  # the SDK's own stderr diagnostic
    status = json.loads(_cli(config, "archive", "status").stdout)["pull"]
    assert status["consecutive_failures"] == 2 and status["last_success"] is None and status["seq"] == 0
    assert status["last_error"]["errcode"] == 10001
    assert "wrong wecom.archive_secret" in status["last_error"]["text"]


def test_cli_commands_report_an_sdk_failure_in_one_line(db: Database, fake_archive: FakeArchive, tmp_path: Path
                                                        ) -> None:
    fake_archive.add(message("m1", "一"), version=2)
    archive: dict[str, Any] = {"sdk_path": fake_archive.lib, "private_keys": {"1": fake_archive.key_files[1]}}
    config = _config(db, tmp_path / "c.toml", **archive)
    fake_archive.configure(abort_on_fetch=1)
    _one_line_failure(_cli(config, "archive", "pull"), "GetChatData", "the SDK process died")
    _one_line_failure(_cli(config, "jobs", "run", "archive-pull"), "GetChatData", "the SDK process died")

    fake_archive.configure(abort_on_fetch=0)
    assert _cli(config, "archive", "pull").exit_code == 0  # stores m1 (key 2 missing: it waits)
    broken = dict(archive, sdk_path=str(tmp_path / "missing.so"),
                  private_keys={"1": fake_archive.key_files[1], "2": fake_archive.key_files[2]})
    config = _config(db, tmp_path / "c2.toml", **broken)
    _one_line_failure(_cli(config, "archive", "decrypt-pending"), "cannot be loaded", "archive.sdk_path")
    _one_line_failure(_cli(config, "archive", "pull"), "cannot be loaded", "archive.sdk_path")


def test_the_errors_module_covers_every_sdk_code() -> None:
    from wecom_hr.archive.errors import _CHECKS, SDK_CODES

    assert set(SDK_CODES) <= set(_CHECKS)
    assert all(isinstance(diagnose(SdkError("GetChatData", code)), str) for code in SDK_CODES)
    assert diagnose(ArchiveError("plain")) == "plain"
    assert archive_state.as_dict(None)["consecutive_failures"] == 0


def test_alert_after_minutes_defaults_to_30_and_must_be_positive() -> None:
    from wecom_hr.archive.settings import from_settings
    from wecom_hr.config import ConfigError, settings_from_mapping

    def settings(**archive: Any) -> Any:
        return settings_from_mapping(base_config("http://127.0.0.1:9", "sqlite://", archive=archive), environ={})

    assert from_settings(settings()).alert_after_minutes == 30
    assert from_settings(settings(alert_after_minutes=5)).alert_after_minutes == 5
    with pytest.raises(ConfigError) as err:
        from_settings(settings(alert_after_minutes=0))
    assert err.value.key == "archive.alert_after_minutes"


def test_archive_media_exits_non_zero_when_files_failed_and_status_lists_them(db: Database, fake_archive: FakeArchive,
                                                                             tmp_path: Path) -> None:
    from storage.db import utcnow
    from wecom_hr.archive import media

    with db.session_scope() as s:  # the stand-in SDK answers 10005 (bad fileid) for a file it does not have
        media.register(s, [("msg-gone", "gone", "")], utcnow())
    config = _config(db, tmp_path / "c.toml", sdk_path=fake_archive.lib, media_dir=str(tmp_path / "media"),
                     private_keys={"1": fake_archive.key_files[1]})
    result = _cli(config, "archive", "media")
    assert result.exit_code == 1 and '"failed": 1' in result.output
    status = json.loads(_cli(config, "archive", "status").stdout)
    assert sum(status["media"].values()) == 1 and status["media"]["done"] == 0
