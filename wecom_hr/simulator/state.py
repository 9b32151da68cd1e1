"""The simulated corp: directory, customers, follow relations, chats, transfers, cards, codes.

Every endpoint and scenario step works under ``state.lock``; the indexes keep lookups O(1) so
that a 100,000-relation corp answers as fast as a small one.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from wecom_hr.simulator.models import (
    STATUS_ACTIVE,
    STATUS_LEFT,
    TRANSFER_DONE,
    TRANSFER_WAITING,
    Department,
    ExternalContact,
    Follow,
    GroupChat,
    ResponseGrant,
    SentCard,
    Transfer,
    User,
)

RESPONSE_CODE_TTL = 72 * 3600
OAUTH_CODE_TTL = 300


@dataclass(slots=True)
class OAuthCode:
    userid: str
    expires_at: float


class CorpState:
    def __init__(self, corp_id: str, agent_id: int, clock: Callable[[], float] = time.time) -> None:
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.clock = clock
        self.lock = threading.RLock()
        self.follow_page_size = 500
        self.departments: dict[int, Department] = {1: Department(1, "总公司")}
        self.users: dict[str, User] = {}
        self.external_contacts: dict[str, ExternalContact] = {}
        self.follows: dict[tuple[str, str], Follow] = {}
        self._by_user: dict[str, dict[str, Follow]] = {}
        self._by_customer: dict[str, dict[str, Follow]] = {}
        self.group_chats: dict[str, GroupChat] = {}
        self.transfers: list[Transfer] = []
        self._transfers_by_customer: dict[str, list[Transfer]] = {}
        self.transfer_errors: dict[str, int] = {}
        self.takeover_at_limit: set[str] = set()
        self.oauth_codes: dict[str, OAuthCode] = {}
        self.cards: dict[str, SentCard] = {}
        self.response_codes: dict[str, ResponseGrant] = {}
        self.permit_users: list[str] | None = None  # None: every active member is archived
        self.agreements: dict[tuple[str, str], tuple[str, int]] = {}
        # The visible range per secret name ("app", "contact"); a name absent from both: everything.
        # Departments include their sub-departments (WECOM.md §6 Directory, doc 96260).
        self.visible_departments: dict[str, list[int]] = {}
        self.visible_users: dict[str, list[str]] = {}

    def now(self) -> int:
        return int(self.clock())

    # -- directory -------------------------------------------------------------------------
    def add_department(self, department: Department) -> Department:
        self.departments[department.id] = department
        return department

    def add_user(self, user: User) -> User:
        self.users[user.userid] = user
        self._by_user.setdefault(user.userid, {})
        for dept_id, leads in zip(user.department, user.is_leader_in_dept, strict=True):
            dept = self.departments.get(dept_id)
            if leads and dept is not None and user.userid not in dept.department_leader:
                dept.department_leader.append(user.userid)
        return user

    def rename_user(self, old: str, new: str) -> None:
        """update_user with NewUserID: the member keeps everything under the new id."""
        user = self.users.pop(old)
        user.userid = new
        self.users[new] = user
        for follow in self.follows_of_user(old):
            self.remove_follow(old, follow.external_userid)
            follow.userid = new
            self.add_follow(follow)
        self._by_user.pop(old, None)
        self._by_user.setdefault(new, {})
        for dept in self.departments.values():
            dept.department_leader = [new if u == old else u for u in dept.department_leader]
        for chat in self.group_chats.values():
            chat.owner = new if chat.owner == old else chat.owner

    def active_user(self, userid: str) -> User | None:
        """The member as user/get sees it: members who left are gone from the directory."""
        user = self.users.get(userid)
        return user if user is not None and user.status != STATUS_LEFT else None

    def active_users(self) -> list[User]:
        return [u for u in self.users.values() if u.status != STATUS_LEFT]

    def subtree(self, department_id: int) -> list[int]:
        found, frontier = [department_id], [department_id]
        while frontier:
            children = [d.id for d in self.departments.values() if d.parentid in frontier and d.id != 1]
            children = [c for c in children if c not in found]
            found += children
            frontier = children
        return found

    # -- customers and follow relations ----------------------------------------------------
    def add_external_contact(self, contact: ExternalContact) -> ExternalContact:
        return self.external_contacts.setdefault(contact.external_userid, contact)

    def add_follow(self, follow: Follow) -> Follow:
        key = (follow.userid, follow.external_userid)
        self.follows[key] = follow
        self._by_user.setdefault(follow.userid, {})[follow.external_userid] = follow
        self._by_customer.setdefault(follow.external_userid, {})[follow.userid] = follow
        return follow

    def remove_follow(self, userid: str, external_userid: str) -> Follow | None:
        follow = self.follows.pop((userid, external_userid), None)
        self._by_user.get(userid, {}).pop(external_userid, None)
        self._by_customer.get(external_userid, {}).pop(userid, None)
        return follow

    def follow(self, userid: str, external_userid: str) -> Follow | None:
        return self.follows.get((userid, external_userid))

    def follows_of_user(self, userid: str) -> list[Follow]:
        return list(self._by_user.get(userid, {}).values())

    def followers_of(self, external_userid: str) -> list[Follow]:
        return list(self._by_customer.get(external_userid, {}).values())

    def customer_ids_of(self, userid: str) -> list[str]:
        return list(self._by_user.get(userid, {}))

    # -- OAuth ---------------------------------------------------------------------------
    def mint_oauth_code(self, userid: str) -> str:
        """A web-login code for ``userid``: single use, valid five minutes (as WeCom's)."""
        code = secrets.token_hex(16)
        self.oauth_codes[code] = OAuthCode(userid, self.clock() + OAUTH_CODE_TTL)
        return code

    # -- cards -----------------------------------------------------------------------------
    def grant_response_code(self, task_id: str, userids: list[str]) -> str:
        """A response_code: updates the card once, within 72 hours (sends and clicks mint one)."""
        code = secrets.token_urlsafe(48)
        self.response_codes[code] = ResponseGrant(task_id, list(userids), self.clock() + RESPONSE_CODE_TTL)
        return code

    # -- transfers -------------------------------------------------------------------------
    def add_transfer(self, transfer: Transfer) -> Transfer:
        self.transfers.append(transfer)
        self._transfers_by_customer.setdefault(transfer.external_userid, []).append(transfer)
        return transfer

    def transfers_of(self, external_userid: str) -> list[Transfer]:
        return self._transfers_by_customer.get(external_userid, [])

    def waiting_transfer(self, external_userid: str) -> Transfer | None:
        return next((t for t in self.transfers_of(external_userid) if t.status == TRANSFER_WAITING), None)

    def transfers_between(self, handover: str, takeover: str, resigned: bool) -> list[Transfer]:
        return [t for t in self.transfers if (t.handover_userid, t.takeover_userid, t.resigned)
                == (handover, takeover, resigned)]

    def recent_onjob_transfers(self, external_userid: str, days: int = 90) -> int:
        """On-job transfers that succeeded or are waiting, within ``days`` (WeCom allows two)."""
        since = self.clock() - days * 86400
        return sum(1 for t in self.transfers_of(external_userid) if not t.resigned
                   and t.started_at >= since and t.status in (TRANSFER_DONE, TRANSFER_WAITING))

    def users_with_status(self, status: int = STATUS_ACTIVE) -> list[User]:
        return [u for u in self.users.values() if u.status == status]

