"""[archive] settings, validated once at start-up; a bad key raises ConfigError naming it.

    [archive]
    sdk_path = "/opt/wecom/libWeWorkFinanceSdk_C.so"   # empty: the archive is not pulled
    retention_days = 0                                  # 0: keep forever; else purge older messages daily
    [archive.private_keys]                              # publickey_ver = PEM file of the private key
    3 = "/etc/wecom-hr/archive_v3.pem"
    [[archive.watch_rules]]
    name = "私下交易"  keywords = ["私下交易"]  regexes = []  members = []  departments = []  severity = "high"
    [archive.legal_hold]                                # never purged: their chats (and their group chats)
    members = ["zhangsan"]  customers = ["wmXXXX"]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import re2

from wecom_hr.config import ConfigError, Settings, get

SEVERITIES = ("low", "medium", "high")
MAX_PATTERN_CHARS = 500  # a watch-list regex longer than this is refused
_KNOWN = {"sdk_path", "private_keys", "batch_size", "sdk_timeout_seconds", "call_timeout_seconds", "proxy",
          "proxy_password", "chain_key", "media_dir", "media_max_bytes", "media_per_run", "alert_recipients",
          "default_rules", "watch_rules", "decrypt_batch", "retention_days", "legal_hold",
          "alert_after_minutes"}


@dataclass(frozen=True)
class WatchRuleSpec:
    name: str
    keywords: tuple[str, ...] = ()
    regexes: tuple[str, ...] = ()
    members: tuple[str, ...] = ()          # empty: everyone
    departments: tuple[int, ...] = ()      # a department includes its sub-departments
    severity: str = "high"
    enabled: bool = True


@dataclass(frozen=True)
class ArchiveSettings:
    sdk_path: str = ""
    private_keys: Mapping[int, str] = field(default_factory=dict)
    batch_size: int = 1000                 # GetChatData limit (WeCom allows at most 1000)
    decrypt_batch: int = 1000              # envelopes decrypted and appended per transaction
    sdk_timeout_seconds: int = 30          # the timeout passed to GetChatData / GetMediaData
    call_timeout_seconds: float = 120.0    # we kill the SDK process when a call takes longer
    proxy: str = ""
    proxy_password: str = ""
    chain_key: str = ""                    # HMAC key for the hash chain (set once; keep it out of the DB)
    media_dir: str = ""                    # empty: media is not downloaded
    media_max_bytes: int = 200 * 2**20
    media_per_run: int = 50
    alert_recipients: tuple[str, ...] = ()  # empty: the [roles] compliance members
    default_rules: bool = True
    watch_rules: tuple[WatchRuleSpec, ...] = ()
    retention_days: int = 0                # 0: keep forever
    hold_members: tuple[str, ...] = ()     # [archive.legal_hold] members
    hold_customers: tuple[str, ...] = ()   # [archive.legal_hold] customers
    alert_after_minutes: int = 30          # compliance hears of an outage after this long without a pull

    @property
    def enabled(self) -> bool:
        return bool(self.sdk_path)

    def __repr__(self) -> str:  # proxy password and chain key never reach logs
        return f"ArchiveSettings(sdk_path={self.sdk_path!r}, key_versions={sorted(self.private_keys)})"


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(key, "must be a list of strings")
    return tuple(value)


def compile_pattern(pattern: str) -> Any:
    """A watch-list regex, case-insensitive, compiled with RE2: matching is linear in the text, so a
    pattern like ``(a+)+$`` cannot hang the archive pull. Raises ``re2.error`` if RE2 cannot run it."""
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    return re2.compile(pattern, options)


def _check_pattern(pattern: str, key: str) -> None:
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ConfigError(key, f"a regular expression must be at most {MAX_PATTERN_CHARS} characters")
    try:
        compile_pattern(pattern)
    except re2.error as exc:
        try:
            re.compile(pattern)
        except re.error as bad:
            raise ConfigError(key, f"{pattern!r} is not a valid regular expression ({bad})") from None
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ConfigError(key, f"{pattern!r} uses a construct the linear-time engine does not support "
                               f"(backreference/lookaround): {reason}") from None


def watch_rule(table: Mapping[str, Any], path: str) -> WatchRuleSpec:
    """Validate one rule (from config or the API); errors name ``path.key``."""
    if not isinstance(table, Mapping):
        raise ConfigError(path, "must be a table")
    unknown = set(table) - {"name", "keywords", "regexes", "members", "departments", "severity", "enabled"}
    if unknown:
        raise ConfigError(f"{path}.{min(unknown)}", "is not a known key")
    name = get(table, path, "name", str)
    if not name.strip():
        raise ConfigError(f"{path}.name", "must not be empty")
    keywords = _str_list(table.get("keywords", []), f"{path}.keywords")
    regexes = _str_list(table.get("regexes", []), f"{path}.regexes")
    for pattern in regexes:
        _check_pattern(pattern, f"{path}.regexes")
    if not any(k.strip() for k in keywords) and not regexes:
        raise ConfigError(f"{path}.keywords", "a rule needs at least one keyword or regex")
    departments = table.get("departments", [])
    if not isinstance(departments, list) or not all(isinstance(d, int) and not isinstance(d, bool)
                                                    for d in departments):
        raise ConfigError(f"{path}.departments", "must be a list of department ids")
    severity = get(table, path, "severity", str, "high")
    if severity not in SEVERITIES:
        raise ConfigError(f"{path}.severity", f"must be one of {', '.join(SEVERITIES)}")
    return WatchRuleSpec(name.strip(), tuple(k for k in keywords if k.strip()), regexes,
                         _str_list(table.get("members", []), f"{path}.members"), tuple(departments), severity,
                         get(table, path, "enabled", bool, True))


def _private_keys(value: Any) -> dict[int, str]:
    if not isinstance(value, Mapping):
        raise ConfigError("archive.private_keys", "must be a table of publickey_ver = PEM path")
    keys = {}
    for ver, path in value.items():
        if not str(ver).isdigit():
            raise ConfigError(f"archive.private_keys.{ver}", "the key must be a publickey_ver number")
        if not isinstance(path, str) or not path:
            raise ConfigError(f"archive.private_keys.{ver}", "must be the path of a PEM file")
        keys[int(ver)] = path
    return keys


def _legal_hold(value: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise ConfigError("archive.legal_hold", "must be a table with members and customers")
    unknown = set(value) - {"members", "customers"}
    if unknown:
        raise ConfigError(f"archive.legal_hold.{min(unknown)}", "is not a known key")
    members = _str_list(value.get("members", []), "archive.legal_hold.members")
    customers = _str_list(value.get("customers", []), "archive.legal_hold.customers")
    return tuple(m for m in members if m.strip()), tuple(c for c in customers if c.strip())


def from_settings(settings: Settings) -> ArchiveSettings:
    t = settings.section("archive")
    unknown = set(t) - _KNOWN
    if unknown:
        raise ConfigError(f"archive.{min(unknown)}", "is not a known key")
    d = ArchiveSettings()
    rules = t.get("watch_rules", [])
    if not isinstance(rules, list):
        raise ConfigError("archive.watch_rules", "must be an array of tables ([[archive.watch_rules]])")
    specs = tuple(watch_rule(r, f"archive.watch_rules[{i}]") for i, r in enumerate(rules))
    if len({s.name for s in specs}) != len(specs):
        raise ConfigError("archive.watch_rules", "rule names must be unique")
    values: dict[str, Any] = {
        name: get(t, "archive", name, type(getattr(d, name)), getattr(d, name))
        for name in ("sdk_path", "batch_size", "decrypt_batch", "sdk_timeout_seconds", "call_timeout_seconds",
                     "proxy", "proxy_password", "chain_key", "media_dir", "media_max_bytes", "media_per_run",
                     "default_rules", "retention_days", "alert_after_minutes")
    }
    if values["retention_days"] < 0:
        raise ConfigError("archive.retention_days", "must be 0 (keep forever) or a number of days")
    if not 1 <= values["batch_size"] <= 1000:
        raise ConfigError("archive.batch_size", "must be between 1 and 1000 (the SDK's limit)")
    for name in ("decrypt_batch", "sdk_timeout_seconds", "media_per_run", "alert_after_minutes"):
        if values[name] < 1:
            raise ConfigError(f"archive.{name}", "must be at least 1")
    # GetChatData makes two HTTPS requests (token, then data), each allowed sdk_timeout_seconds: a shorter
    # call timeout kills a slow but healthy SDK call.
    least = 2 * values["sdk_timeout_seconds"] + 10
    if values["call_timeout_seconds"] < least:
        raise ConfigError("archive.call_timeout_seconds", f"must be at least 2 × sdk_timeout_seconds + 10 = {least} "
                          "(GetChatData makes two HTTPS requests, each may take sdk_timeout_seconds)")
    if values["sdk_path"] and not settings.wecom.archive_secret:
        # The archive has its own secret (管理工具 → 会话内容存档); the app secret never opens it, and a
        # fallback only shows up later as the SDK's opaque "network error".
        raise ConfigError("wecom.archive_secret", "is required when archive.sdk_path is set "
                          "(会话内容存档的 Secret；不能用应用的 secret 代替)")
    hold_members, hold_customers = _legal_hold(t.get("legal_hold", {}))
    return ArchiveSettings(private_keys=_private_keys(t.get("private_keys", {})),
                           hold_members=hold_members, hold_customers=hold_customers,
                           alert_recipients=_str_list(t.get("alert_recipients", []), "archive.alert_recipients"),
                           watch_rules=specs, **values)
