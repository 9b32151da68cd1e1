"""Things that happen in WeCom: each step changes the corp's state, then sends the callback.

State changes first and the lock is released before delivery, so a handler that calls the API
while handling the callback already sees the new state (as it would in production).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from wecom_hr.simulator import api_transfers, events
from wecom_hr.simulator.models import (
    STATUS_LEFT,
    TRANSFER_AT_LIMIT,
    TRANSFER_REFUSED,
    TRANSFER_WAITING,
    ExternalContact,
    Follow,
    Transfer,
    User,
)

if TYPE_CHECKING:
    from wecom_hr.simulator.simulator import Simulator

FAIL_REASONS = {"customer_refused": TRANSFER_REFUSED, "customer_limit_exceed": TRANSFER_AT_LIMIT}


class Scenario:
    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._state = sim.state

    def deliver(self, xml: str) -> str:
        """Send raw decrypted XML to ``sim.callback_url`` the way WeCom would."""
        self._sim.deliver_callback(xml)
        return xml

    # -- directory (change_contact) ------------------------------------------------------------
    def create_user(self, userid: str, name: str, department: Sequence[int] = (1,),
                    is_leader_in_dept: Sequence[int] = (), **fields: Any) -> str:
        user = User(userid, name, list(department), list(is_leader_in_dept), **fields)
        with self._state.lock:
            self._state.add_user(user)
            data = user.to_api()
        return self.deliver(events.contact(self._state.corp_id, "create_user", events.user_fields(data)))

    def update_user(self, userid: str, new_userid: str | None = None, **changes: Any) -> str:
        """Only the changed fields are sent, plus NewUserID when the id changes."""
        with self._state.lock:
            user = self._user(userid)
            for key, value in changes.items():
                if not hasattr(user, key):
                    raise TypeError(f"unknown member field {key!r}")
                setattr(user, key, list(value) if isinstance(value, tuple) else value)
            if "department" in changes:
                _refit_departments(user, "is_leader_in_dept" in changes)
            user.__post_init__()
            if new_userid:
                self._state.rename_user(userid, new_userid)
        sent = {"userid": userid, **({"new_userid": new_userid} if new_userid else {}), **changes}
        return self.deliver(events.contact(self._state.corp_id, "update_user", events.user_fields(sent)))

    def delete_user(self, userid: str) -> str:
        """The member leaves: status 5; their customers wait for a resigned transfer."""
        with self._state.lock:
            user = self._user(userid)
            user.status, user.dimission_time = STATUS_LEFT, self._state.now()
        return self.deliver(events.contact(self._state.corp_id, "delete_user", [("UserID", userid)]))

    def delete_department(self, dept_id: int) -> str:
        """delete_party; WeCom refuses to delete a department that still has members or children."""
        with self._state.lock:
            members = [u.userid for u in self._state.active_users() if dept_id in u.department]
            if members or self._state.subtree(dept_id) != [dept_id]:
                raise ValueError(f"department {dept_id} still has members or sub-departments")
            del self._state.departments[dept_id]
        return self.deliver(events.contact(self._state.corp_id, "delete_party", [("Id", dept_id)]))

    def limit_visible_range(self, secret_name: str, departments: Sequence[int] = (),
                            users: Sequence[str] = ()) -> None:
        """The admin narrows an app's visible range (WECOM.md §6 Directory (doc 96260)); no callback."""
        with self._state.lock:
            self._state.visible_departments[secret_name] = list(departments)
            self._state.visible_users[secret_name] = list(users)

    # -- customers (change_external_contact) --------------------------------------------------
    def add_customer(self, userid: str, external_userid: str, name: str, corp_name: str = "",
                     remark: str = "", state: str = "", half: bool = False, **follow_fields: Any) -> str:
        with self._state.lock:
            self._user(userid)
            self._state.add_external_contact(ExternalContact(
                external_userid, name, type=2 if corp_name else 1, corp_name=corp_name,
                corp_full_name=corp_name))
            self._state.add_follow(Follow(userid, external_userid, self._state.now(), remark=remark,
                                          state=state, half=half, **follow_fields))
        change = "add_half_external_contact" if half else "add_external_contact"
        return self._customer_event(change, userid, external_userid, State=state,
                                    WelcomeCode=secrets.token_urlsafe(24))

    def add_half_customer(self, userid: str, external_userid: str, name: str, **kwargs: Any) -> str:
        """The customer added the member, who has not accepted yet."""
        return self.add_customer(userid, external_userid, name, half=True, **kwargs)

    def member_accepts_half(self, userid: str, external_userid: str) -> str:
        """The member adds back a half-added customer: the API now answers for the pair."""
        with self._state.lock:
            follow = self._follow(userid, external_userid)
            follow.half = False
            state = follow.state
        return self._customer_event("add_external_contact", userid, external_userid, State=state,
                                    WelcomeCode=secrets.token_urlsafe(24))

    def edit_customer(self, userid: str, external_userid: str, **changes: Any) -> str:
        with self._state.lock:
            follow = self._follow(userid, external_userid)
            for key, value in changes.items():
                if not hasattr(follow, key):
                    raise TypeError(f"unknown follow field {key!r}")
                setattr(follow, key, value)
        return self._customer_event("edit_external_contact", userid, external_userid)

    def member_deletes_customer(self, userid: str, external_userid: str, by_transfer: bool = False) -> str:
        with self._state.lock:
            self._follow(userid, external_userid)
            self._state.remove_follow(userid, external_userid)
        extra = {"Source": "DELETE_BY_TRANSFER"} if by_transfer else {}
        return self._customer_event("del_external_contact", userid, external_userid, **extra)

    def customer_deletes_member(self, userid: str, external_userid: str) -> str:
        """WeCom keeps the customer in the member's list, marked deleted, so the relation stays."""
        with self._state.lock:
            self._follow(userid, external_userid).deleted_by_customer = True
        return self._customer_event("del_follow_user", userid, external_userid)

    def transfer_fail(self, userid: str, external_userid: str, reason: str = "customer_refused") -> str:
        """``userid`` is the takeover member; the waiting transfer ends refused / at limit."""
        with self._state.lock:
            for transfer in self._state.transfers_of(external_userid):
                if transfer.status == TRANSFER_WAITING and transfer.takeover_userid == userid:
                    transfer.status = FAIL_REASONS.get(reason, TRANSFER_REFUSED)
        return self._customer_event("transfer_fail", userid, external_userid, FailReason=reason)

    def complete_transfers(self, refuse: Iterable[str] = (), at_limit: Iterable[str] = ()) -> list[Transfer]:
        """Finish waiting transfers (as ``Simulator.complete_transfers``) and send every callback WeCom
        sends then: add_external_contact to the successor, del_external_contact (DELETE_BY_TRANSFER) to
        the old owner, transfer_fail for a refusal (api_transfers.transfer_events)."""
        finished = api_transfers.complete_waiting(self._state, refuse, at_limit)
        for transfer in finished:
            for xml in api_transfers.transfer_events(self._state.corp_id, transfer):
                self.deliver(xml)
        return finished

    def msg_audit_approved(self, userid: str, external_userid: str) -> str:
        with self._state.lock:
            self._state.agreements[(userid, external_userid)] = ("Agree", self._state.now())
        return self._customer_event("msg_audit_approved", userid, external_userid)

    # -- app events --------------------------------------------------------------------------
    def click_card(self, userid: str, task_id: str, event_key: str,
                   selected: Mapping[str, Sequence[str]] | None = None, card_type: str | None = None) -> str:
        """A member presses a card button; the event carries a fresh single-use ResponseCode."""
        with self._state.lock:
            card = self._state.cards.get(task_id)
            if card is None or userid not in card.recipients:
                raise ValueError(f"no card {task_id!r} was sent to {userid!r}")
            code = self._state.grant_response_code(task_id, [userid])
        xml = events.template_card(self._state.corp_id, self._state.agent_id, userid, task_id, event_key,
                                   card_type or card.card_type, code, selected)
        return self.deliver(xml)

    def msgaudit_notify(self) -> str:
        return self.deliver(events.msgaudit_notify(self._state.corp_id, self._state.agent_id))

    def approval_change(self, sp_no: str, applyer: str, status: int = 2,
                        template_id: str = "3TkZjxWBGFMnrQ6hWe1cvWsbvk7MjP1ekgAK1Hmp", sp_name: str = "客户转移",
                        approver: str | None = None) -> str:
        with self._state.lock:
            user = self._state.users.get(applyer)
            party = str(user.main_department) if user else "1"
            approver = approver or self._leader_of(user) or applyer
        xml = events.approval_change(self._state.corp_id, self._state.agent_id, sp_no, sp_name, applyer,
                                     party, status, template_id, approver, self._state.now())
        return self.deliver(xml)

    # -- helpers -----------------------------------------------------------------------------
    def _customer_event(self, change_type: str, userid: str, external_userid: str, **extra: str) -> str:
        return self.deliver(events.external_contact(self._state.corp_id, change_type, userid,
                                                    external_userid, **extra))

    def _user(self, userid: str) -> User:
        user = self._state.users.get(userid)
        if user is None:
            raise ValueError(f"no member {userid!r} in the simulated corp")
        return user

    def _follow(self, userid: str, external_userid: str) -> Follow:
        follow = self._state.follow(userid, external_userid)
        if follow is None:
            raise ValueError(f"{userid!r} does not follow {external_userid!r}")
        return follow

    def _leader_of(self, user: User | None) -> str | None:
        if user is None or user.main_department not in self._state.departments:
            return None
        leaders = [u for u in self._state.departments[user.main_department].department_leader
                   if u != user.userid]
        return leaders[0] if leaders else None


def _refit_departments(user: User, flags_given: bool) -> None:
    """A new department list without new leader flags means "leads nowhere"."""
    if not flags_given:
        user.is_leader_in_dept = []
    if user.main_department not in user.department:
        user.main_department = user.department[0] if user.department else 0
