"""Retention through the service, the API (legal holds), the CLI and the job; archive metrics on /metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client import REGISTRY
from sqlalchemy import column, insert, select, table, update

from storage import outbox
from storage.archive import ArchiveMedia, ArchiveMediaRef, ArchiveMessage
from storage.archive_chain import verify
from storage.db import Database, upgrade
from tests.archive.conftest import message, write_pem
from tests.archive.test_cli_and_settings import _run, _write_config
from tests.archive.test_retention import DAY, KEY, NOW, _archive, _msg
from tests.helpers import WecomEnv, base_config, make_env
from wecom_hr.archive import media, retention, service
from wecom_hr.archive.source import MemorySource

COMPLIANCE, SALES = "compliance1", "sales1"
HELD_IN_CONFIG = "zhaoliu"


@pytest.fixture
def env(db: Database, tmp_path: Path, rsa_keys: dict[int, rsa.RSAPrivateKey]) -> Iterator[WecomEnv]:
    archive = {"retention_days": 10, "chain_key": KEY.decode(), "legal_hold": {"members": [HELD_IN_CONFIG]},
               "private_keys": {"1": write_pem(tmp_path / "v1.pem", rsa_keys[1])}}
    e = make_env(db, {"archive": archive, "roles": {"compliance": [COMPLIANCE]}}, api_users=(COMPLIANCE, SALES))
    yield e
    e.close()


def _kept(db: Database) -> list[str]:
    with db.session_scope() as s:
        return list(s.scalars(select(ArchiveMessage.msgid).order_by(ArchiveMessage.id)))


def test_legal_holds_through_the_api_guard_the_purge(env: WecomEnv, tmp_path: Path) -> None:
    msgs = [_msg(i) for i in range(30)]
    msgs[1], msgs[2] = _msg(1, sender="lisi"), _msg(2, sender=HELD_IN_CONFIG)
    _archive(env.runtime.db, msgs)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8")
    with env.runtime.db.session_scope() as s:
        media.register(s, [("m0", "file-0", "")], NOW)
        row = s.get(ArchiveMedia, "file-0")
        assert row is not None
        row.path, row.complete = str(photo), True

    assert env.api("GET", "/api/v1/archive/legal-holds", SALES).status_code == 403
    assert env.api("POST", "/api/v1/archive/legal-holds", COMPLIANCE, json={"kind": "x", "userid": "lisi",
                                                                           "reason": "r"}).status_code == 400
    assert env.api("POST", "/api/v1/archive/legal-holds", COMPLIANCE,
                   json={"kind": "member", "userid": "lisi"}).status_code == 400  # a hold needs a reason
    body = {"kind": "member", "userid": "lisi", "reason": "case 2024-17"}
    placed = env.api("POST", "/api/v1/archive/legal-holds", COMPLIANCE, json=body)
    assert placed.status_code == 201
    again = env.api("POST", "/api/v1/archive/legal-holds", COMPLIANCE, json=body)
    assert again.status_code == 200 and again.get_json()["id"] == placed.get_json()["id"]
    listed = env.api("GET", "/api/v1/archive/legal-holds", COMPLIANCE).get_json()
    assert [(h["source"], h["userid"]) for h in listed["holds"]] == [("config", HELD_IN_CONFIG), ("api", "lisi")]
    assert listed["retention_days"] == 10

    dry = retention.purge(env.runtime, NOW, dry_run=True)
    assert (dry["due"], dry["held"], dry["would_delete"], dry["dry_run"]) == (20, 2, 18, True)
    assert len(_kept(env.runtime.db)) == 30 and photo.exists()
    done = retention.purge(env.runtime, NOW, actor="tester")
    assert (done["deleted"], done["held"], done["media_files_removed"]) == (18, 2, 1)
    assert _kept(env.runtime.db)[:2] == ["m1", "m2"] and not photo.exists()

    hold_id = placed.get_json()["id"]
    assert env.api("DELETE", f"/api/v1/archive/legal-holds/{hold_id}", COMPLIANCE).status_code == 204
    assert env.api("DELETE", f"/api/v1/archive/legal-holds/{hold_id}", COMPLIANCE).status_code == 404
    assert retention.purge(env.runtime, NOW)["deleted"] == 1
    assert _kept(env.runtime.db)[0] == "m2"
    with env.runtime.db.session_scope() as s:
        assert verify(s, KEY).ok
    everything = env.api("GET", "/api/v1/archive/legal-holds?all=1", COMPLIANCE).get_json()["holds"]
    assert everything[-1]["released_by"] == COMPLIANCE
    audit = env.api("GET", "/api/v1/audit", COMPLIANCE).get_json()["entries"]
    actions = [e["action"] for e in audit]
    assert {"archive.hold.place", "archive.hold.release", "archive.purge"} <= set(actions)
    assert actions.count("archive.hold.place") == 1  # the repeated POST placed nothing new
    purge_entry = next(e for e in audit if e["action"] == "archive.purge" and e["actor"] == "tester")
    assert purge_entry["detail"]["deleted"] == 18


def test_purge_from_the_command_line(db: Database, tmp_path: Path) -> None:
    _archive(db, [_msg(i) for i in range(30)])
    archive = {"retention_days": 10, "chain_key": KEY.decode()}
    config = _write_config(tmp_path / "c.toml", base_config("http://127.0.0.1:9", db.url, archive=archive))
    now = NOW.isoformat()
    dry = _run(config, "purge", "--dry-run", "--now", now)
    assert json.loads(dry.stdout)["would_delete"] == 20 and len(_kept(db)) == 30
    done = json.loads(_run(config, "purge", "--now", now, "--reason", "annual policy").stdout)
    # PostgreSQL drops November 2023 whole (its own checkpoint), then purges the December rows.
    checkpoints = 2 if db.engine.dialect.name == "postgresql" else 1
    assert (done["deleted"], done["checkpoints"]) == (20, checkpoints)
    assert _run(config, "verify").stdout.strip() == (
        f"archive chain intact: 10 messages, 20 purged under retention ({checkpoints} checkpoints)")
    assert json.loads(_run(config, "purge", "--now", now).stdout)["deleted"] == 0
    assert _run(config, "purge", "--now", "yesterday").exit_code == 2


def test_the_retention_job_is_registered_and_keeps_forever_by_default(db: Database) -> None:
    from jobs.registry import all_jobs

    spec = all_jobs()["archive-retention"]
    env = make_env(db)
    try:
        assert spec.func(env.runtime, NOW) == {"skipped": "archive.retention_days is 0 (keep forever)"}
    finally:
        env.close()


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _metric_lines(env: WecomEnv) -> dict[str, float]:
    text = env.client.get("/metrics").get_data(as_text=True)
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith("wecomhr_archive_")}


def test_archive_metrics_on_the_metrics_endpoint(env: WecomEnv, rsa_keys: dict[int, rsa.RSAPrivateKey]) -> None:
    source = MemorySource()
    env.runtime.archive_source = source  # type: ignore[attr-defined]
    for i, text in enumerate(["您好", "加我私人微信", "返点另算"]):
        source.add(message(f"x{i}", text, at=i), 1, rsa_keys[1].public_key())
    source.add(message("x9", "这条用了新的密钥"), 2, rsa_keys[2].public_key())  # no key 2 configured
    before: dict[str, Any] = {"pulled": _sample("wecomhr_archive_messages_pulled_total"),
                              "decrypted": _sample("wecomhr_archive_messages_decrypted_total"),
                              "high": _sample("wecomhr_archive_watch_hits_total", severity="high"),
                              "medium": _sample("wecomhr_archive_watch_hits_total", severity="medium")}
    figures = service.pull(env.runtime, NOW)
    assert (figures["fetched"], figures["appended"], figures["nokey"]) == (4, 3, 1)
    got = _metric_lines(env)
    assert got["wecomhr_archive_messages_pulled_total"] - before["pulled"] == 4
    assert got["wecomhr_archive_messages_decrypted_total"] - before["decrypted"] == 3
    assert got['wecomhr_archive_watch_hits_total{severity="high"}'] - before["high"] == 1
    assert got['wecomhr_archive_watch_hits_total{severity="medium"}'] - before["medium"] == 1
    assert got['wecomhr_archive_pending_decrypt{state="nokey"}'] == 1
    assert got["wecomhr_archive_cursor_seq"] == got["wecomhr_archive_sdk_seq"] == 4
    assert got["wecomhr_archive_lag_seq"] == 0
    assert 0 <= got["wecomhr_archive_seconds_since_pull"] < 60
    assert got["wecomhr_archive_last_pull_timestamp_seconds"] > 1.7e9


def _file(i: int, fileid: str, **kw: Any) -> dict[str, Any]:
    return message(f"m{i}", at=i * DAY, msgtype="file",
                   file={"md5sum": "", "filename": "合同.pdf", "fileext": "pdf", "filesize": 4, "sdkfileid": fileid},
                   **kw)


def test_a_file_forwarded_into_a_held_conversation_survives_the_purge(env: WecomEnv, tmp_path: Path) -> None:
    msgs = [_msg(i) for i in range(30)]
    msgs[0], msgs[1] = _file(0, "file-0"), _file(1, "file-0", sender="lisi")  # the same contract, forwarded
    _archive(env.runtime.db, msgs)
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(b"%PDF")
    with env.runtime.db.session_scope() as s:
        assert media.register(s, [("m0", "file-0", ""), ("m1", "file-0", "")], NOW) == 1  # one file to fetch
        row = s.get(ArchiveMedia, "file-0")
        assert row is not None
        row.path, row.complete = str(contract), True
    hold = env.api("POST", "/api/v1/archive/legal-holds", COMPLIANCE,
                   json={"kind": "member", "userid": "lisi", "reason": "case 2024-18"}).get_json()["id"]

    done = retention.purge(env.runtime, NOW)
    assert done["media_files_removed"] == 0 and contract.exists()
    assert "m0" not in _kept(env.runtime.db) and "m1" in _kept(env.runtime.db)
    with env.runtime.db.session_scope() as s:
        assert s.get(ArchiveMedia, "file-0") is not None

    assert env.api("DELETE", f"/api/v1/archive/legal-holds/{hold}", COMPLIANCE).status_code == 204
    assert retention.purge(env.runtime, NOW)["media_files_removed"] == 1  # its last message went
    assert not contract.exists()
    with env.runtime.db.session_scope() as s:
        assert s.get(ArchiveMedia, "file-0") is None


def test_the_reference_migration_finds_every_message_of_a_shared_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0003a")  # the archive as it was before media references
    old = Database(url)
    try:
        _archive(old, [_file(0, "file-0"), _file(1, "file-0"), _msg(2), _file(3, "file-3")])
        old_media = table("archive_media", *(column(c) for c in ("sdkfileid", "msgid", "path", "indexbuf",
                                                                 "received_bytes", "md5sum", "complete", "updated_at")))
        with old.session_scope() as s:  # the old register kept the first message of each file only
            s.execute(insert(old_media), [{"sdkfileid": f, "msgid": m, "path": "", "indexbuf": "", "received_bytes": 0,
                                           "md5sum": "", "complete": False, "updated_at": NOW}
                                          for m, f in (("m0", "file-0"), ("m3", "file-3"))])
    finally:
        old.dispose()
    upgrade(url)
    db = Database(url)
    try:
        with db.session_scope() as s:
            refs = s.execute(select(ArchiveMediaRef.msgid, ArchiveMediaRef.sdkfileid)
                             .order_by(ArchiveMediaRef.msgid)).all()
        assert [tuple(r) for r in refs] == [("m0", "file-0"), ("m1", "file-0"), ("m3", "file-3")]
    finally:
        db.dispose()


def test_alert_cards_quoting_purged_chats_are_forgotten_with_them(env: WecomEnv) -> None:
    _archive(env.runtime.db, [_msg(i) for i in range(30)])
    old, recent = NOW - timedelta(days=11), NOW - timedelta(days=9)  # retention_days = 10
    with env.runtime.db.session_scope() as s:
        for key, kind, at in (("archive-watch:r:m1", "archive_watch", old),
                              ("archive-digest:old", "archive_digest", old),
                              ("risk:1", "risk_alert", old),  # a 跑单 card quotes the chat too
                              ("archive-watch:r:m25", "archive_watch", recent),
                              ("pending-old", "archive_watch", old),
                              ("departure-card:1", "departure_card", old)):
            outbox.enqueue(s, key, kind, [COMPLIANCE], {"msgtype": "markdown", "markdown": {"content": "返点"}}, now=at)
        s.execute(update(outbox.OutboxMessage).where(outbox.OutboxMessage.key != "pending-old")
                  .values(status=outbox.SENT))

    assert retention.purge(env.runtime, NOW, dry_run=True)["alerts_to_forget"] == 3
    assert retention.purge(env.runtime, NOW)["alerts_forgotten"] == 3
    with env.runtime.db.session_scope() as s:
        left = set(s.scalars(select(outbox.OutboxMessage.key)))
    # Recent alerts, one still to deliver, and other features' messages stay.
    assert left == {"archive-watch:r:m25", "pending-old", "departure-card:1"}
