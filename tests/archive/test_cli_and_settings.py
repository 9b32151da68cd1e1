"""`wecom-hr archive ...` against the stand-in SDK, and [archive] settings validation."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from storage.archive import ArchiveMessage
from storage.db import Database
from tests.archive.conftest import FakeArchive, message
from tests.helpers import base_config, merge
from wecom_hr.archive.settings import from_settings
from wecom_hr.config import ConfigError, settings_from_mapping


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        raise TypeError
    return json.dumps(value, ensure_ascii=False)


def _write_config(path: Path, raw: dict[str, Any]) -> str:
    lines: list[str] = []

    def table(prefix: str, data: dict[str, Any]) -> None:
        scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        lines.extend(f'"{k}" = {_toml(v)}' for k, v in scalars.items())
        for k, v in data.items():
            if isinstance(v, dict):
                table(f"{prefix}.{k}" if prefix else k, v)

    table("", raw)
    path.write_text("\n".join(lines), encoding="utf-8")
    tomllib.loads(path.read_text(encoding="utf-8"))  # the test's own TOML must be valid
    return str(path)


def _run(config: str, *args: str) -> Any:
    from wecom_hr.cli import _register, cli

    _register()
    return CliRunner().invoke(cli, ["--config", config, "archive", *args], catch_exceptions=False)


def test_pull_verify_search_and_export_from_the_command_line(db: Database, fake_archive: FakeArchive,
                                                             tmp_path: Path) -> None:
    fake_archive.add(message("m1", "您好，报价单已发"), version=1)
    fake_archive.add(message("m2", "你们有返点吗", sender="wmCustomer1", to=("zhangsan",)), version=1)
    fake_archive.add(message("m3", "返点可以谈，加我私人微信"), version=2)
    archive = {"sdk_path": fake_archive.lib, "private_keys": {"1": fake_archive.key_files[1]}}
    config = _write_config(tmp_path / "c.toml", base_config("http://127.0.0.1:9", db.url, archive=archive))

    pulled = json.loads(_run(config, "pull").stdout)
    assert (pulled["fetched"], pulled["appended"], pulled["nokey"], pulled["missing_key_versions"]) == (3, 2, 1, [2])
    assert _run(config, "decrypt-pending").exit_code == 1  # still no key 2: says so, fails

    keyed = dict(archive, private_keys={"1": fake_archive.key_files[1], "2": fake_archive.key_files[2]})
    config = _write_config(tmp_path / "c2.toml", base_config("http://127.0.0.1:9", db.url, archive=keyed))
    assert json.loads(_run(config, "decrypt-pending").stdout)["appended"] == 1

    found = _run(config, "search", "返点")
    assert found.stdout.splitlines()[0] == "2 messages (page 1, newest first)"
    assert "【返点】可以谈" in found.stdout and "[m3]" in found.stdout
    out = tmp_path / "hits.csv"
    assert "2 messages written" in _run(config, "search", "返点", "--csv", str(out)).output
    assert out.read_text(encoding="utf-8-sig").splitlines()[0].startswith("msgid,time,sender")

    assert _run(config, "verify").stdout.strip() == "archive chain intact: 3 messages"
    with db.engine.begin() as conn:
        conn.execute(update(ArchiveMessage).where(ArchiveMessage.msgid == "m2").values(text="没有返点"))
    broken = _run(config, "verify")
    assert broken.exit_code == 1 and "altered at position 2 (msgid m2)" in broken.output
    status = json.loads(_run(config, "status").stdout)
    assert status["envelopes"] == {"done": 3} and status["key_problems"] == {}


def _settings(archive: dict[str, Any]) -> Any:
    return settings_from_mapping(merge(base_config("http://127.0.0.1:9", "sqlite://"), {"archive": archive}),
                                 environ={})


@pytest.mark.parametrize(("archive", "key"), [
    ({"sdk_pth": "/x"}, "archive.sdk_pth"),
    ({"batch_size": 1001}, "archive.batch_size"),
    ({"private_keys": {"v3": "/k.pem"}}, "archive.private_keys.v3"),
    ({"private_keys": {"3": ""}}, "archive.private_keys.3"),
    ({"watch_rules": [{"name": "x", "regexes": ["("]}]}, "archive.watch_rules[0].regexes"),
    ({"watch_rules": [{"name": "x"}]}, "archive.watch_rules[0].keywords"),
    ({"watch_rules": [{"name": "x", "keywords": ["a"], "severity": "urgent"}]}, "archive.watch_rules[0].severity"),
    ({"watch_rules": [{"name": "x", "keywords": ["a"], "departments": ["2"]}]}, "archive.watch_rules[0].departments"),
    ({"alert_recipients": "compliance1"}, "archive.alert_recipients"),
])
def test_bad_archive_settings_name_the_key(archive: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        _settings(archive)
    assert err.value.key == key


def test_defaults_and_environment_overrides() -> None:
    settings = settings_from_mapping(
        merge(base_config("http://127.0.0.1:9", "sqlite://"),
              {"archive": {"sdk_path": "/opt/sdk.so", "private_keys": {"3": "/etc/k3.pem"}}}),
        environ={"WECOM_HR_ARCHIVE_CHAIN_KEY": "from-env", "WECOM_HR_ARCHIVE_BATCH_SIZE": "500"})
    archive = from_settings(settings)
    assert archive.enabled and archive.private_keys == {3: "/etc/k3.pem"}
    assert (archive.chain_key, archive.batch_size, archive.default_rules) == ("from-env", 500, True)
    assert "from-env" not in repr(archive)
