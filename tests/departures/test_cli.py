"""`wecom-hr departure start|show|list` against the simulator and the test database."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.departures.conftest import Corp
from wecom_hr.cli import _register, cli


def _config(corp: Corp, tmp_path: Path) -> Path:
    w, path = corp.env.settings.wecom, tmp_path / "config.toml"
    path.write_text(f"""
[wecom]
corp_id = "{w.corp_id}"
agent_id = {w.agent_id}
secret = "{w.secret}"
contact_secret = "{w.contact_secret}"
token = "{w.token}"
encoding_aes_key = "{w.encoding_aes_key}"
api_base_url = "{w.api_base_url}"

[database]
url = "{corp.env.settings.database_url}"

[roles]
hr = ["{corp.hr}"]
""", encoding="utf-8")
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
