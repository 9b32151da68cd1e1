"""Customer transfers (on-job and resigned), their results, and how waiting ones finish."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from wecom_hr.simulator import events
from wecom_hr.simulator.errors import ApiError
from wecom_hr.simulator.models import (
    STATUS_LEFT,
    TRANSFER_AT_LIMIT,
    TRANSFER_DONE,
    TRANSFER_REFUSED,
    TRANSFER_WAITING,
    Transfer,
)
from wecom_hr.simulator.routing import ApiContext, Payload, Route, page
from wecom_hr.simulator.state import CorpState

TRANSFER_BATCH = 100
FAIL_REASONS = {TRANSFER_REFUSED: "customer_refused", TRANSFER_AT_LIMIT: "customer_limit_exceed"}
ONJOB_TRANSFERS_PER_90_DAYS = 2


def transfer_onjob(ctx: ApiContext) -> Payload:
    return _transfer(ctx, resigned=False)


def transfer_resigned(ctx: ApiContext) -> Payload:
    return _transfer(ctx, resigned=True)


def _transfer(ctx: ApiContext, resigned: bool) -> Payload:
    handover, takeover = str(ctx.field("handover_userid")), str(ctx.field("takeover_userid"))
    customers = [str(e) for e in ctx.list_field("external_userid", TRANSFER_BATCH)]
    state = ctx.state
    with state.lock:
        _check_members(state, handover, takeover, resigned)
        results = [{"external_userid": ext,
                    "errcode": _transfer_one(state, handover, takeover, ext, resigned)}
                   for ext in customers]
    return {"customer": results}


def _check_members(state: CorpState, handover: str, takeover: str, resigned: bool) -> None:
    if handover == takeover:
        raise ApiError(40130)
    leaver = state.users.get(handover)
    if resigned and (leaver is None or leaver.status != STATUS_LEFT):
        raise ApiError(40097)
    if not resigned and state.active_user(handover) is None:
        raise ApiError(60111, "handover_userid")
    if state.active_user(takeover) is None:
        raise ApiError(60111, "takeover_userid")


def _transfer_one(state: CorpState, handover: str, takeover: str, ext: str, resigned: bool) -> int:
    errcode = _refusal(state, handover, takeover, ext, resigned)
    if errcode == 0:
        state.add_transfer(Transfer(handover, takeover, ext, resigned, state.clock()))
    return errcode


def _refusal(state: CorpState, handover: str, takeover: str, ext: str, resigned: bool) -> int:
    forced = state.transfer_errors.pop(ext, None)
    if forced is not None:
        return forced
    if ext not in state.external_contacts:
        return 40096
    if state.follow(handover, ext) is None:
        return 40131
    if state.waiting_transfer(ext) is not None:
        return 40129
    if not resigned and state.recent_onjob_transfers(ext) >= ONJOB_TRANSFERS_PER_90_DAYS:
        return 40128
    if takeover in state.takeover_at_limit:
        return 40099
    return 0


def result_onjob(ctx: ApiContext) -> Payload:
    return _result(ctx, resigned=False)


def result_resigned(ctx: ApiContext) -> Payload:
    return _result(ctx, resigned=True)


def _result(ctx: ApiContext, resigned: bool) -> Payload:
    handover, takeover = str(ctx.field("handover_userid")), str(ctx.field("takeover_userid"))
    with ctx.state.lock:
        latest = {t.external_userid: t.to_result()
                  for t in ctx.state.transfers_between(handover, takeover, resigned)}
    rows: list[dict[str, Any]] = list(latest.values())
    chunk, next_cursor = page(rows, str(ctx.body.get("cursor", "")), 1000)
    return {"customer": chunk, "next_cursor": next_cursor}


def complete_waiting(state: CorpState, refuse: Iterable[str] = (),
                     at_limit: Iterable[str] = ()) -> list[Transfer]:
    """Finish every waiting transfer: refused / at limit as asked, the rest taken over now."""
    refused, limited = set(refuse), set(at_limit)
    finished = []
    with state.lock:
        for transfer in [t for t in state.transfers if t.status == TRANSFER_WAITING]:
            if transfer.external_userid in refused:
                transfer.status = TRANSFER_REFUSED
            elif transfer.external_userid in limited:
                transfer.status = TRANSFER_AT_LIMIT
            else:
                _move_follow(state, transfer)
            finished.append(transfer)
    return finished


def _move_follow(state: CorpState, transfer: Transfer) -> None:
    transfer.status, transfer.takeover_time = TRANSFER_DONE, state.now()
    old = state.remove_follow(transfer.handover_userid, transfer.external_userid)
    transfer.takeover_was_friend = state.follow(transfer.takeover_userid, transfer.external_userid) is not None
    if old is not None and not transfer.takeover_was_friend:
        state.add_follow(replace(old, userid=transfer.takeover_userid, createtime=transfer.takeover_time,
                                 oper_userid=transfer.takeover_userid))


def transfer_events(corp_id: str, transfer: Transfer) -> list[str]:
    """The callbacks a finished transfer sends (WECOM.md §6 Transfers, doc 96325): the successor adds the
    customer (not when they already were friends), the old owner loses it with Source=DELETE_BY_TRANSFER;
    a refusal or a full successor sends transfer_fail to the successor instead."""
    ext = transfer.external_userid
    if transfer.status == TRANSFER_DONE and transfer.resigned:
        # ❓ unconfirmed which callbacks a resigned handover sends (doc 96325 speaks of on-job
        # transfers): send none, so the client must confirm through resigned/transfer_result.
        return []
    if transfer.status == TRANSFER_DONE:
        added = [] if transfer.takeover_was_friend else [
            events.external_contact(corp_id, "add_external_contact", transfer.takeover_userid, ext)]
        return [*added, events.external_contact(corp_id, "del_external_contact", transfer.handover_userid, ext,
                                                Source="DELETE_BY_TRANSFER")]
    reason = FAIL_REASONS.get(transfer.status)
    return [events.external_contact(corp_id, "transfer_fail", transfer.takeover_userid, ext,
                                    FailReason=reason)] if reason else []


ROUTES = [
    Route("externalcontact/transfer_customer", "POST", transfer_onjob),
    Route("externalcontact/resigned/transfer_customer", "POST", transfer_resigned),
    Route("externalcontact/transfer_result", "POST", result_onjob),
    Route("externalcontact/resigned/transfer_result", "POST", result_resigned),
]
