"""Config: the public keys, environment overrides, and one clear line for a wrong key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from wecom_hr.config import ConfigError, load_settings, settings_from_mapping

GOOD = f"""
[wecom]
corp_id = "{TEST_CORP}"
agent_id = 1000002
secret = "app-secret"
token = "{TEST_TOKEN}"
encoding_aes_key = "{TEST_AES_KEY}"

[database]
url = "sqlite:///x.db"

[[api.tokens]]
token = "a-long-random-string-0001"
userid = "lisi"

[roles]
compliance = ["wangwu"]
hr = ["zhaoliu"]
finance = ["qianqi"]
admin = ["root"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_public_keys_load_with_defaults(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, GOOD), environ={})
    assert s.wecom.corp_id == TEST_CORP and s.wecom.agent_id == 1000002
    assert s.wecom.effective_contact_secret == "app-secret"  # falls back to the app secret
    assert s.wecom.api_base_url == "https://qyapi.weixin.qq.com/cgi-bin"
    assert s.redis_url == "" and s.database_url == "sqlite:///x.db"
    assert s.api_tokens[0].userid == "lisi"
    assert s.roles.of("wangwu") == {"compliance"} and s.roles.of("nobody") == frozenset()


def test_environment_overrides_secrets(tmp_path: Path) -> None:
    env = {"WECOM_HR_WECOM_SECRET": "from-env", "WECOM_HR_WECOM_CONTACT_SECRET": "contact-env",
           "WECOM_HR_DATABASE_URL": "postgresql+psycopg://u@h/db", "WECOM_HR_REDIS_URL": "redis://h:6379/1"}
    s = load_settings(write(tmp_path, GOOD), environ=env)
    assert (s.wecom.secret, s.wecom.contact_secret) == ("from-env", "contact-env")
    assert s.database_url.startswith("postgresql") and s.redis_url == "redis://h:6379/1"


def test_environment_sets_numbers_and_flags(tmp_path: Path) -> None:
    env = {"WECOM_HR_WORKER_POLL_SECONDS": "0.25", "WECOM_HR_WORKER_MAX_ATTEMPTS": "3",
           "WECOM_HR_WORKER_EMBEDDED": "false"}
    s = load_settings(write(tmp_path, GOOD), environ=env)
    assert (s.worker.poll_seconds, s.worker.max_attempts, s.worker.embedded) == (0.25, 3, False)
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, GOOD), environ={"WECOM_HR_WORKER_POLL_SECONDS": "soon"})
    assert info.value.key == "worker.poll_seconds"


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert load_settings(None, environ={"WECOM_HR_CONFIG": str(path)}).wecom.agent_id == 1000002


@pytest.mark.parametrize("edit,key", [
    (lambda t: t.replace('corp_id = "ww1436e0e65a779aee"\n', ""), "wecom.corp_id"),
    (lambda t: t.replace("agent_id = 1000002", 'agent_id = "abc"'), "wecom.agent_id"),
    (lambda t: t.replace(TEST_AES_KEY, "tooshort"), "wecom.encoding_aes_key"),
    (lambda t: t.replace('token = "a-long-random-string-0001"', 'token = "short"'), "api.tokens[0].token"),
    (lambda t: t.replace('"a-long-random-string-0001"', '"a-random-string-of-23ch"'), "api.tokens[0].token"),
    (lambda t: t.replace('"a-long-random-string-0001"', '"replace-with-a-long-random-string"'), "api.tokens[0].token"),
    (lambda t: t + '\n[archive]\nsdk_path = "/opt/wecom/libWeWorkFinanceSdk_C.so"\n', "wecom.archive_secret"),
    (lambda t: t.replace('admin = ["root"]', 'admin = "root"'), "roles.admin"),
    (lambda t: t + '\n[worker]\nmax_atempts = 3\n', "worker.max_atempts"),
])
def test_wrong_key_is_named(tmp_path: Path, edit, key: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, edit(GOOD)), environ={})
    assert info.value.key == key


def test_secrets_are_not_in_repr() -> None:
    s = settings_from_mapping({"wecom": {"corp_id": "c", "agent_id": 1, "secret": "TOPSECRET", "token": "TOKENX",
                                         "encoding_aes_key": TEST_AES_KEY}}, environ={})
    assert "TOPSECRET" not in repr(s) and "TOKENX" not in repr(s) and TEST_AES_KEY not in repr(s)


def test_cli_prints_one_line_for_a_bad_config(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('secret = "app-secret"\n', ""))
    proc = subprocess.run([sys.executable, "-m", "wecom_hr", "--config", str(path), "db", "upgrade"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "wecom-hr: config error: wecom.secret: is missing"
    assert "Traceback" not in proc.stderr


def test_config_example_is_valid_once_secrets_are_filled_in() -> None:
    """config.example.toml documents every section; it must stay loadable as features add keys."""
    import tomllib

    raw = tomllib.loads((Path(__file__).resolve().parents[2] / "config.example.toml").read_text(encoding="utf-8"))
    raw["wecom"].update(secret="s", token="t", encoding_aes_key=TEST_AES_KEY)
    with pytest.raises(ConfigError) as placeholder:  # the example's API token must be replaced first
        settings_from_mapping(raw, environ={})
    assert placeholder.value.key == "api.tokens[0].token"
    raw["api"]["tokens"][0]["token"] = "an-operator-generated-token-0001"
    settings = settings_from_mapping(raw, environ={})
    assert settings.wecom.api_base_url == "https://qyapi.weixin.qq.com/cgi-bin"
    assert settings.database_url == "sqlite:///wecom_hr.db" and settings.redis_url == ""


def test_the_example_token_placeholder_stops_start_up_with_one_line(tmp_path: Path) -> None:
    text = GOOD.replace('"a-long-random-string-0001"', '"replace-with-a-long-random-string"')
    proc = subprocess.run([sys.executable, "-m", "wecom_hr", "--config", str(write(tmp_path, text)), "db", "upgrade"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert "api.tokens[0].token" in line and "placeholder" in line

