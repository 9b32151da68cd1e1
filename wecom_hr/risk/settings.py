"""The [risk] section and its [[risk.rules]], parsed once at start-up so a wrong key stops the process.

    [risk]
    ownership = "first_adder"    # "first_adder" | "department" (see wecom_hr.risk.ownership)
    default_rules = true         # the four rules from the issue (two of them wait for the KPI module)
    qr_followup_seconds = 300    # an image this soon after diversion words counts as a QR code
    keep_days = 180              # counted contacts and hits are kept this long (longest window: 365)

``ownership`` is read from [customers] ownership (the public key), else from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wecom_hr.config import ConfigError, Settings, dataclass_from, get
from wecom_hr.risk.rules import CONFIDENCE, CONTACT_DIVERSION, OPS, RECIPIENTS, SEVERITIES, SIGNALS, RuleSpec, merged

OWNERSHIP_MODES = ("first_adder", "department")
RULE_KEYS = ("name", "signal", "op", "threshold", "window_days", "members", "departments", "severity", "notify")


@dataclass(frozen=True)
class _Scalars:
    ownership: str = "first_adder"
    default_rules: bool = True
    qr_followup_seconds: int = 300
    keep_days: int = 180


@dataclass(frozen=True)
class RiskSettings:
    ownership: str = "first_adder"
    qr_followup_seconds: int = 300
    keep_days: int = 180
    rules: tuple[RuleSpec, ...] = ()


def from_settings(settings: Settings) -> RiskSettings:
    table = dict(settings.section("risk"))
    raw_rules = table.pop("rules", [])
    s = dataclass_from(_Scalars, table, "risk")
    # The public key is [customers] ownership (issue 18); [risk] ownership is accepted too.
    customers = settings.section("customers")
    ownership, key = (customers["ownership"], "customers.ownership") if "ownership" in customers else \
        (s.ownership, "risk.ownership")
    if ownership not in OWNERSHIP_MODES:
        raise ConfigError(key, f"must be one of {', '.join(OWNERSHIP_MODES)}")
    if not 0 <= s.qr_followup_seconds <= 3600:
        raise ConfigError("risk.qr_followup_seconds", "must be 0..3600")
    if not 7 <= s.keep_days <= 3650:
        raise ConfigError("risk.keep_days", "must be 7..3650")
    if not isinstance(raw_rules, list):
        raise ConfigError("risk.rules", "must be an array of tables ([[risk.rules]])")
    configured = tuple(_rule(item, f"risk.rules[{i}]") for i, item in enumerate(raw_rules))
    names = [r.name for r in configured]
    if len(set(names)) != len(names):
        raise ConfigError("risk.rules", "two rules have the same name")
    return RiskSettings(str(ownership), s.qr_followup_seconds, s.keep_days, merged(configured, s.default_rules))


def _rule(item: Any, path: str) -> RuleSpec:
    if not isinstance(item, Mapping):
        raise ConfigError(path, "must be a table")
    unknown = sorted(set(item) - set(RULE_KEYS))
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}", "is not a known key")
    name = get(item, path, "name", str).strip()
    if not name or len(name) > 100:
        raise ConfigError(f"{path}.name", "must be 1..100 characters")
    signal = _choice(item, path, "signal", SIGNALS, None)
    op = _choice(item, path, "op", tuple(OPS), ">=")
    window = get(item, path, "window_days", int, 7)
    if not 1 <= window <= 365:
        raise ConfigError(f"{path}.window_days", "must be 1..365")
    return RuleSpec(name, signal, op, _threshold(item, path, signal), window, _strings(item, path, "members"),
                    _departments(item, path), _choice(item, path, "severity", SEVERITIES, "medium"),
                    _notify(item, path))


def _choice(item: Mapping[str, Any], path: str, key: str, allowed: tuple[str, ...], default: str | None) -> str:
    value = get(item, path, key, str) if default is None else get(item, path, key, str, default)
    if value not in allowed:
        raise ConfigError(f"{path}.{key}", f"must be one of {', '.join(allowed)}")
    return str(value)


def _threshold(item: Mapping[str, Any], path: str, signal: str) -> float:
    value = item.get("threshold", 1 if signal != CONTACT_DIVERSION else "high")
    if signal == CONTACT_DIVERSION and isinstance(value, str):
        if value not in CONFIDENCE:
            raise ConfigError(f"{path}.threshold", "must be a number or low | medium | high")
        return CONFIDENCE[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{path}.threshold", "must be a number")
    return float(value)


def _strings(item: Mapping[str, Any], path: str, key: str) -> tuple[str, ...]:
    value = item.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{path}.{key}", "must be a list of userids")
    return tuple(value)


def _departments(item: Mapping[str, Any], path: str) -> tuple[int, ...]:
    value = item.get("departments", [])
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ConfigError(f"{path}.departments", "must be a list of department ids")
    return tuple(value)


def _notify(item: Mapping[str, Any], path: str) -> tuple[str, ...]:
    value = item.get("notify", ["manager", "compliance"])
    if not isinstance(value, list) or not value or not all(v in RECIPIENTS for v in value):
        raise ConfigError(f"{path}.notify", f"must be a non-empty list of {', '.join(RECIPIENTS)}")
    return tuple(dict.fromkeys(value))
