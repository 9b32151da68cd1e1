"""客户归属: first adder by default; PUT /api/v1/customers/<id>/owner by managers (their team) and
admins, audited and in the customer's history; handovers move it; off_assignment follows it."""

from __future__ import annotations

from typing import Any

from storage import audit
from storage.customers import history_of
from storage.risk import owner_changes
from tests.risk.conftest import ADMIN, COMPLIANCE, RiskCorp
from wecom_hr.dispatch import HandlerContext
from wecom_hr.risk.ownership import owner_of
from wecom_hr.signals import CUSTOMER_TRANSFERRED, emit


def put_owner(corp: RiskCorp, who: str, ext: str, owner: Any) -> Any:
    return corp.env.api("PUT", f"/api/v1/customers/{ext}/owner", who, json={"owner": owner})


def owner(corp: RiskCorp, ext: str, mode: str = "first_adder") -> str:
    with corp.env.runtime.db.session_scope() as s:
        return owner_of(s, ext, mode)


def test_default_owner_is_the_first_adder(corp: RiskCorp) -> None:
    seller = corp.seller(0, 0)
    assert owner(corp, corp.customers_of(seller)[0]) == seller
    assert owner(corp, "wm-unknown") == ""


def test_a_manager_changes_an_owner_within_the_team_audited(corp: RiskCorp) -> None:
    first, second = corp.seller(0, 0), corp.seller(0, 1)
    ext = corp.customers_of(first)[0]
    res = put_owner(corp, corp.manager(0), ext, second)
    assert res.status_code == 200
    assert res.get_json() == {"external_userid": ext, "owner": second, "previous": first}
    assert owner(corp, ext) == second
    with corp.env.runtime.db.session_scope() as s:
        [entry] = audit.entries(s, action="customer_owner_changed")
        assert (entry.actor, entry.detail) == (corp.manager(0), {"external_userid": ext, "before": first,
                                                                 "after": second})
        assert [(c.owner_before, c.owner_after, c.source) for c in owner_changes(s, ext)] == [(first, second, "manual")]
        assert history_of(s, ext)[-1].changes == {"owner": [first, second]}
    # off_assignment now counts the first adder's messages, not the new owner's
    corp.contacts(first, ext, 6)
    [alert] = corp.alerts(COMPLIANCE)
    assert (alert["userid"], alert["evidence"][0]["owner"]) == (first, second)


def test_owner_changes_outside_the_team_are_refused(corp: RiskCorp) -> None:
    first, elsewhere = corp.seller(0, 0), corp.seller(1, 0)
    ext = corp.customers_of(first)[0]
    assert put_owner(corp, corp.manager(0), ext, elsewhere).status_code == 403   # new owner not in the team
    assert put_owner(corp, corp.manager(1), ext, elsewhere).status_code == 403   # customer not in the team
    assert put_owner(corp, corp.seller(0, 1), ext, corp.seller(0, 1)).status_code == 403  # a salesperson
    assert put_owner(corp, COMPLIANCE, ext, elsewhere).status_code == 403        # compliance watches, not assigns
    assert owner(corp, ext) == first
    with corp.env.runtime.db.session_scope() as s:
        assert audit.entries(s, action="customer_owner_changed") == []
    assert put_owner(corp, ADMIN, ext, elsewhere).status_code == 200              # admins: anyone
    assert put_owner(corp, ADMIN, ext, "nobody").status_code == 400
    assert put_owner(corp, ADMIN, ext, 42).status_code == 400
    assert put_owner(corp, ADMIN, "wm-unknown", elsewhere).status_code == 404


def test_a_handover_moves_ownership_to_the_successor(corp: RiskCorp) -> None:
    leaver, successor, third = corp.seller(0, 0), corp.seller(0, 1), corp.seller(0, 2)
    moved, kept = corp.customers_of(leaver)
    assert put_owner(corp, ADMIN, kept, third).status_code == 200
    with corp.env.runtime.db.session_scope() as s:
        ctx = HandlerContext(corp.env.runtime, s, 0, corp.clock)
        emit(CUSTOMER_TRANSFERRED, ctx, 7, leaver, successor, moved)
        emit(CUSTOMER_TRANSFERRED, ctx, 7, leaver, successor, kept)  # owned by a third member: stays theirs
    assert (owner(corp, moved), owner(corp, kept)) == (successor, third)
    with corp.env.runtime.db.session_scope() as s:
        [change] = owner_changes(s, moved)
        assert (change.source, change.departure_id, change.actor) == ("handover", 7, "departure:7")


def test_department_mode_prefers_the_latest_adder_in_the_first_adders_department(corp: RiskCorp) -> None:
    first, colleague = corp.seller(0, 0), corp.seller(0, 1)
    ext = corp.customers_of(first)[0]
    corp.sim.scenario.add_customer(colleague, ext, "老客户")
    corp.env.drain()
    assert owner(corp, ext, "department") == colleague
    assert owner(corp, ext, "first_adder") == first
