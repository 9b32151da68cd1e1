"""`wecom-hr doctor`'s archive checks against the stand-in SDK: it loads and answers, each private
key opens its own publickey_ver's message (a swapped key is caught), the chain key is set."""

from __future__ import annotations

from pathlib import Path

from storage.db import Database
from tests.archive.conftest import FakeArchive, message
from tests.helpers import base_config
from wecom_hr.config import settings_from_mapping
from wecom_hr.doctor import archive as doctor_archive
from wecom_hr.doctor.result import Probe
from wecom_hr.runtime import Runtime


def runtime_for(db: Database, fake: FakeArchive, keys: dict[int, str], sdk_path: str = "",
                **archive: object) -> Runtime:
    raw = base_config("http://127.0.0.1:9/cgi-bin", db.url,
                      archive={"sdk_path": sdk_path or fake.lib, "private_keys": {str(v): p for v, p in keys.items()},
                               "sdk_timeout_seconds": 5,
                               "call_timeout_seconds": 20.0, **archive})
    return Runtime(settings_from_mapping(raw, environ={}), db=db)


def lines(runtime: Runtime) -> dict[str, tuple[bool, str]]:
    try:
        return {c.key: (c.failed, c.message) for c in doctor_archive.finance_sdk(runtime, Probe())}
    finally:
        runtime.close()


def test_sdk_keys_and_chain_key_pass(db: Database, fake_archive: FakeArchive) -> None:
    fake_archive.add(message("m1", "你好"), version=1)
    found = lines(runtime_for(db, fake_archive, {1: fake_archive.key_files[1]}, chain_key="k" * 32))
    assert found["archive.sdk_path"][0] is False and "取回 1 条" in found["archive.sdk_path"][1]
    assert found["archive.private_keys.1"] == (False, "私钥与 publickey_ver 1 匹配（已试解一条消息）")
    assert found["archive.chain_key"][0] is False


def test_a_key_uploaded_under_the_wrong_version_is_caught(db: Database, fake_archive: FakeArchive,
                                                           tmp_path: Path) -> None:
    fake_archive.add(message("m1", "你好"), version=1)
    swapped = {1: fake_archive.key_files[2]}  # the operator put version 2's key under version 1
    found = lines(runtime_for(db, fake_archive, swapped))
    assert found["archive.private_keys.1"][0] is True and "不匹配" in found["archive.private_keys.1"][1]
    assert found["archive.chain_key"][0] is True


def test_an_unreadable_key_and_a_missing_library_are_named(db: Database, fake_archive: FakeArchive,
                                                           tmp_path: Path) -> None:
    bad = tmp_path / "not-a-key.pem"
    bad.write_text("-----BEGIN NOTHING-----\n")
    found = lines(runtime_for(db, fake_archive, {3: str(bad)}, chain_key="k" * 32))
    assert found["archive.private_keys.3"][0] is True and "无法读取" in found["archive.private_keys.3"][1]
    found = lines(runtime_for(db, fake_archive, {1: fake_archive.key_files[1]}, sdk_path=str(tmp_path / "nope.so")))
    assert found["archive.sdk_path"][0] is True and "无法加载" in found["archive.sdk_path"][1]
