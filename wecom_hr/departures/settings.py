"""The [departures] section, parsed at start-up so a wrong key stops the process early.

    [departures]
    approval_template_id = ""        # a WeCom approval template (离职申请) whose approval starts a departure; "" = off
    auto_start_on_leave = true       # change_contact delete_user for a member with customers starts one
    transfer_on_approval = true      # request the transfers right after the approval commits (else: the job)
    transfer_success_msg = "..."     # sent to customers by on-job transfers; {member} and {successor} are filled in
    max_attempts = 5                 # runs that may hit a transient WeCom error before a batch is reported failed
    briefing_max_customers = 20      # customers named in one successor briefing; the rest are counted

The schedules are the jobs' own: [jobs.transfer-departures] and [jobs.follow-up-departures].
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from wecom_hr.config import ConfigError, Settings, dataclass_from

DEFAULT_SUCCESS_MSG = "您好，{member}的工作已交接，后续将由{successor}继续为您服务。"


@dataclass(frozen=True)
class DepartureSettings:
    approval_template_id: str = ""
    auto_start_on_leave: bool = True
    transfer_on_approval: bool = True
    transfer_success_msg: str = DEFAULT_SUCCESS_MSG
    max_attempts: int = 5
    briefing_max_customers: int = 20


def from_settings(settings: Settings) -> DepartureSettings:
    out = dataclass_from(DepartureSettings, settings.section("departures"), "departures")
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


def local_today(settings: Settings, now: datetime) -> date:
    """The date in the company's timezone ([server] timezone): last days are local dates."""
    return now.astimezone(ZoneInfo(settings.timezone)).date()
