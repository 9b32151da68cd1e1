"""[risk] and [[risk.rules]] parsing; the scheduled pool signals (deletions) and /api/v1/risk/rules."""

from __future__ import annotations

from typing import Any

import pytest

from storage.db import utcnow
from tests.helpers import base_config
from tests.risk.conftest import COMPLIANCE, RiskCorp
from wecom_hr.config import ConfigError, settings_from_mapping
from wecom_hr.scheduler import run_job


def parse(risk: dict[str, Any]) -> Any:
    from wecom_hr.risk.settings import from_settings

    return from_settings(settings_from_mapping(base_config("http://127.0.0.1:1", "sqlite://", risk=risk), environ={}))


def test_defaults_and_overrides() -> None:
    rules = {r.name: r for r in parse({}).rules}
    off = rules["非分配客户跟进"]
    assert (off.op, off.threshold, off.window_days) == (">", 5, 7)
    assert rules["联系方式外泄"].threshold == 3 and rules["联系方式外泄"].evaluated
    assert not rules["跟进骤降"].evaluated and "pending" in rules["新客异常"].note
    mine = parse({"default_rules": False, "rules": [{"name": "x", "signal": "contact_diversion", "threshold": "medium",
                                                     "window_days": 2, "notify": ["compliance"]}]})
    assert [(r.name, r.threshold, r.notify) for r in mine.rules] == [("x", 2.0, ("compliance",))]


@pytest.mark.parametrize(("risk", "key"), [
    ({"ownership": "loudest"}, "risk.ownership"),
    ({"owner_mode": "x"}, "risk.owner_mode"),
    ({"rules": [{"name": "a", "signal": "gossip"}]}, "risk.rules[0].signal"),
    ({"rules": [{"name": "a", "signal": "off_assignment", "op": "~"}]}, "risk.rules[0].op"),
    ({"rules": [{"name": "a", "signal": "off_assignment", "notify": ["ceo"]}]}, "risk.rules[0].notify"),
    ({"rules": [{"name": "a", "signal": "off_assignment", "colour": "red"}]}, "risk.rules[0].colour"),
    ({"rules": [{"name": "a", "signal": "off_assignment", "window_days": 0}]}, "risk.rules[0].window_days"),
])
def test_bad_keys_are_named(risk: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(risk)
    assert err.value.key == key


def test_deletions_rule_runs_on_schedule(corp_factory) -> None:  # type: ignore[no-untyped-def]
    rule = {"name": "批量删客户", "signal": "deletions", "op": ">=", "threshold": 2, "window_days": 1,
            "notify": ["manager"]}
    corp: RiskCorp = corp_factory(config={"risk": {"rules": [rule]}})
    seller = corp.seller(0, 0)
    for ext in corp.customers_of(seller):
        corp.sim.scenario.member_deletes_customer(seller, ext)
    corp.env.drain()
    run_job(corp.env.runtime, "evaluate-risk-rules", utcnow())
    run_job(corp.env.runtime, "evaluate-risk-rules", utcnow())  # again: no second case
    [alert] = corp.alerts(COMPLIANCE, kind="deletions")
    assert (alert["userid"], alert["value"], len(alert["evidence"])) == (seller, 2, 2)
    assert len(corp.cards_to(corp.manager(0))) == 1


def test_rules_are_listed_for_reviewers_only(corp: RiskCorp) -> None:
    res = corp.env.api("GET", "/api/v1/risk/rules", COMPLIANCE)
    assert res.status_code == 200
    assert {r["name"]: r["evaluated"] for r in res.get_json()}["跟进骤降"] is False
    assert corp.env.api("GET", "/api/v1/risk/rules", corp.seller(0, 0)).status_code == 403


def test_churn_after_handover(corp_factory) -> None:  # type: ignore[no-untyped-def]
    rule = {"name": "交接后流失", "signal": "churn_after_handover", "op": ">=", "threshold": 1, "window_days": 30,
            "notify": ["compliance"]}
    corp: RiskCorp = corp_factory(config={"risk": {"rules": [rule]}})
    leaver, successor = corp.seller(0, 0), corp.seller(0, 1)
    ext = corp.customers_of(leaver)[0]
    corp.sim.scenario.add_customer(successor, ext, "老客户")
    corp.sim.scenario.member_deletes_customer(leaver, ext, by_transfer=True)
    corp.env.drain()
    corp.sim.scenario.customer_deletes_member(successor, ext)
    corp.env.drain()
    run_job(corp.env.runtime, "evaluate-risk-rules", utcnow())
    [alert] = corp.alerts(COMPLIANCE, kind="churn_after_handover")
    assert (alert["userid"], alert["external_userid"], alert["value"]) == (successor, ext, 1)


def test_ownership_is_read_from_the_customers_section() -> None:
    """[customers] ownership is the public key (issue 18); [risk] ownership is only an alias."""
    from wecom_hr.risk.settings import from_settings

    def settings_with(**sections: Any) -> Any:
        return from_settings(settings_from_mapping(base_config("http://127.0.0.1:1", "sqlite://", **sections),
                                                   environ={}))

    assert settings_with(customers={"ownership": "department"}).ownership == "department"
    assert settings_with(customers={"ownership": "department"}, risk={"ownership": "first_adder"}).ownership \
        == "department"
    with pytest.raises(ConfigError) as err:
        settings_with(customers={"ownership": "loudest"})
    assert err.value.key == "customers.ownership"
