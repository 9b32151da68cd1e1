"""The [customers] section, parsed once at start-up so a wrong key stops the process early.

    [customers]
    deletion_alerts = "immediate"   # member deleted a customer -> their manager: "immediate" | "digest"
    churn_alerts = "immediate"      # customer deleted a member -> member + manager: "immediate" | "digest"
    risk_threshold_per_day = 5      # deletions by one member in one day that alert compliance (0: off)
    immediate_limit_per_hour = 10   # immediate alerts per recipient per hour; the rest go to the digest
    resync_concurrency = 4          # parallel batch/get_by_user walks during a full resync
    resync_calls_per_minute = 6000  # our share of WeCom's 10,000 calls/min per API
    ownership = "first_adder"       # 客户归属: "first_adder" | "department" (wecom_hr.risk.ownership)

The schedules are the jobs' own: [jobs.resync-customers] and [jobs.send-customer-alert-digest].
"""

from __future__ import annotations

from dataclasses import dataclass

from wecom_hr.config import ConfigError, Settings, dataclass_from

MODES = ("immediate", "digest")


@dataclass(frozen=True)
class CustomerSettings:
    deletion_alerts: str = "immediate"
    churn_alerts: str = "immediate"
    risk_threshold_per_day: int = 5
    immediate_limit_per_hour: int = 10
    resync_concurrency: int = 4
    resync_calls_per_minute: int = 6000
    ownership: str = "first_adder"


def from_settings(settings: Settings) -> CustomerSettings:
    out = dataclass_from(CustomerSettings, settings.section("customers"), "customers")
    _check(out)
    return out


def _check(s: CustomerSettings) -> None:
    for key in ("deletion_alerts", "churn_alerts"):
        if getattr(s, key) not in MODES:
            raise ConfigError(f"customers.{key}", f"must be one of {', '.join(MODES)}")
    if s.risk_threshold_per_day < 0:
        raise ConfigError("customers.risk_threshold_per_day", "must be 0 (off) or more")
    if s.immediate_limit_per_hour < 1:
        raise ConfigError("customers.immediate_limit_per_hour", "must be at least 1")
    if not 1 <= s.resync_concurrency <= 32:
        raise ConfigError("customers.resync_concurrency", "must be 1..32")
    if not 1 <= s.resync_calls_per_minute <= 10000:
        raise ConfigError("customers.resync_calls_per_minute", "must be 1..10000 (WeCom's per-API limit)")
