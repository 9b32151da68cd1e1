"""Where the real Finance SDK differs from what one would assume: keys that are not keys, NULs that
C strings would cut at, a child that must not see our secrets, and a call timeout long enough for
GetChatData's two HTTPS requests."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import select

from storage.archive import DONE, FAILED, ArchiveEnvelope
from storage.db import Database
from tests.archive.conftest import CORP, FakeArchive, message
from tests.helpers import base_config, merge
from wecom_hr.archive.child import SdkProcess
from wecom_hr.archive.errors import ArchiveError, KeyDecryptError
from wecom_hr.archive.keys import KeyRing, is_random_key
from wecom_hr.archive.pull import decrypt_pending, pull_envelopes
from wecom_hr.archive.settings import from_settings
from wecom_hr.archive.source import standin_seal
from wecom_hr.config import ConfigError, settings_from_mapping


def _envelopes(db: Database) -> dict[str, tuple[str, str | None]]:
    with db.session_scope() as s:
        rows = s.execute(select(ArchiveEnvelope.msgid, ArchiveEnvelope.status, ArchiveEnvelope.last_error))
        return {msgid: (status, error) for msgid, status, error in rows}


def test_the_child_does_not_inherit_our_secrets(fake_archive: FakeArchive, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WECOM_HR_WECOM_SECRET", "app-secret-value")
    monkeypatch.setenv("WECOM_HR_WECOM_ARCHIVE_SECRET", "archive-secret-value")
    dump = tmp_path / "child-environ.txt"
    fake_archive.configure(environ=dump)
    with SdkProcess(fake_archive.lib, CORP, "archive-secret-value") as proc:
        proc.chat(0, 10)
    environ = dict(line.split("=", 1) for line in dump.read_text().splitlines())
    assert not [name for name in environ if name.startswith("WECOM_HR_")]
    assert "secret-value" not in dump.read_text()
    assert "PYTHONPATH" in environ and set(environ) <= {"PYTHONPATH", "PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ",
                                                         "TMPDIR", "LD_LIBRARY_PATH", "SSL_CERT_FILE", "SSL_CERT_DIR"}


@pytest.mark.parametrize(("key", "valid"), [
    (b"0123456789abcdef0123456789abcdef", True),   # what seal_envelope (and the stand-in) use
    (b"MTIzNDU2Nzg5MDEyMzQ1Njc4OTAx", True),      # base64-like, 28 characters
    (b"short", False),
    (b"0123456789abcdef\x000123456789abcdef", False),
    (bytes(range(200, 232)), False),                # what implicit rejection may hand back
    (b"x" * 65, False),
])
def test_what_counts_as_a_random_key(key: bytes, valid: bool) -> None:
    assert is_random_key(key) is valid


def test_a_wrong_pem_gives_one_diagnosis_however_rsa_fails(fake_archive: FakeArchive) -> None:
    """With the wrong private key, PKCS#1 v1.5 either raises or (implicit rejection) returns random bytes."""
    public = fake_archive.keys[1].public_key()
    ring = KeyRing({1: fake_archive.key_files[2]})  # v2's PEM configured as v1
    for _ in range(40):
        sealed = base64.b64encode(public.encrypt(b"0123456789abcdef0123456789abcdef", padding.PKCS1v15())).decode()
        with pytest.raises(KeyDecryptError) as err:
            ring.random_key(1, sealed)
        assert str(err.value) == "the private key for publickey_ver 1 does not match"


def test_a_decrypted_key_with_a_nul_never_reaches_the_sdk(fake_archive: FakeArchive) -> None:
    public = fake_archive.keys[1].public_key()
    sealed = base64.b64encode(public.encrypt(b"a" * 15 + b"\0" + b"b" * 16, padding.PKCS1v15())).decode()
    with pytest.raises(KeyDecryptError, match="publickey_ver 1 does not match"):
        fake_archive.keyring().random_key(1, sealed)
    with SdkProcess(fake_archive.lib, CORP, "archive-secret") as proc:
        with pytest.raises(KeyDecryptError, match="NUL"):
            proc.decrypt(b"a" * 15 + b"\0" + b"b" * 16, standin_seal(b"some text here", b"a" * 15))
        with pytest.raises(ArchiveError, match="NUL"):
            proc.decrypt(b"k" * 32, "AAAAAAAAAAAAAAAA\0AAAA")
        # The child refuses one too (a caller that skips the parent's check): it answers, it does not die.
        header: dict[str, Any] = {"op": "decrypt", "key_len": 3}
        with pytest.raises(KeyDecryptError, match="NUL"):
            proc.call(header, b"k\0y" + standin_seal(b"some text here", b"k").encode(), "DecryptData")
        assert proc.decrypt(b"k" * 32, standin_seal(b"still alive", b"k" * 32)) == b"still alive"


def test_frames_carry_any_key_byte_unchanged(fake_archive: FakeArchive) -> None:
    key = bytes(range(1, 256))  # every byte but NUL, including the frame header's and JSON's specials
    sealed = standin_seal("键里什么字节都有".encode(), key)
    with SdkProcess(fake_archive.lib, CORP, "archive-secret") as proc:
        assert proc.decrypt(key, sealed) == "键里什么字节都有".encode()


def test_a_wrong_pem_is_stored_per_message_and_decrypt_pending_retries(db: Database,
                                                                       fake_archive: FakeArchive) -> None:
    fake_archive.add(message("m1", "第一条"), version=1)
    fake_archive.add(message("m2", "第二条"), version=1)
    source = fake_archive.source()
    try:
        pull_envelopes(db, source)
        wrong = decrypt_pending(db, source, KeyRing({1: fake_archive.key_files[2]}))
        assert (wrong.appended, wrong.failed) == (0, 2)
        assert _envelopes(db) == {m: (FAILED, "the private key for publickey_ver 1 does not match")
                                  for m in ("m1", "m2")}
        # The operator fixes [archive.private_keys] 1 and runs `archive decrypt-pending`.
        fixed = decrypt_pending(db, source, fake_archive.keyring(), retry_failed=True)
    finally:
        source.close()
    assert (fixed.appended, fixed.failed) == (2, 0)
    assert {m: st for m, (st, _) in _envelopes(db).items()} == {"m1": DONE, "m2": DONE}


def _archive_settings(archive: dict[str, Any]) -> Any:
    return from_settings(settings_from_mapping(
        merge(base_config("http://127.0.0.1:9", "sqlite://"), {"archive": archive}), environ={}))


@pytest.mark.parametrize(("archive", "ok"), [
    ({}, True),                                                     # 120 >= 2 × 30 + 10
    ({"call_timeout_seconds": 70.0}, True),
    ({"call_timeout_seconds": 69.0}, False),
    ({"sdk_timeout_seconds": 5, "call_timeout_seconds": 20.0}, True),
    ({"sdk_timeout_seconds": 5, "call_timeout_seconds": 19.0}, False),
    ({"sdk_timeout_seconds": 60}, False),                           # the default 120 < 130
])
def test_call_timeout_covers_two_https_requests(archive: dict[str, Any], ok: bool) -> None:
    if ok:
        _archive_settings(archive)
        return
    with pytest.raises(ConfigError) as err:
        _archive_settings(archive)
    assert err.value.key == "archive.call_timeout_seconds"
    assert "2 × sdk_timeout_seconds + 10" in str(err.value)
