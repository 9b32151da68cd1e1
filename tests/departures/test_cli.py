"""`wecom-hr departure start|show|list` against the simulator and the test database."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.departures.conftest import Corp
from tests.helpers import config_toml
from wecom_hr.cli import _register, cli


def _config(corp: Corp, tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(config_toml(corp.env.settings.wecom.api_base_url, corp.env.settings.database_url,
                                f'[roles]\nhr = ["{corp.hr}"]\n'), encoding="utf-8")
    return path


def test_start_show_and_list(corp: Corp, tmp_path: Path) -> None:
    _register()
    cfg = _config(corp, tmp_path)

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
        return result.exit_code, result.output

    code, out = run("departure", "start", corp.seller(), "--last-day", "2030-01-31", "--note", "合同到期")
    assert code == 0, out
    started = json.loads(out)
    assert started["state"] == "pending_approval" and started["last_day"] == "2030-01-31"
    assert corp.cards(started["id"])  # delivered by the command itself
    code, out = run("departure", "show", str(started["id"]))
    assert code == 0 and json.loads(out)["customers"]["total"] == 3
    code, out = run("departure", "list")
    assert code == 0 and corp.seller() in out and "pending_approval" in out
    code, out = run("departure", "start", corp.seller())
    assert code != 0 and "already has an open departure" in out
    code, out = run("departure", "show", "999999")
    assert code != 0 and "no departure 999999" in out
