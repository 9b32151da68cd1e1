"""WeCom's side: each secret gets a token, what the app can see, and the 客户联系 permission."""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from sqlalchemy import select

from storage.directory import LEFT, Member
from wecom_hr.doctor.meanings import meaning
from wecom_hr.doctor.result import Check, Probe
from wecom_hr.runtime import Runtime
from wecom_hr.wecom.errors import WeComAPIError, WeComError

MAX_DEPARTMENTS = 2000  # a walk this long is enough to tell whether the app sees its directory

SECRET_KEYS = (("app", "wecom.secret", "应用"), ("contact", "wecom.contact_secret", "客户联系"),
               ("archive", "wecom.archive_secret", "会话内容存档"))


def _gettoken(runtime: Runtime, secret: str, probe: Probe) -> tuple[int, str]:
    """(errcode, errmsg) of a fresh gettoken — no cache, so a changed secret shows at once."""
    w = runtime.settings.wecom
    answer = requests.get(f"{w.api_base_url}/gettoken", params={"corpid": w.corp_id, "corpsecret": secret},
                          timeout=w.timeout_seconds)
    date = answer.headers.get("Date")
    if date:
        probe.wecom_dates.append((time.time(), parsedate_to_datetime(date).timestamp()))
    body: dict[str, Any] = answer.json()
    return int(body.get("errcode", 0) or 0), str(body.get("errmsg", ""))


def secrets(runtime: Runtime, probe: Probe) -> Iterator[Check]:
    w = runtime.settings.wecom
    configured = {"app": w.secret, "contact": w.contact_secret, "archive": w.archive_secret}
    for kind, key, label in SECRET_KEYS:
        secret = configured[kind]
        if not secret:
            note = "未配置：客户联系接口使用应用 secret" if kind == "contact" else "未配置（会话存档未启用）"
            yield Check.skip(key, note)
            continue
        try:
            errcode, errmsg = _gettoken(runtime, secret, probe)
        except (requests.RequestException, ValueError) as exc:
            yield Check.fail(key, f"连不上 {w.api_base_url}（{type(exc).__name__}）：检查网络、代理 HTTPS_PROXY")
            continue
        if errcode:
            yield Check.fail(key, f"gettoken 失败，{meaning(errcode, errmsg)}")
        else:
            yield Check.ok(key, f"{label} secret 可以换取 access_token")


def _failure(key: str, what: str, exc: WeComError) -> Check:
    if isinstance(exc, WeComAPIError):
        return Check.fail(key, f"{what}失败，{meaning(exc.errcode or 0, exc.errmsg)}")
    return Check.fail(key, f"{what}失败（{type(exc).__name__}）")


def directory(runtime: Runtime, _probe: Probe) -> Iterator[Check]:
    key = "wecom.contact_secret" if runtime.settings.wecom.contact_secret else "wecom.secret"
    client = runtime.wecom("contact")
    try:
        departments = client.call("GET", "department/list").get("department") or []
        members: set[str] = set()
        refused = 0
        for dept in departments[:MAX_DEPARTMENTS]:
            try:
                page = client.call("GET", "user/simplelist", params={"department_id": dept["id"]})
            except WeComAPIError as exc:
                if exc.errcode != 60011:
                    raise
                refused += 1
                continue
            members |= {str(u["userid"]) for u in page.get("userlist") or []}
    except WeComError as exc:
        yield _failure(key, "读取通讯录", exc)
        return
    if not members:
        yield Check.fail(key, f"应用能看到 {len(departments)} 个部门、0 名成员：把销售团队加入应用的可见范围")
        return
    extra = f"，{refused} 个部门不可见" if refused else ""
    with runtime.db.session_scope() as s:  # members we hold that the app can no longer see
        stored = set(s.scalars(select(Member.userid).where(Member.status != LEFT)))
    hidden = sorted(stored - members)
    if hidden:
        shown = "、".join(hidden[:5]) + (" 等" if len(hidden) > 5 else "")
        extra += f"；通讯录中 {len(hidden)} 名成员不在应用可见范围内（{shown}），他们的客户无法同步"
    yield Check.ok(key, f"应用能看到 {len(departments)} 个部门、{len(members)} 名成员{extra}")


def customer_contact(runtime: Runtime, _probe: Probe) -> Iterator[Check]:
    key = "wecom.contact_secret" if runtime.settings.wecom.contact_secret else "wecom.secret"
    try:
        users = runtime.wecom("contact").call("GET", "externalcontact/get_follow_user_list").get("follow_user") or []
    except WeComError as exc:
        yield _failure(key, "客户联系（get_follow_user_list）", exc)
        return
    if not users:
        yield Check.fail(key, "没有成员开通客户联系：管理后台 → 客户与上下游 → 客户联系 → 权限配置")
        return
    yield Check.ok(key, f"客户联系可用：{len(users)} 名成员有客户联系权限")
