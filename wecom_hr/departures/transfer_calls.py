"""The WeCom side of a transfer batch: what WeCom already holds for an in-doubt batch, and the call.

Members who left go through resigned/…; on 40097 (not left yet in WeCom) the on-job endpoint is used,
on 60111 from the on-job endpoint the resigned one, and group chats swap the same way on 90500/90502.
A resigned owner's chat answers 90507 while WeCom is inheriting it (it waits; the follow-up asks again)
and 90508 once inherited (done).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.departures import DONE, FAILED, GROUP_CHAT, WAITING
from wecom_hr.departures.settings import DepartureSettings
from wecom_hr.wecom import WeComClient
from wecom_hr.wecom.errors import WeComAPIError

NOT_LEFT = 40097         # resigned/transfer_customer for a member who has not left
UNKNOWN_MEMBER = 60111   # transfer_customer (on-job) for a member who has left: no such active member
CHAT_OWNER_ACTIVE, CHAT_OWNER_LEFT = 90500, 90502
SAME_OWNER = 90504       # the chat already belongs to the new owner: done
CHAT_INHERITING, CHAT_INHERITED = 90507, 90508  # a resigned owner's chat being / already inherited (WECOM.md §6)
CHAT_DONE = frozenset({0, SAME_OWNER, CHAT_INHERITED})


@dataclass
class Claim:
    batch_id: int
    departure_id: int
    kind: str
    handover: str
    member_name: str
    takeover: str
    takeover_name: str
    resigned: bool
    was_resigned: bool
    in_doubt: bool
    refs: list[str]
    attempts: int
    max_attempts: int = 5


def already_requested(client: WeComClient, claim: Claim) -> dict[str, int]:
    """Customers of an in-doubt batch that WeCom already lists for this pair (status per customer)."""
    found: dict[str, int] = {}
    cursor = ""
    wanted = set(claim.refs)
    while True:
        page = client.extra.transfer_result(claim.handover, claim.takeover, cursor, resigned=claim.was_resigned)
        for row in page.get("customer") or []:
            ext = str(row.get("external_userid") or "")
            if ext in wanted:
                found[ext] = int(row.get("status") or 2)
        cursor = str(page.get("next_cursor") or "")
        if not cursor:
            return found


def request(client: WeComClient, cfg: DepartureSettings, claim: Claim, refs: list[str]) -> dict[str, Any]:
    if claim.kind == GROUP_CHAT:
        return _request_chats(client, claim, refs)
    msg = cfg.transfer_success_msg.format(member=claim.member_name, successor=claim.takeover_name)
    try:
        return client.extra.transfer_customer(claim.handover, claim.takeover, refs, msg, resigned=claim.resigned)
    except WeComAPIError as exc:
        # Our directory and WeCom disagree on whether the member has left (an event not yet arrived):
        # the other endpoint, once. A successor WeCom does not know fails the same way both times.
        if exc.errcode != (NOT_LEFT if claim.resigned else UNKNOWN_MEMBER):
            raise
        claim.resigned = not claim.resigned
        return client.extra.transfer_customer(claim.handover, claim.takeover, refs, msg, resigned=claim.resigned)


def chat_outcome(errcode: int) -> tuple[str, int | None]:
    """A chat's (status, errcode) from groupchat/transfer: being inherited waits for the follow-up."""
    if errcode in CHAT_DONE:
        return DONE, None
    return (WAITING, errcode) if errcode == CHAT_INHERITING else (FAILED, errcode)


def chat_errcodes(answer: dict[str, Any]) -> dict[str, int]:
    return {str(f.get("chat_id")): int(f.get("errcode") or 0) for f in answer.get("failed_chat_list") or []}


def recheck_chats(client: WeComClient, takeover: str, refs: list[str]) -> dict[str, tuple[str, int | None]]:
    """Ask again for chats WeCom was inheriting: 90507 still waits, 90508 (inherited meanwhile) is done."""
    codes = chat_errcodes(client.extra.transfer_group_chats(refs, takeover, resigned=True))
    return {ref: chat_outcome(codes.get(ref, 0)) for ref in refs}


def _request_chats(client: WeComClient, claim: Claim, refs: list[str]) -> dict[str, Any]:
    answer = client.extra.transfer_group_chats(refs, claim.takeover, resigned=claim.resigned)
    wrong = CHAT_OWNER_LEFT if not claim.resigned else CHAT_OWNER_ACTIVE
    retry = [str(f["chat_id"]) for f in answer.get("failed_chat_list") or [] if int(f.get("errcode") or 0) == wrong]
    if not retry:
        return answer
    claim.resigned = not claim.resigned
    again = client.extra.transfer_group_chats(retry, claim.takeover, resigned=claim.resigned)
    kept = [f for f in answer.get("failed_chat_list") or [] if str(f.get("chat_id")) not in retry]
    return {"failed_chat_list": kept + list(again.get("failed_chat_list") or [])}
