"""What an API error says: a stable English ``code`` for programs and a Chinese ``message`` for people.

Features raise their errors in English (AccessDenied, DepartureError, SignoffError, RowError, ...);
those texts stay in the ``error`` key for operators and existing clients. This module is the one
place that turns them into Chinese: KNOWN matches the English text (named groups become the
Chinese text's fields); a text nobody registered gets the status's generic Chinese sentence with
the English detail after it, so nothing is lost while the registry catches up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Known:
    code: str
    pattern: re.Pattern[str]
    text: str  # str.format fields: the pattern's named groups


def _k(code: str, pattern: str, text: str) -> Known:
    return Known(code, re.compile(pattern, re.DOTALL), text)


# status -> (code, Chinese) when nothing more precise is known.
STATUS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求有误"), 401: ("unauthenticated", "请先登录"), 403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "找不到该地址或记录"), 405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "操作与当前状态冲突"), 410: ("gone", "该内容已失效"),
    413: ("payload_too_large", "上传的内容过大（最大 16 MB）"), 415: ("unsupported_media_type", "不支持该内容格式"),
    422: ("unprocessable", "请求内容无法处理"), 429: ("too_many_requests", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器出错了，请稍后重试"), 502: ("bad_gateway", "上游服务暂时不可用，请稍后重试"),
    503: ("unavailable", "服务暂时不可用，请稍后重试"),
}

# Field names in English messages -> what the page calls them.
FIELDS = {"from": "开始日期", "to": "结束日期", "page": "页码", "per_page": "每页条数", "limit": "条数",
          "before": "之前的条数", "after": "之后的条数", "days": "天数", "last_day": "最后工作日",
          "reason": "原因", "successor": "接替人", "userid": "成员账号", "member": "成员", "note": "备注",
          "status": "状态", "state": "状态", "kind": "类型", "department": "部门", "name": "名称",
          "sender": "发送人", "customer": "客户", "room": "群聊", "msgtype": "消息类型", "amount": "金额",
          "paid_amount": "已付金额", "due_on": "到期日", "issued_on": "开票日", "order_no": "订单号",
          "currency": "币种", "customer_name": "客户名称", "customer_email": "客户邮箱",
          "salesperson": "销售", "paid_on": "付款日", "promised_on": "承诺付款日", "version": "版本"}
_LABELLED = ("name", "field")  # groups holding a field name
_STATED = ("state", "a", "b")  # groups holding a departure or transfer state

KNOWN: tuple[Known, ...] = (
    # Who is calling (auth.py, departures/revocation.py, web/guard.py).
    _k("unauthenticated", r"missing or unknown credentials", "未登录或登录已过期，请重新登录"),
    _k("role_forbidden", r"your role does not allow this", "您的角色无权执行此操作"),
    _k("access_revoked", r"this member has left the company; access is revoked", "该成员已离职，访问权限已收回"),
    _k("access_revoked", r"access ended on the member's last day \((?P<day>[^)]+)\)",
       "访问权限已于最后工作日（{day}）结束"),
    _k("access_revoked", r"HR revoked this member's access for the departure", "人事已因离职交接收回该成员的访问权限"),
    _k("csrf_refused", r"missing or wrong CSRF token", "页面已过期，请刷新后重试"),
    # Parameters shared by the APIs.
    _k("json_object_required", r"send a JSON object", "请求内容应为 JSON 对象"),
    _k("owner_required", r'send a JSON object with "owner": a userid', "请求内容应为含 owner（成员账号）的 JSON 对象"),
    _k("bad_number", r"(?P<name>\w+) must be a number (?P<low>\d+)\.\.(?P<high>\d+)",
       "{name}应为 {low} 到 {high} 之间的整数"),
    _k("bad_date", r"(?P<name>\w+) must be a date YYYY-MM-DD", "{name}应为日期，格式 YYYY-MM-DD"),
    _k("bad_time", r"(?P<name>\w+) must be a date \(2024-05-01\), an ISO datetime or epoch milliseconds",
       "{name}应为日期（如 2024-05-01）、ISO 时间或毫秒时间戳"),
    _k("bad_time", r"(?P<name>\w+) must be epoch milliseconds of at most 15 digits", "{name}的毫秒时间戳最多 15 位"),
    _k("out_of_range", r"(?P<name>\w+) is out of range", "{name}超出范围"),
    _k("too_long", r"(?P<name>\w+) is too long", "{name}太长"),
    _k("date_range_reversed", r"from must (not be after|be before) to", "开始日期不能晚于结束日期"),
    _k("period_too_long", r"the period may span at most (?P<days>\d+) days", "时间范围最多 {days} 天"),
    _k("bad_choice", r"(?P<name>\w+) must be one of (?P<allowed>.+)", "{name}只能是：{allowed}"),
    _k("bad_text", r"(?P<name>\w+) must be text of at most (?P<limit>\d+) characters \(required\)",
       "请填写{name}（最多 {limit} 个字）"),
    _k("bad_text", r"(?P<name>\w+) must be text of at most (?P<limit>\d+) characters", "{name}最多 {limit} 个字"),
    _k("bad_member", r"member must be a userid of at most 64 characters", "成员账号最多 64 个字符"),
    _k("member_out_of_scope", r"this member is not in your scope", "该成员不在您的查看范围内"),
    _k("bad_done", r"done must be true or false", "完成状态应为 true 或 false"),
    _k("bad_decision", r"decision must be approve or reject", "请选择同意或驳回"),
    _k("bad_successor", r"successor must be one of the members the approval offers", "接替人须是审批给出的人选之一"),
    _k("not_your_approval", r"this departure is not waiting for your approval", "该离职交接不在等待您的审批"),
    # Departures (departures/start.py, signoffs.py, questionnaire.py, api/departures.py).
    _k("no_such_departure", r"no such departure", "找不到该离职交接，或您无权查看"),
    _k("no_such_departure", r"no such approved departure", "找不到该已审批的离职交接"),
    _k("no_questionnaire", r"the leaver was not sent a questionnaire for this departure",
       "这次离职没有向离职人员发送问卷"),
    _k("reassign_forbidden", r"only HR, admin or the member's manager may reassign customers",
       "只有人事、管理员或该成员的经理可以重新指定接替人"),
    _k("successor_outside_team", r"a manager may choose a successor from their own team or the card's options",
       "经理只能从本团队或审批卡片给出的人选中指定接替人"),
    _k("successor_is_self", r"the successor must be someone else", "接替人不能是离职人员本人"),
    _k("successor_not_in_directory", r"successor '(?P<userid>.+)' is not in the directory",
       "通讯录中没有接替人「{userid}」"),
    _k("successor_leaving", r"successor '(?P<userid>.+)' has left or is leaving", "接替人「{userid}」已离职或正在离职"),
    _k("member_not_in_directory", r"'(?P<userid>.+)' is not in the directory", "通讯录中没有成员「{userid}」"),
    _k("departure_already_open", r"'(?P<userid>.+)' already has an open departure",
       "成员「{userid}」已有进行中的离职交接"),
    _k("departure_not_submittable", r"cannot submit a departure in state (?P<state>\w+): .*",
       "离职交接为「{state}」，不能提交"),
    _k("departure_not_cancellable", r"a departure in state (?P<state>\w+) cannot be cancelled",
       "离职交接为「{state}」，不能取消"),
    _k("invalid_transition", r"(?P<a>\w+) → (?P<b>\w+)", "离职交接不能从「{a}」变为「{b}」"),
    _k("customer_not_in_handover", r"this customer is not in the handover list", "该客户不在交接名单中"),
    _k("departure_cancelled", r"the departure was cancelled", "该离职交接已取消"),
    _k("transfer_not_reassignable", r"the customer's transfer is (?P<state>\w+); it cannot be reassigned now",
       "该客户的转接状态为「{state}」，现在不能重新指定"),
    _k("nothing_to_revoke", r"the departure is (?P<state>\w+); nothing to revoke",
       "离职交接为「{state}」，没有可收回的权限"),
    _k("revoke_reason_required", r"reason is required to revoke access before the last day",
       "在最后工作日之前收回权限，须填写原因"),
    _k("no_such_step", r"the departure has no sign-off step '(?P<step>.+)'", "该离职交接没有「{step}」签核步骤"),
    _k("signoff_forbidden", r"only (?P<who>.+) may sign off step '(?P<step>.+)'", "只有 {who} 可以签核「{step}」"),
    _k("step_signed_by_approval", r"this step is signed by approving the handover", "此步骤在审批交接时签核"),
    _k("checklist_incomplete", r"tick every item first: (?P<items>.+)", "请先勾选所有事项：{items}"),
    _k("bad_item_name", r"name must be 1\.\.(?P<limit>\d+) characters", "事项名称应为 1 到 {limit} 个字"),
    _k("checklist_signed", r"items can be added only to an unsigned checklist step", "只能向未签核的清单步骤添加事项"),
    _k("item_duplicate_or_full", r"the item is listed already, or the list is full", "该事项已在清单中，或清单已满"),
    _k("no_such_item", r"no such item", "找不到该事项"),
    _k("step_signed", r"the step is signed already", "该步骤已签核"),
    _k("no_such_questionnaire", r"no such questionnaire", "找不到该问卷"),
    _k("questionnaire_closed", r"this questionnaire is closed", "该问卷已关闭"),
    _k("reasons_required", r"choose one or more of the listed reasons", "请至少选择一个离职原因"),
    _k("note_too_long", r"the note may have at most (?P<limit>\d+) characters", "备注最多 {limit} 个字"),
    # Customers and risk (api/customers.py, customers/queries.py, risk/messages.py).
    _k("no_such_customer", r"no such customer", "找不到该客户，或您无权查看"),
    _k("read_only_fields", r"read-only \(WeCom is the source of truth\): (?P<fields>.+)",
       "以下字段以企业微信为准，不能在此修改：{fields}"),
    _k("note_too_long", r"note must be text of at most (?P<limit>\d+) characters", "备注最多 {limit} 个字"),
    _k("owner_out_of_scope", r"owner is outside what you may see", "该跟进人不在您的查看范围内"),
    _k("department_out_of_scope", r"department is outside what you may see", "该部门不在您的查看范围内"),
    _k("no_such_alert", r"no such alert", "找不到该预警，或您无权查看"),
    _k("owner_outside_team", r"you may change owners only within your team", "只能在本团队内变更跟进人"),
    _k("owner_change_forbidden", r"only managers \(their team\) and admins change owners",
       "只有经理（本团队内）和管理员可以变更跟进人"),
    _k("owner_unknown", r"owner must be an active member in the directory", "跟进人须是通讯录中的在职成员"),
    _k("case_closed", r"the case is closed \((?P<state>\w+)\); it cannot change",
       "该预警已结案（{state}），不能再变更"),
    # Archive (api/archive.py, archive/filters.py, storage/archive_query.py).
    _k("no_such_message", r"no archived message with this msgid", "找不到该存档消息"),
    _k("rule_exists", r"a rule with this name exists", "已有同名规则"),
    _k("no_such_rule", r"no such rule", "找不到该规则"),
    _k("bad_hold_kind", r"kind must be member or customer", "类型应为成员或客户"),
    _k("bad_hold_userid", r"userid must be a WeCom userid or external userid", "请填写企业微信成员账号或外部联系人 ID"),
    _k("hold_reason_required", r"reason is required \(e\.g\. the matter or case number\)",
       "请填写原因（例如事由或案件编号）"),
    _k("no_such_hold", r"no active legal hold with this id \(holds in config are changed there\)",
       "找不到该生效中的法律保全（配置文件中的保全请在配置中修改）"),
    _k("query_unclosed_quote", r"unclosed quote: (?P<fragment>.*)",
       "引号未闭合：{fragment}（请补上另一个双引号，或去掉它）"),
    _k("query_quote_in_word", r"a quote inside a word: (?P<fragment>.*)",
       '引号应包住整个短语：{fragment}（例如 "加 微信"）'),
    _k("query_dangling_not", r"NOT is followed by nothing to exclude", "NOT 后面缺少要排除的词"),
    _k("query_term_too_long", r"a search term is longer than (?P<limit>\d+) characters",
       "单个搜索词不能超过 {limit} 个字"),
    _k("query_too_many_terms", r"at most (?P<groups>\d+) OR-groups of (?P<terms>\d+) terms each",
       "最多 {groups} 组 OR 条件，每组最多 {terms} 个词"),
    # Receivables (api/receivables.py, receivables/ledger.py, email.py).
    _k("items_required", r'body must be \{"items": \[\.\.\.\]\} with at least one receivable',
       '请求内容应为 {{"items": [...]}}，且至少含一条应收账款'),
    _k("too_many_items", r"at most (?P<limit>\d+) items per request", "每次最多 {limit} 条"),
    _k("no_such_receivable", r"no receivable (?P<order_no>.+)", "找不到应收账款 {order_no}"),
    _k("overpayment", r"amount: (?P<amount>\S+) is more than the outstanding (?P<outstanding>\S+)",
       "金额 {amount} 超过未付余额 {outstanding}"),
    _k("no_such_task", r"no collection task (?P<task>\d+)", "找不到催收任务 {task}"),
    _k("no_such_letter", r"no letter for collection task (?P<task>\d+)", "催收任务 {task} 还没有追款函"),
    _k("bad_letter_version", r"version: must be the letter version you reviewed \(an integer\)",
       "请提供您审阅过的追款函版本号（整数）"),
    _k("letter_version_stale", r"version: the latest draft is (?P<latest>\d+), not (?P<given>\d+); review it first",
       "追款函已更新到第 {latest} 版（您审阅的是第 {given} 版），请先审阅"),
    _k("no_customer_email", r"the customer has no email address \(CSV column customer_email\)",
       "该客户没有邮箱地址（CSV 列 customer_email）"),
    _k("letter_sending", r"another request is sending this letter right now", "另一个请求正在发送这封追款函"),
    _k("email_not_configured", r"email is not configured \(\[email\] smtp_host\)",
       "未配置邮件发送（[email] smtp_host）"),
    _k("bad_choice", r"(?P<field>\w+): must be (?P<allowed>\w+(, \w+)*) or (?P<last>\w+)",
       "{field}只能是 {allowed} 或 {last}"),
    _k("field_empty", r"(?P<field>\w+): is empty", "{field}不能为空"),
    _k("field_too_long", r"(?P<field>\w+): longer than (?P<limit>\d+) characters", "{field}最多 {limit} 个字"),
    _k("not_a_number", r"(?P<field>\w+): (?P<value>.+) is not a number", "{field}：{value} 不是数字"),
    _k("bad_amount", r"(?P<field>\w+): must be more than 0", "{field}应大于 0"),
    _k("bad_amount", r"(?P<field>\w+): must be between 0 and (?P<high>\S+)", "{field}应在 0 到 {high} 之间"),
    _k("bad_amount", r"(?P<field>\w+): more than 2 decimal places", "{field}最多两位小数"),
    _k("bad_date", r"(?P<field>\w+): (?P<value>.+) is not a date \(YYYY-MM-DD\)",
       "{field}：{value} 不是日期（YYYY-MM-DD）"),
    _k("customer_required", r"customer: external_userid or customer_name is required",
       "请填写客户（external_userid 或客户名称）"),
    _k("bad_currency", r"currency: (?P<value>.+) is not a 3-letter code", "币种 {value} 不是三位字母代码"),
    _k("overpaid", r"paid_amount: (?P<paid>\S+) is more than the amount (?P<amount>\S+)",
       "已付金额 {paid} 超过应收金额 {amount}"),
    _k("due_before_issue", r"due_on: is before issued_on", "到期日早于开票日"),
)


def _field(name: str) -> str:
    return FIELDS.get(name, name)


def _state(value: str) -> str:
    from wecom_hr.web.texts import UI  # at call time: wecom_hr.web imports the API modules

    for kind in ("departure_state", "item_status"):
        labels = UI[kind]
        if isinstance(labels, dict) and value in labels:
            return str(labels[value])
    return value


def _fill(known: Known, found: re.Match[str]) -> str:
    values = {k: _field(v) if k in _LABELLED else _state(v) if k in _STATED else v
              for k, v in found.groupdict().items()}
    return known.text.format(**values)


def describe(status: int, detail: str, code: str | None = None, *, with_detail: bool = True) -> tuple[str, str]:
    """(code, Chinese message) for an error of ``status`` whose English text is ``detail``."""
    for known in KNOWN:
        found = known.pattern.fullmatch(detail)
        if found and code in (None, known.code):
            return known.code, _fill(known, found)
    generic_code, generic = STATUS.get(status, STATUS[500] if status >= 500 else STATUS[400])
    if _CJK.search(detail):  # already said in Chinese (e.g. the follow-up form)
        return code or generic_code, detail
    return code or generic_code, f"{generic}：{detail}" if detail and with_detail else generic


def error_body(status: int, detail: str, code: str | None = None, *, with_detail: bool = True) -> dict[str, Any]:
    """The JSON of an error: ``error`` (English, as before), ``code`` and ``message`` (Chinese)."""
    found_code, message = describe(status, detail, code, with_detail=with_detail)
    return {"error": detail, "code": found_code, "message": message}
