"""off_assignment: a member messaging a customer owned by someone else, counted per (member, customer)
in a rolling window; 非分配客户跟进 fires above 5 contacts in 7 days, once per window."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage.risk import RiskContact
from tests.risk.conftest import COMPLIANCE, RiskCorp, chat


def test_alert_at_the_sixth_contact_not_the_fifth_and_only_once(corp: RiskCorp) -> None:
    owner, other = corp.seller(0, 0), corp.seller(0, 1)
    customer = corp.customers_of(owner)[0]
    corp.contacts(other, customer, 5)
    assert corp.alerts(COMPLIANCE) == []
    assert corp.cards_to(corp.manager(0)) == []

    corp.contacts(other, customer, 1)
    alerts = corp.alerts(COMPLIANCE)
    assert len(alerts) == 1
    alert = alerts[0]
    assert set(alert) == {"id", "rule", "kind", "userid", "external_userid", "value", "threshold", "window_days",
                          "evidence", "status", "created_at"}
    assert (alert["rule"], alert["kind"], alert["userid"], alert["external_userid"]) == (
        "非分配客户跟进", "off_assignment", other, customer)
    assert (alert["value"], alert["threshold"], alert["window_days"], alert["status"]) == (6, 5, 7, "open")
    assert len(alert["evidence"]) == 6 and all(e["owner"] == owner for e in alert["evidence"])
    assert alert["evidence"][0]["context_url"].endswith(f"/api/v1/archive/messages/{alert['evidence'][0]['msgid']}"
                                                        "/context")
    cards = corp.cards_to(corp.manager(0))
    assert len(cards) == 1 and cards == corp.cards_to(COMPLIANCE)
    assert cards[0]["card_type"] == "text_notice" and "非分配客户跟进" in cards[0]["main_title"]["title"]

    corp.contacts(other, customer, 3)  # the 7th..9th contact in the same window: the case grows, no new card
    assert len(corp.alerts(COMPLIANCE)) == 1
    assert len(corp.cards_to(corp.manager(0))) == 1


def test_contacts_outside_the_window_do_not_count(corp: RiskCorp) -> None:
    owner, other = corp.seller(0, 0), corp.seller(0, 1)
    customer = corp.customers_of(owner)[0]
    corp.clock -= timedelta(days=10)
    corp.contacts(other, customer, 3)
    corp.clock += timedelta(days=10)
    corp.contacts(other, customer, 3)
    assert corp.alerts(COMPLIANCE) == []


def test_the_owner_group_chats_and_customers_replies_are_not_counted(corp: RiskCorp) -> None:
    owner, other = corp.seller(0, 0), corp.seller(0, 1)
    customer = corp.customers_of(owner)[0]
    corp.archive(*[chat(owner, customer, "跟进") for _ in range(8)])
    corp.archive(*[chat(other, customer, "群里说一句", roomid="wr-room-1") for _ in range(8)])
    corp.archive(*[chat(customer, other, "好的") for _ in range(8)])
    with corp.env.runtime.db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(RiskContact)) == 0
    assert corp.alerts(COMPLIANCE) == []


def test_a_message_archived_twice_counts_once(corp: RiskCorp) -> None:
    owner, other = corp.seller(0, 0), corp.seller(0, 1)
    customer = corp.customers_of(owner)[0]
    batch = [chat(other, customer, f"第{i}次") for i in range(5)]
    corp.archive(*batch)
    corp.archive(*batch)  # a re-run pull hands the same messages again
    assert corp.alerts(COMPLIANCE) == []


def test_rule_members_limit_who_is_watched(corp_factory) -> None:  # type: ignore[no-untyped-def]
    rule = {"name": "非分配客户跟进", "signal": "off_assignment", "op": ">", "threshold": 5, "window_days": 7,
            "members": ["nobody"], "severity": "medium", "notify": ["compliance"]}
    corp = corp_factory(config={"risk": {"rules": [rule]}})
    owner, other = corp.seller(0, 0), corp.seller(0, 1)
    corp.contacts(other, corp.customers_of(owner)[0], 7)
    assert corp.alerts(COMPLIANCE) == []
