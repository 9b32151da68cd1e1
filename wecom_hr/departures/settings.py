"""The [departures] section, parsed at start-up so a wrong key stops the process early.

    [departures]
    approval_template_id = ""        # a WeCom approval template (离职申请) whose approval starts a departure; "" = off
    auto_start_on_leave = true       # change_contact delete_user for a member with customers starts one
    transfer_on_approval = true      # request the transfers right after the approval commits (else: the job)
    transfer_success_msg = "..."     # sent to customers by on-job transfers; {member} and {successor} are filled in
    max_attempts = 5                 # runs that may hit a transient WeCom error before a batch is reported failed
    briefing_max_customers = 20      # customers named in one successor briefing; the rest are counted
    assets = ["电脑", "手机", "样品", "门禁卡"]   # the hr sign-off's checklist; HR may add items per departure

    [[departures.signoffs]]          # the handover checklist (标准化交接清单); defaults: manager, finance, hr
    key = "finance"                  # [a-z][a-z0-9_]*, unique
    title = "应收账款确认"
    role = "finance"                 # who signs: manager (the card's approvers) | finance | hr | admin | compliance
    card = true                      # also a WeCom card to the role's members (else: the console only)
    checklist = false                # items to tick before signing: `assets` plus per-departure items

The schedules are the jobs' own: [jobs.transfer-departures] and [jobs.follow-up-departures].
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from wecom_hr.config import ConfigError, Settings, dataclass_from, get

DEFAULT_SUCCESS_MSG = "您好，{member}的工作已交接，后续将由{successor}继续为您服务。"
DEFAULT_ASSETS = ("电脑", "手机", "样品", "门禁卡")
SIGNOFF_ROLES = ("manager", "finance", "hr", "admin", "compliance")
SIGNOFF_KEY = re.compile(r"[a-z][a-z0-9_]{0,31}")


@dataclass(frozen=True)
class SignoffStep:
    """One step of the handover checklist; role "manager" is signed by the approval itself."""
    key: str
    title: str
    role: str
    card: bool = False
    checklist: bool = False


DEFAULT_SIGNOFFS = (
    SignoffStep("manager", "客户与接替人确认", "manager"),
    SignoffStep("finance", "应收账款确认", "finance", card=True),
    SignoffStep("hr", "资产归还", "hr", checklist=True),
)


@dataclass(frozen=True)
class DepartureSettings:
    approval_template_id: str = ""
    auto_start_on_leave: bool = True
    transfer_on_approval: bool = True
    transfer_success_msg: str = DEFAULT_SUCCESS_MSG
    max_attempts: int = 5
    briefing_max_customers: int = 20
    assets: tuple[str, ...] = DEFAULT_ASSETS
    signoffs: tuple[SignoffStep, ...] = field(default=DEFAULT_SIGNOFFS)


def from_settings(settings: Settings) -> DepartureSettings:
    table = settings.section("departures")
    plain = {k: v for k, v in table.items() if k not in ("assets", "signoffs", "exit_reasons")}
    out = dataclass_from(DepartureSettings, plain, "departures")
    out = replace(out, assets=_assets(table), signoffs=_signoffs(table.get("signoffs", DEFAULT_SIGNOFFS)))
    if not 1 <= out.max_attempts <= 50:
        raise ConfigError("departures.max_attempts", "must be 1..50")
    if not 1 <= out.briefing_max_customers <= 100:
        raise ConfigError("departures.briefing_max_customers", "must be 1..100")
    if len(out.transfer_success_msg) > 200:
        raise ConfigError("departures.transfer_success_msg", "WeCom allows at most 200 characters")
    try:
        out.transfer_success_msg.format(member="", successor="")
    except (KeyError, IndexError, ValueError):
        raise ConfigError("departures.transfer_success_msg", "may use only {member} and {successor}") from None
    return out


def _assets(table: Mapping[str, Any]) -> tuple[str, ...]:
    raw = table.get("assets", list(DEFAULT_ASSETS))
    if not isinstance(raw, list) or not all(isinstance(a, str) and 0 < len(a.strip()) <= 64 for a in raw):
        raise ConfigError("departures.assets", "must be a list of names of 1..64 characters")
    return tuple(dict.fromkeys(a.strip() for a in raw))


def _signoffs(raw: Any) -> tuple[SignoffStep, ...]:
    """[[departures.signoffs]]; an empty list leaves only the approval (no finance or hr step)."""
    if isinstance(raw, tuple):
        return raw
    if not isinstance(raw, list):
        raise ConfigError("departures.signoffs", "must be an array of tables")
    defaults = {d.key: d for d in DEFAULT_SIGNOFFS}
    steps: list[SignoffStep] = []
    for i, entry in enumerate(raw):
        path = f"departures.signoffs[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(path, "must be a table")
        unknown = set(entry) - {"key", "title", "role", "card", "checklist"}
        if unknown:
            raise ConfigError(f"{path}.{sorted(unknown)[0]}", "is not a known key")
        key = get(entry, path, "key", str)
        base = defaults.get(key, SignoffStep(key, "", ""))
        step = SignoffStep(key, get(entry, path, "title", str, base.title), get(entry, path, "role", str, base.role),
                           get(entry, path, "card", bool, base.card),
                           get(entry, path, "checklist", bool, base.checklist))
        if not SIGNOFF_KEY.fullmatch(step.key) or any(s.key == step.key for s in steps):
            raise ConfigError(f"{path}.key", "must be a unique name of a-z, 0-9 and _")
        if step.role not in SIGNOFF_ROLES:
            raise ConfigError(f"{path}.role", f"must be one of {', '.join(SIGNOFF_ROLES)}")
        if not step.title.strip() or len(step.title) > 40:
            raise ConfigError(f"{path}.title", "must be 1..40 characters")
        steps.append(step)
    if not any(s.role == "manager" for s in steps):
        steps.insert(0, DEFAULT_SIGNOFFS[0])  # the approval is always a step
    return tuple(steps)


def local_today(settings: Settings, now: datetime) -> date:
    """The date in the company's timezone ([server] timezone): last days are local dates."""
    return now.astimezone(ZoneInfo(settings.timezone)).date()
