"""联系方式外泄 end to end, role scoping of /api/v1/risk/alerts, and case status transitions."""

from __future__ import annotations

from datetime import timedelta

from storage import audit
from tests.risk.conftest import ADMIN, COMPLIANCE, RiskCorp, chat


def test_a_mobile_number_from_a_seller_raises_one_card_and_case(corp: RiskCorp) -> None:
    seller = corp.seller(0, 0)
    customer = corp.customers_of(seller)[0]
    corp.archive(chat(seller, customer, "以后直接打我手机 138 1234 5678 <b>别走公司</b>"))
    corp.archive(chat(seller, customer, "或者加我 vx: zhang_san88"))  # the same window: joins the case
    [alert] = corp.alerts(COMPLIANCE, kind="contact_diversion")
    assert (alert["rule"], alert["userid"], alert["external_userid"], alert["value"]) == (
        "联系方式外泄", seller, customer, 3)
    assert {e["shape"] for e in alert["evidence"]} == {"mobile", "wechat"}
    [card] = corp.cards_to(corp.manager(0))
    assert "138 1234 5678" in card["sub_title_text"] and len(card["sub_title_text"]) <= 110
    assert card["jump_list"][0]["url"].endswith("/context")


def test_a_customers_own_number_and_a_qr_code_after_words(corp: RiskCorp) -> None:
    seller = corp.seller(0, 0)
    customer = corp.customers_of(seller)[0]
    corp.archive(chat(customer, seller, "我电话 13912345678，到了打给我"))  # medium: no alert
    assert corp.alerts(COMPLIANCE) == []
    words = chat(seller, customer, "扫码加我微信，私下聊", corp.clock)
    image = chat(seller, customer, at=corp.clock + timedelta(seconds=20), msgtype="image")
    corp.archive(words)
    corp.archive(image)
    [alert] = corp.alerts(COMPLIANCE)
    assert any(e["shape"] == "qr_code" and e["msgid"] == image.msgid for e in alert["evidence"])


def _two_alerts(corp: RiskCorp) -> tuple[str, str]:
    first, second = corp.seller(0, 0), corp.seller(1, 0)
    for seller in (first, second):
        corp.archive(chat(seller, corp.customers_of(seller)[0], "手机 13812345678"))
    return first, second


def test_role_scoping_of_alerts(corp: RiskCorp) -> None:
    first, second = _two_alerts(corp)
    users = lambda rows: sorted(a["userid"] for a in rows)  # noqa: E731
    assert users(corp.alerts(COMPLIANCE)) == sorted([first, second])
    assert users(corp.alerts(ADMIN)) == sorted([first, second])
    assert users(corp.alerts(corp.manager(0))) == [first]
    assert users(corp.alerts(corp.manager(1))) == [second]
    assert corp.alerts(corp.manager(0), member=second) == []
    assert corp.alerts(first) == [] and corp.alerts(corp.hr) == []
    assert users(corp.alerts(COMPLIANCE, member=second, status="open", kind="contact_diversion")) == [second]
    assert corp.alerts(COMPLIANCE, status="dismissed") == []
    other_id = corp.alerts(COMPLIANCE, member=second)[0]["id"]
    assert corp.env.api("GET", f"/api/v1/risk/alerts/{other_id}", corp.manager(0)).status_code == 404
    assert corp.env.api("GET", "/api/v1/risk/alerts?status=bogus", COMPLIANCE).status_code == 400
    assert corp.env.client.get("/api/v1/risk/alerts").status_code == 401


def test_case_status_transitions_are_audited(corp: RiskCorp) -> None:
    first, _ = _two_alerts(corp)
    alert_id = corp.alerts(corp.manager(0))[0]["id"]
    post = lambda who, body: corp.env.api("POST", f"/api/v1/risk/alerts/{alert_id}/status", who, json=body)  # noqa: E731
    assert post(first, {"status": "dismissed"}).status_code == 404        # not theirs to judge
    assert post(corp.manager(1), {"status": "dismissed"}).status_code == 404
    assert post(COMPLIANCE, {"status": "closed"}).status_code == 400
    assert post(COMPLIANCE, {"status": "open", "note": "已约谈"}).status_code == 200  # a note on an open case
    done = post(corp.manager(0), {"status": "confirmed", "note": "核实为私下交易"})
    assert done.status_code == 200
    body = done.get_json()
    assert body["status"] == "confirmed"
    assert [(n["from"], n["to"], n["note"]) for n in body["notes"]] == [
        ("open", "open", "已约谈"), ("open", "confirmed", "核实为私下交易")]
    assert post(COMPLIANCE, {"status": "dismissed"}).status_code == 409   # closed cases stay closed
    assert corp.alerts(COMPLIANCE, status="confirmed")[0]["id"] == alert_id
    with corp.env.runtime.db.session_scope() as s:
        entries = audit.entries(s, action="risk_alert_status")
        assert [(e.actor, e.detail["to"]) for e in reversed(entries)] == [(COMPLIANCE, "open"),
                                                                          (corp.manager(0), "confirmed")]


def test_findings_of_one_batch_share_one_case(corp: RiskCorp) -> None:
    from wecom_hr.risk.cases import Finding, raise_alerts
    from wecom_hr.risk.rules import CONTACT_DIVERSION, for_signal
    from wecom_hr.risk.settings import from_settings

    seller = corp.seller(0, 0)
    customer = corp.customers_of(seller)[0]
    rule = for_signal(from_settings(corp.env.runtime.settings).rules, CONTACT_DIVERSION)[0]
    found = [Finding(rule, seller, customer, value, [{"msgid": f"m{value}"}]) for value in (2.0, 3.0)]
    with corp.env.runtime.db.session_scope() as s:
        opened, joined = raise_alerts(s, corp.env.runtime.settings, found, corp.clock)
        assert opened is not None and joined is None
        assert (opened.value, [e["msgid"] for e in opened.evidence]) == (3.0, ["m3.0", "m2.0"])
        assert raise_alerts(s, corp.env.runtime.settings, found[:1], corp.clock) == [None]  # the window's case
