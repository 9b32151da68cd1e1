"""Every errcode the simulator answers with, and its errmsg, in one place.

The texts follow qyapi's shape ("<what>, hint: [...], more info at ...?e=<code>") so that client
code which logs errmsg sees what production would show; clients must branch on errcode only.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

MESSAGES: dict[int, str] = {
    -1: "system busy",
    0: "ok",
    404: "not found",
    40001: "invalid credential, access_token is invalid or not latest",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40029: "invalid code",
    40050: "chatid not found",
    40056: "invalid agentid",
    40058: "invalid parameter",
    40096: "invalid external userid",
    40097: "handover user has not resigned",
    40099: "takeover user has reached the customer limit",
    40128: "customer has been transferred twice in 90 days",
    40129: "customer transfer in progress",
    40130: "handover and takeover are the same member",
    40131: "handover user is not the follower of this customer",
    41001: "access_token missing",
    41004: "corpsecret missing",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "reach max api daily quota limit",
    45033: "api concurrent out of limit",
    47001: "data format error",
    60111: "invalid userid",
    60123: "invalid party id",
    81013: "user & party & tag all invalid",
    84061: "not external contact",
    90500: "the group owner has not resigned",
    90501: "the chat is not a customer group",
    90502: "the group owner has resigned",
    60140: "invalid response_code",
    90504: "the group owner is already the new owner",
    90507: "the group chat is being inherited",
    90508: "the group chat has been inherited",
}


def errmsg(errcode: int, detail: str = "") -> str:
    if errcode == 0:
        return "ok"
    text = MESSAGES.get(errcode, "unknown error")
    if detail:
        text = f"{text}: {detail}"
    hint = f"{int(time.time())}_{secrets.randbelow(100)}_{secrets.token_hex(16)}"
    return f"{text}, hint: [{hint}], more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}"


class ApiError(Exception):
    """Raised by an endpoint to answer with a top-level errcode (HTTP 200, like qyapi)."""

    def __init__(self, errcode: int, detail: str = "", **extra: Any) -> None:
        super().__init__(f"errcode {errcode}")
        self.errcode = errcode
        self.detail = detail
        self.extra = extra

    def payload(self) -> dict[str, Any]:
        return {"errcode": self.errcode, "errmsg": errmsg(self.errcode, self.detail), **self.extra}
