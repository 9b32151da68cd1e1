"""The ctypes binding in its child process, against the stand-in SDK built from C by gcc."""

from __future__ import annotations

import json
import os

import pytest

from tests.archive.conftest import CORP, FakeArchive, message
from wecom_hr.archive.child import SdkProcess
from wecom_hr.archive.errors import SdkCrashedError, SdkError, SdkTimeoutError, SdkUnavailableError
from wecom_hr.archive.source import standin_seal


def test_get_chat_data_serves_after_the_cursor_and_frees_everything(fake_archive: FakeArchive) -> None:
    for i in range(5):
        fake_archive.add(message(f"m{i}", f"第{i}条"))
    with SdkProcess(fake_archive.lib, CORP, "archive-secret") as proc:
        first = json.loads(proc.chat(0, 2))
        rest = json.loads(proc.chat(2, 1000))
    assert [c["seq"] for c in first["chatdata"]] == [1, 2]
    assert [c["msgid"] for c in rest["chatdata"]] == ["m2", "m3", "m4"]
    assert first["errcode"] == 0
    # Every Slice_t freed, the SDK handle destroyed before the child exited.
    assert fake_archive.stats == "sdks=0 slices=0 media=0 destroyed=1"


def test_limit_above_1000_is_the_sdks_parameter_error(fake_archive: FakeArchive) -> None:
    with SdkProcess(fake_archive.lib, CORP, "archive-secret") as proc, pytest.raises(SdkError) as err:
        proc.chat(0, 1001)
    assert err.value.code == 10000 and "bad parameters" in str(err.value)


def test_decrypt_data_with_the_right_and_a_wrong_key(fake_archive: FakeArchive) -> None:
    sealed = standin_seal("返点 ok".encode(), b"k3y")
    with SdkProcess(fake_archive.lib, CORP, "archive-secret") as proc:
        assert proc.decrypt(b"k3y", sealed) == "返点 ok".encode()
        with pytest.raises(SdkError) as err:
            proc.decrypt(b"other", sealed)
    assert err.value.code == 10008  # the real SDK's answer for a wrong key
    assert fake_archive.stats.startswith("sdks=0 slices=0")


def test_an_abort_inside_the_sdk_kills_only_the_child(fake_archive: FakeArchive) -> None:
    with SdkProcess(fake_archive.lib, CORP, "archive-secret") as proc:
        with pytest.raises(SdkCrashedError) as err:
            proc.decrypt(b"key", "short")  # under 13 characters: the real SDK aborts
        assert err.value.returncode == -6 and err.value.call == "DecryptData"  # SIGABRT
        # The next call starts a fresh child: the service goes on.
        assert proc.decrypt(b"key", standin_seal(b'{"a": 1}', b"key")) == b'{"a": 1}'


def test_an_abort_in_get_chat_data(fake_archive: FakeArchive) -> None:
    fake_archive.configure(abort_on_fetch=1)
    with SdkProcess(fake_archive.lib, CORP, "archive-secret") as proc, pytest.raises(SdkCrashedError):
        proc.chat(0, 10)


def test_a_hung_call_is_killed_after_the_timeout(fake_archive: FakeArchive) -> None:
    with SdkProcess(fake_archive.lib, CORP, "archive-secret", call_timeout=0.5) as proc:
        with pytest.raises(SdkTimeoutError):
            proc.decrypt(b"key", "HANG until killed")
        assert proc.decrypt(b"key", standin_seal(b"after the hang", b"key")) == b"after the hang"


def test_a_wrong_secret_shows_at_get_chat_data_with_the_sdks_stderr(fake_archive: FakeArchive) -> None:
    with SdkProcess(fake_archive.lib, CORP, "wrong-secret") as proc, pytest.raises(SdkError) as err:
        proc.chat(0, 10)  # Init accepted it, as the real SDK does
    assert (err.value.call, err.value.code) == ("GetChatData", 10001)
    assert err.value.stderr == 'WeWorkFinanceSdk:access:{"errcode": 40001, "errmsg": "invalid credential"}'
    assert str(err.value) == "GetChatData returned 10001 (network error)"  # one short line


def test_init_failures_and_a_missing_library(fake_archive: FakeArchive, tmp_path: os.PathLike[str]) -> None:
    with SdkProcess(fake_archive.lib, CORP, "") as proc, pytest.raises(SdkError) as err:
        proc.chat(0, 10)
    assert err.value.call == "Init" and err.value.code == 10000 and err.value.stderr == ""
    with SdkProcess(str(tmp_path) + "/missing.so", CORP, "s") as proc, pytest.raises(SdkUnavailableError):
        proc.chat(0, 10)


def test_media_chunks_are_binary_safe(fake_archive: FakeArchive) -> None:
    blob = bytes(range(256)) * 40 + b"\x00\x00end"  # NULs everywhere: C strings would cut this short
    (fake_archive.media_dir / "file1").write_bytes(blob)
    fake_archive.configure(chunk=1000)
    got, index, calls = b"", "", 0
    with SdkProcess(fake_archive.lib, CORP, "archive-secret") as proc:
        while True:
            chunk = proc.media("file1", index)
            got, index, calls = got + chunk.data, chunk.next_index, calls + 1
            if chunk.finished:
                break
        with pytest.raises(SdkError) as err:
            proc.media("no-such-file", "")
    assert got == blob and calls == 11
    assert err.value.code == 10005
    assert fake_archive.stats == "sdks=0 slices=0 media=0 destroyed=1"
