"""删人/流失提醒 observed as messages WeCom accepted: immediate, capped, digests, and the risk alert."""

from __future__ import annotations

from tests.customers.conftest import COMPLIANCE, Corp
from wecom_hr.scheduler import run_job

DIGEST_JOB = "send-customer-alert-digest"


def added(corp: Corp, userid: str, count: int, prefix: str = "wmA") -> list[str]:
    exts = [f"{prefix}{userid}{i}" for i in range(count)]
    for i, ext in enumerate(exts):
        corp.sim.scenario.add_customer(userid, ext, f"客户{i}", corp_name=f"公司{i}")
    corp.env.drain()
    return exts


def delete_all(corp: Corp, userid: str, exts: list[str]) -> None:
    for ext in exts:
        corp.sim.scenario.member_deletes_customer(userid, ext)
    corp.env.drain()


def test_digest_mode_sends_one_message_per_recipient(corp_factory) -> None:  # type: ignore[no-untyped-def]
    corp: Corp = corp_factory(config={"customers": {"deletion_alerts": "digest", "churn_alerts": "digest"}})
    a, b, manager = corp.seller(0, 0), corp.seller(0, 1), corp.manager(0)
    delete_all(corp, a, added(corp, a, 3))
    delete_all(corp, b, added(corp, b, 1))
    [churned] = added(corp, b, 1, prefix="wmC")
    corp.sim.scenario.customer_deletes_member(b, churned)
    corp.env.drain()
    assert corp.sim.sent_messages == []
    result = run_job(corp.env.runtime, DIGEST_JOB)
    assert result == {"digests": 2, "alerts": 6}
    [digest] = corp.messages_to(manager)
    assert "客户变动汇总" in digest and "成员删除客户 4 位" in digest and "客户删除成员 1 位" in digest
    assert "客户0（公司0）、客户1（公司1）、客户2（公司2）" in digest
    [notice] = corp.messages_to(b)
    assert "> 你：客户0（公司0）" in notice
    assert run_job(corp.env.runtime, DIGEST_JOB) == {"digests": 0, "alerts": 0}
    assert len(corp.sim.sent_messages) == 2


def test_immediate_alerts_are_capped_per_hour_and_the_rest_wait_for_the_digest(corp_factory) -> None:  # type: ignore[no-untyped-def]
    corp: Corp = corp_factory(config={"customers": {"immediate_limit_per_hour": 2, "risk_threshold_per_day": 0}})
    a, manager = corp.seller(1, 0), corp.manager(1)
    delete_all(corp, a, added(corp, a, 4))
    immediate = corp.messages_to(manager)
    assert len(immediate) == 2 and all("删除客户提醒" in m for m in immediate)
    run_job(corp.env.runtime, DIGEST_JOB)
    digest = corp.messages_to(manager)[-1]
    assert "成员删除客户 2 位" in digest and "客户2" in digest and "客户3" in digest


def test_many_deletions_in_a_day_raise_one_risk_alert_to_compliance(corp_factory) -> None:  # type: ignore[no-untyped-def]
    corp: Corp = corp_factory(config={"customers": {"risk_threshold_per_day": 3}})
    a, b = corp.seller(2, 0), corp.seller(2, 1)
    exts = added(corp, a, 4)
    delete_all(corp, a, exts[:2])
    delete_all(corp, b, added(corp, b, 2))  # another member's deletions do not count for a
    assert corp.messages_to(COMPLIANCE) == []
    delete_all(corp, a, exts[2:])
    [risk] = corp.messages_to(COMPLIANCE)
    assert "风险提醒" in risk and "已删除客户：3 位（阈值 3）" in risk


def test_transfers_never_alert_or_count_as_deletions(corp_factory) -> None:  # type: ignore[no-untyped-def]
    corp: Corp = corp_factory(config={"customers": {"risk_threshold_per_day": 1}})
    a = corp.seller(0, 0)
    for ext in added(corp, a, 2):
        corp.sim.scenario.member_deletes_customer(a, ext, by_transfer=True)
    corp.env.drain()
    assert corp.sim.sent_messages == []


def test_settings_are_checked_at_start_up() -> None:
    import pytest

    from tests.helpers import base_config
    from wecom_hr.config import ConfigError, settings_from_mapping

    for bad in ({"deletion_alerts": "hourly"}, {"resync_concurrency": 0}, {"surprise": 1},
                {"resync_calls_per_minute": 20000}):
        with pytest.raises(ConfigError, match="customers."):
            settings_from_mapping(base_config("http://127.0.0.1:9", "sqlite://", customers=bad), environ={})
    from wecom_hr.customers.settings import from_settings

    ok = settings_from_mapping(base_config("http://127.0.0.1:9", "sqlite://"), environ={})
    assert from_settings(ok).deletion_alerts == "immediate"
