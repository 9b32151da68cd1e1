"""[reminders] and [receivables]: the escalation policy and the ledger's options, validated at start-up.

    [reminders]
    timezone = "Asia/Shanghai"    # default: [server] timezone
    send_time = "09:00"           # a run before this local time sends nothing (a 07:00 catch-up waits)
    skip_weekends = false         # Saturday/Sunday runs send nothing; Monday picks the items up
    quiet_hours = ""              # e.g. "22:00-08:00": runs inside send nothing
    max_items = 10                # items listed in one digest; the rest are counted
    followup_due_days = 7         # a 30-day item still without a 跟进说明 this long after is marked
    [[reminders.tiers]]
    days = 30
    notify = "owner"              # owner | manager | finance, or a list of them
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wecom_hr.config import ConfigError, Settings, get

AUDIENCES = ("owner", "manager", "finance")
CSV_FIELDS = ("order_no", "external_userid", "customer_name", "salesperson", "amount", "currency",
              "issued_on", "due_on", "paid_amount", "customer_email")  # customer_email: optional (issue 17)
DEFAULT_TIERS = ({"days": 30, "notify": "owner"}, {"days": 60, "notify": "manager"},
                 {"days": 90, "notify": "finance"})


@dataclass(frozen=True)
class Tier:
    days: int
    notify: tuple[str, ...]
    collect: bool  # open a collection task per customer (the finance tier by default)


@dataclass(frozen=True)
class ReminderPolicy:
    tiers: tuple[Tier, ...]
    timezone: ZoneInfo
    send_time: time = time(9, 0)
    skip_weekends: bool = False
    quiet_hours: tuple[time, time] | None = None
    max_items: int = 10
    followup_due_days: int = 7

    @property
    def note_tier_days(self) -> int:
        """The tier that asks the owner for a 跟进说明 (the first owner tier; 30 by default)."""
        return next((t.days for t in self.tiers if "owner" in t.notify), self.tiers[0].days)

    @property
    def note_overdue_after(self) -> int:
        """Days overdue after which an item without any 跟进说明 is marked (30 + 7 by default)."""
        return self.note_tier_days + self.followup_due_days

    def local_today(self, now: datetime) -> date:
        return now.astimezone(self.timezone).date()

    def cutoff(self, tier: Tier, now: datetime) -> date:
        """Receivables due on or before this local date have reached the tier."""
        return self.local_today(now) - timedelta(days=tier.days)

    def hold_reason(self, now: datetime) -> str | None:
        """Why a run at ``now`` must not send (weekend, quiet hours, before send time), or None."""
        local = now.astimezone(self.timezone)
        if self.skip_weekends and local.weekday() >= 5:
            return "weekend"
        if self.quiet_hours and _within(local.time(), *self.quiet_hours):
            return "quiet hours"
        if local.time() < self.send_time:
            return f"before send time {self.send_time:%H:%M}"
        return None


@dataclass(frozen=True)
class LedgerOptions:
    default_currency: str = "CNY"
    csv_columns: Mapping[str, str] = field(default_factory=dict)  # our field -> header in the file
    company_name: str = ""
    contact: str = ""            # printed in dunning letters: who the customer should call
    letter_template: str = ""    # path to a string.Template file; empty: the built-in letter
    auto_send_letters: bool = False  # email a task's letter when the reminder run opens it ([email])


@dataclass(frozen=True)
class ReceivablesSettings:
    policy: ReminderPolicy
    ledger: LedgerOptions


def _within(t: time, start: time, end: time) -> bool:
    return start <= t < end if start <= end else t >= start or t < end


def _clock(value: str, key: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ConfigError(key, f"must be HH:MM, got {value!r}") from None


def _zone(name: str, key: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(key, f"unknown time zone {name!r}") from None


def _tier(item: Any, i: int) -> Tier:
    path = f"reminders.tiers[{i}]"
    if not isinstance(item, Mapping):
        raise ConfigError(path, "must be a table")
    days = get(item, path, "days", int)
    if days < 1:
        raise ConfigError(f"{path}.days", "must be at least 1")
    notify = item.get("notify", "owner")
    audiences = (notify,) if isinstance(notify, str) else notify
    if not isinstance(audiences, (list, tuple)) or not audiences or not all(a in AUDIENCES for a in audiences):
        raise ConfigError(f"{path}.notify", f"must be one of {', '.join(AUDIENCES)} (or a list of them)")
    collect = get(item, path, "collect", bool, "finance" in audiences)
    unknown = set(item) - {"days", "notify", "collect"}
    if unknown:
        raise ConfigError(f"{path}.{min(unknown)}", "is not a known key")
    return Tier(days, tuple(dict.fromkeys(audiences)), collect)


def _tiers(table: Mapping[str, Any]) -> tuple[Tier, ...]:
    items = table.get("tiers", list(DEFAULT_TIERS))
    if not isinstance(items, list) or not items:
        raise ConfigError("reminders.tiers", "must be a non-empty array of tables")
    tiers = tuple(_tier(item, i) for i, item in enumerate(items))
    if len({t.days for t in tiers}) != len(tiers):
        raise ConfigError("reminders.tiers", "two tiers have the same days")
    return tuple(sorted(tiers, key=lambda t: t.days))


def _quiet(value: str) -> tuple[time, time] | None:
    if not value:
        return None
    parts = value.split("-")
    if len(parts) != 2:
        raise ConfigError("reminders.quiet_hours", f"must be HH:MM-HH:MM, got {value!r}")
    return _clock(parts[0].strip(), "reminders.quiet_hours"), _clock(parts[1].strip(), "reminders.quiet_hours")


def policy_from(settings: Settings) -> ReminderPolicy:
    t = settings.section("reminders")
    known = {"tiers", "timezone", "send_time", "skip_weekends", "quiet_hours", "max_items", "followup_due_days"}
    unknown = set(t) - known
    if unknown:
        raise ConfigError(f"reminders.{min(unknown)}", "is not a known key")
    max_items = get(t, "reminders", "max_items", int, 10)
    if not 1 <= max_items <= 50:
        raise ConfigError("reminders.max_items", "must be 1..50")
    due_days = get(t, "reminders", "followup_due_days", int, 7)
    if not 1 <= due_days <= 365:
        raise ConfigError("reminders.followup_due_days", "must be 1..365")
    return ReminderPolicy(
        tiers=_tiers(t),
        timezone=_zone(get(t, "reminders", "timezone", str, settings.timezone), "reminders.timezone"),
        send_time=_clock(get(t, "reminders", "send_time", str, "09:00"), "reminders.send_time"),
        skip_weekends=get(t, "reminders", "skip_weekends", bool, False),
        quiet_hours=_quiet(get(t, "reminders", "quiet_hours", str, "")),
        max_items=max_items,
        followup_due_days=due_days,
    )


def ledger_from(settings: Settings) -> LedgerOptions:
    t = settings.section("receivables")
    unknown = set(t) - {"default_currency", "csv_columns", "company_name", "contact", "letter_template",
                        "auto_send_letters"}
    if unknown:
        raise ConfigError(f"receivables.{min(unknown)}", "is not a known key")
    columns = t.get("csv_columns", {})
    if not isinstance(columns, Mapping):
        raise ConfigError("receivables.csv_columns", "must be a table of field = \"header\"")
    for name, header in columns.items():
        if name not in CSV_FIELDS:
            raise ConfigError(f"receivables.csv_columns.{name}", f"is not a field; fields: {', '.join(CSV_FIELDS)}")
        if not isinstance(header, str) or not header.strip():
            raise ConfigError(f"receivables.csv_columns.{name}", "must be a non-empty header name")
    currency = get(t, "receivables", "default_currency", str, "CNY").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ConfigError("receivables.default_currency", "must be a 3-letter ISO 4217 code")
    return LedgerOptions(default_currency=currency, csv_columns=dict(columns),
                         company_name=get(t, "receivables", "company_name", str, ""),
                         contact=get(t, "receivables", "contact", str, ""),
                         letter_template=get(t, "receivables", "letter_template", str, ""),
                         auto_send_letters=get(t, "receivables", "auto_send_letters", bool, False))


def from_settings(settings: Settings) -> ReceivablesSettings:
    """Hooked into config.FEATURE_SETTINGS: a bad key stops start-up with the key's name."""
    return ReceivablesSettings(policy_from(settings), ledger_from(settings))
