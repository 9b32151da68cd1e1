"""Pull and decrypt through the real SDK path (stand-in library, child process, RSA key versions)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from storage.archive import DONE, FAILED, NOKEY, ArchiveEnvelope, ArchiveMessage
from storage.archive_chain import verify
from storage.archive_store import cursor
from storage.db import Database
from tests.archive.conftest import FakeArchive, message
from wecom_hr.archive.pull import decrypt_pending, pull_envelopes
from wecom_hr.archive.results import context


def _messages(db: Database) -> list[ArchiveMessage]:
    with db.session_scope() as s:
        return list(s.scalars(select(ArchiveMessage).order_by(ArchiveMessage.id)))


def _statuses(db: Database) -> dict[str, str]:
    with db.session_scope() as s:
        return {m: st for m, st in s.execute(select(ArchiveEnvelope.msgid, ArchiveEnvelope.status))}


def test_pull_then_decrypt_in_batches(db: Database, fake_archive: FakeArchive) -> None:
    for i in range(7):
        fake_archive.add(message(f"m{i}", f"您好，第{i}条", at=i))
    source = fake_archive.source()
    try:
        report = pull_envelopes(db, source, limit=3)
        assert (report.fetched, report.stored, report.cursor, report.calls) == (7, 7, 7, 3)
        decrypted = decrypt_pending(db, source, fake_archive.keyring(), batch=4)
    finally:
        source.close()
    assert decrypted.appended == 7 and decrypted.failed == decrypted.nokey == 0
    assert [m.text for m in _messages(db)] == [f"您好，第{i}条" for i in range(7)]
    assert set(_statuses(db).values()) == {DONE}
    with db.session_scope() as s:
        assert verify(s).ok


def test_repeating_everything_duplicates_nothing(db: Database, fake_archive: FakeArchive) -> None:
    fake_archive.add(message("a", "一"))
    fake_archive.add(message("b", "二"))
    source = fake_archive.source()
    try:
        pull_envelopes(db, source)
        decrypt_pending(db, source, fake_archive.keyring())
        # WeCom serves the same msgid again under a new seq; we also re-run both passes.
        fake_archive.add(message("b", "二"))
        pull_envelopes(db, source)
        again = decrypt_pending(db, source, fake_archive.keyring(), retry_failed=True)
    finally:
        source.close()
    assert again.appended == 0
    assert [m.msgid for m in _messages(db)] == ["a", "b"]
    with db.session_scope() as s:
        assert cursor(s) == 3
        assert s.scalar(select(func.count()).select_from(ArchiveEnvelope)) == 2


def test_a_crash_while_storing_leaves_the_cursor_where_it_was(db: Database, fake_archive: FakeArchive,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fake_archive.add(message("a", "一"))
    source = fake_archive.source()
    import storage.archive_store as store

    real = store.save_envelopes

    def crash(*args: object, **kwargs: object) -> int:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("power cut before commit")

    monkeypatch.setattr("wecom_hr.archive.pull.save_envelopes", crash)
    try:
        with pytest.raises(RuntimeError):
            pull_envelopes(db, source)
        with db.session_scope() as s:
            assert cursor(s) == 0  # rolled back with the envelopes
        monkeypatch.setattr("wecom_hr.archive.pull.save_envelopes", real)
        assert pull_envelopes(db, source).stored == 1
    finally:
        source.close()


def test_missing_key_version_waits_encrypted_then_decrypts(db: Database, fake_archive: FakeArchive) -> None:
    fake_archive.add(message("old", "旧密钥的消息"), version=1)
    fake_archive.add(message("new", "新密钥的消息"), version=2)
    source = fake_archive.source(versions=(1,))
    try:
        pull_envelopes(db, source)
        first = decrypt_pending(db, source, fake_archive.keyring(versions=(1,)))
        assert (first.appended, first.nokey, first.missing_versions) == (1, 1, {2})
        assert _statuses(db) == {"old": DONE, "new": NOKEY}
        # The operator adds [archive.private_keys] 2 and runs `archive decrypt-pending`.
        second = decrypt_pending(db, source, fake_archive.keyring(), retry_failed=True)
    finally:
        source.close()
    assert second.appended == 1 and second.nokey == 0
    assert [m.msgid for m in _messages(db)] == ["old", "new"]


def test_a_message_that_kills_the_sdk_is_failed_and_the_rest_goes_on(db: Database, fake_archive: FakeArchive) -> None:
    fake_archive.add(message("good1", "第一条"))
    poison = {"seq": 2, "msgid": "poison", "publickey_ver": 1,
              "encrypt_random_key": json.loads(json.dumps(_sealed_key(fake_archive))),
              "encrypt_chat_msg": "AAAA"}  # under 13 characters: the SDK aborts
    fake_archive.add_raw(poison)
    fake_archive.add(message("good2", "第三条"))
    source = fake_archive.source()
    try:
        pull_envelopes(db, source)
        report = decrypt_pending(db, source, fake_archive.keyring())
    finally:
        source.close()
    assert (report.appended, report.failed) == (2, 1)
    assert "signal 6" in report.errors[0]
    assert _statuses(db) == {"good1": DONE, "poison": FAILED, "good2": DONE}


def _sealed_key(fake_archive: FakeArchive) -> str:
    import base64

    from cryptography.hazmat.primitives.asymmetric import padding

    return base64.b64encode(fake_archive.keys[1].public_key().encrypt(b"k" * 32, padding.PKCS1v15())).decode()


def test_message_types_chats_and_customers(db: Database, fake_archive: FakeArchive) -> None:
    mixed_items = [{"type": "text", "content": json.dumps({"content": "混合里的文字"})},
                   {"type": "image", "content": json.dumps({"sdkfileid": "img9", "md5sum": "x"})}]
    record_items = [{"type": "ChatRecordText", "msgtime": 1, "content": json.dumps({"content": "转发的聊天"})}]
    msgs = [
        message("recall", msgtype="revoke", revoke={"pre_msgid": "orig"}, at=2),  # the recall comes first
        message("orig", "这条会被撤回", at=1),
        message("md", msgtype="markdown", info={"content": "**加粗**报价"}),
        message("link", msgtype="link", link={"title": "旗舰店", "description": "优惠", "link_url": "https://x"}),
        message("img", msgtype="image", image={"sdkfileid": "img1", "md5sum": "m", "filesize": 10}),
        message("voice", msgtype="voice", voice={"sdkfileid": "v1", "play_length": 3}),
        message("video", msgtype="video", video={"sdkfileid": "vd1", "play_length": 9}),
        message("file", msgtype="file", file={"filename": "报价单.pdf", "sdkfileid": "f1"}),
        message("agree", msgtype="agree", sender="wmCustomer1", to=("zhangsan",), agree={"userid": "wmCustomer1"}),
        message("disagree", msgtype="disagree", sender="wmCustomer1", to=("zhangsan",), disagree={}),
        message("mixed", msgtype="mixed", mixed={"item": mixed_items}),
        message("record", msgtype="chatrecord", chatrecord={"title": "群聊记录", "item": record_items}),
        message("future", msgtype="hologram", hologram={"beam": "新类型"}),
        message("group", "群里说一句", sender="woCustomer2", to=("zhangsan", "lisi"), room="wrRoom1"),
        {"msgid": "switch", "action": "switch", "time": 1_700_000_009_000, "user": "zhangsan"},
    ]
    for m in msgs:
        fake_archive.add(m)
    source = fake_archive.source()
    try:
        pull_envelopes(db, source)
        assert decrypt_pending(db, source, fake_archive.keyring()).appended == len(msgs)
    finally:
        source.close()
    got = {m.msgid: m for m in _messages(db)}
    assert got["md"].text == "**加粗**报价" and got["link"].text == "旗舰店\n优惠\nhttps://x"
    assert got["file"].text == "报价单.pdf" and got["img"].text == "" and got["voice"].msgtype == "voice"
    assert got["mixed"].text == "混合里的文字" and got["record"].text == "群聊记录\n转发的聊天"
    assert got["future"].text == "" and json.loads(got["future"].raw)["hologram"] == {"beam": "新类型"}
    assert got["agree"].customer == "wmCustomer1" and got["orig"].customer == "wmCustomer1"
    assert (got["group"].roomid, got["group"].customer) == ("wrRoom1", "woCustomer2")
    assert (got["switch"].msgtype, got["switch"].sender, got["switch"].msgtime) == ("switch", "zhangsan",
                                                                                      1_700_000_009_000)
    with db.session_scope() as s:
        around = context(s, "orig")
    assert around is not None and around["message"]["revoked_by"] == "recall"
    assert [m["msgid"] for m in around["after"]][:1] == ["recall"]
