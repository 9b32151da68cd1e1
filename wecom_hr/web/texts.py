"""Every word the console says to people (Chinese), in one place."""

from __future__ import annotations

TITLE = "销售人事管控台"

# Login and session.
LOGIN_EXPIRED = "登录已过期，请重新打开链接"
LOGIN_NO_CODE = "未获得企业微信授权"
LOGIN_FAILED = "企业微信登录失败，请稍后重试"
LOGIN_MEMBERS_ONLY = "仅限企业成员使用"
ACCOUNT_REVOKED = "您的账号已无权访问"
LOGGED_OUT = "您已退出登录"
CSRF_REFUSED = "页面已过期，请刷新后重试"
LOGIN_THROTTLED = "登录尝试过于频繁，请一分钟后再试"

# Role checks.
FORBIDDEN = "您的角色无权查看此页面"
NOT_FOUND = "找不到该页面，或您无权查看"

ROLE_NAMES = {"compliance": "合规", "hr": "人事", "finance": "财务", "admin": "管理员",
              "manager": "经理", "salesperson": "销售"}

# Console areas in menu order; an area appears only to roles that may open it (roles.AREAS).
AREA_LABELS = {"archive": "会话存档", "watch": "风险预警", "audit": "审计日志", "customers": "客户池",
               "departures": "离职交接", "receivables": "应收账款", "kpis": "销售KPI"}
AREA_LABELS["departure_analysis"] = "离职分析"  # issue 17 (HR, admin)
AREA_HINTS = {"archive": "搜索销售与客户的聊天记录，查看上下文并导出",
              "watch": "敏感词规则与命中提醒",
              "audit": "谁在何时搜索、导出、审批了什么",
              "customers": "企业的全部外部联系人、跟进记录与流失事件",
              "departures": "发起离职交接，跟踪客户转接进度",
              "receivables": "账龄分布、逾期账款、催收任务与追款函",
              "kpis": "回复时效、客户覆盖、转化与复购，按团队与成员"}
AREA_HINTS["departure_analysis"] = "离职原因、交接后的客户流失率与回款率"

# KPI table columns (/console/kpis), in table order; the keys are /api/v1/kpis fields.
KPI_COLUMNS = {"name": "成员", "customers_owned": "名下客户", "customers_new": "新增客户", "customers_lost": "流失客户",
               "coverage_ratio": "跟进覆盖率", "reply_count": "回复数", "reply_median_seconds": "回复中位（工作时间）",
               "reply_p90_seconds": "回复 P90（工作时间）", "reply_within_sla_ratio": "SLA 内回复",
               "first_contact_24h_ratio": "新客 24 小时首联", "off_assignment_contacts": "非分配客户联系",
               "orders": "订单数", "order_amount": "订单金额", "conversion_ratio": "新客转化率",
               "repeat_ratio": "复购率", "open_alerts": "未结预警"}

AGING_LABELS = {"0-30": "0–30 天", "30-60": "30–60 天", "60-90": "60–90 天", "90+": "90 天以上"}

# Words the page scripts show, handed to them as JSON (base.html), so they too live here.
UI: dict[str, object] = {
    "loading": "加载中…", "empty": "没有记录", "error": "加载失败", "forbidden": "无权查看",
    "not_found": "找不到该记录，或您无权查看", "saved": "已保存", "prev": "上一页", "next": "下一页",
    "page": "第 {page} / {pages} 页，共 {total} 条", "context": "上下文", "close": "关闭",
    "letter": "追款函", "add_note": "添加跟进", "note_placeholder": "跟进说明", "promised_on": "承诺付款日",
    "submit": "提交", "started": "已发起离职交接",
    "customer_status": {"active": "跟进中", "lost": "无人跟进", "churned": "已流失"},
    "end_reason": {"member_deleted": "销售删除了客户", "customer_deleted": "客户删除了销售",
                   "transferred": "已转接", "missing_in_wecom": "企业微信中已不存在"},
    "history_kind": {"customer_created": "新增客户", "customer_updated": "客户资料变更",
                     "relation_opened": "开始跟进", "relation_updated": "跟进信息变更",
                     "relation_ended": "结束跟进", "relation_cleared": "跟进记录清理",
                     "relation_end_explained": "补充结束原因", "archive_agreed": "同意会话存档",
                     "transfer_failed": "转接失败", "member_renamed": "成员改名", "note_updated": "备注更新"},
    "receivable_status": {"open": "未付", "partial": "部分付款", "paid": "已付清"},
    "collection_status": {"open": "进行中", "closed": "已结束"},
    "departure_state": {"draft": "草稿", "pending_approval": "待经理审批", "approved": "已审批",
                        "transferring": "转接中", "completed": "已完成", "rejected": "已驳回",
                        "cancelled": "已取消"},
    "item_status": {"pending": "待转接", "sending": "转接中", "waiting": "等待客户接受", "done": "已转接",
                    "refused": "客户拒绝", "at_limit": "接替人客户已满", "no_record": "无转接记录",
                    "failed": "失败", "skipped": "已跳过", "open": "未结"},
    "item_kind": {"customer": "客户", "group_chat": "客户群", "receivable": "应收账款"},
    "msgtype": {"text": "文本", "image": "图片", "voice": "语音", "video": "视频", "file": "文件",
                "link": "链接", "revoke": "撤回", "markdown": "Markdown", "mixed": "图文混排",
                "chatrecord": "聊天记录", "agree": "同意存档", "disagree": "拒绝存档"},
    "severity": {"high": "高", "medium": "中", "low": "低"},
    "field": {"name": "名称", "corp_name": "企业", "corp_full_name": "企业全称", "position": "职位",
              "remark": "备注", "description": "描述", "remark_corp_name": "备注企业", "remark_mobiles": "备注手机",
              "tags": "标签", "note": "客户池备注", "ended_at": "结束时间", "createtime": "添加时间",
              "status": "状态", "first_owner": "首个跟进人", "userid": "成员", "new_userid": "新账号"},
    "audit_action": {"archive.search": "搜索存档", "archive.export": "导出存档", "archive.context": "查看上下文",
                     "archive.chart": "命中趋势", "archive.rule.create": "新增预警规则",
                     "archive.rule.delete": "删除预警规则", "receivables.upsert": "导入应收",
                     "receivables.payment": "登记回款", "receivables.followup": "账款跟进",
                     "receivables.reminders": "逾期提醒", "receivables.import": "导入应收 CSV",
                     "collections.close": "结束催收"},
}

# Exit questionnaire (离职问卷) and departure analysis (离职分析报告), issue 17.
EXIT_CLOSED = "该问卷已关闭"
EXIT_INVALID = {400: "请至少选择一项列出的原因，补充说明不超过 2000 字", 404: NOT_FOUND, 410: "该问卷已关闭"}
ANALYSIS_BAD_FILTER = "筛选条件有误：日期格式为 YYYY-MM-DD，部门为编号"
ANALYSIS_REASONS_CHART = "离职原因（按最后工作日所在月份）"
ANALYSIS_LOSS_CHART = "交接后 90 天客户流失率（按部门）"
ANALYSIS_RECOVERY_CHART = "交接后应收回款率（按部门）"
ANALYSIS_UNKNOWN_DEPT = "未知部门"

# Finance actions on the receivables page: CSV import, payments, closing a collection task (issue 20).
IMPORT_NO_FILE = "请选择要导入的 CSV 文件"
IMPORT_FILE_REFUSED = "文件未导入："
UI.update({"record_payment": "登记回款", "payment_amount": "回款金额", "paid_on": "回款日期",
           "payment_reference": "流水号（选填）", "payment_recorded": "已登记回款", "cancel": "取消",
           "close_task": "结束任务", "close_task_confirm": "确定结束该客户的催收吗？再有账款进入催收时会重新打开。",
           "task_closed": "任务已结束", "note_overdue": "待补跟进说明", "save": "保存"})

# The home page's to-dos (/console/, /console/api/todo), issue 20 item 2.
TODO_TITLES = {"approvals": "待我审批的离职交接", "signoffs": "待我签字的交接清单", "risk": "未结风险案件",
               "watch_hits": "新的预警命中", "overdue_own": "我的逾期应收", "overdue_team": "团队逾期应收",
               "overdue_all": "全部逾期应收", "collections": "进行中的催收任务", "departures": "进行中的离职交接"}
TODO_EMPTY = "暂无待办事项"
TODO_MORE = "查看全部 {count} 项"
TODO_KPIS = "查看销售KPI"
TODO_AREAS = "常用入口"

# Error pages (web/error.html) for pages that are not JSON, issue 20 item 4. status -> (title, what to do).
ERROR_PAGES = {400: ("请求有误", "请检查地址或填写的内容后重试。"),
               401: ("请先登录", "登录已过期，请从企业微信重新打开。"),
               403: ("无权访问", "您的角色无权查看此页面；如需开通，请联系管理员。"),
               404: ("找不到页面", "您要找的页面不存在，或地址有误。"),
               405: ("不支持的操作", "该页面不支持这种请求方式，请从菜单重新进入。"),
               409: ("操作冲突", "该记录的状态已变化，请刷新后重试。"),
               410: ("已失效", "该链接已失效。"),
               413: ("内容过大", "上传的内容不能超过 16 MB。"),
               429: ("操作过于频繁", "请稍等一分钟再试。"),
               500: ("服务器出错了", "请稍后重试；如果一直出现，请把下面的错误编号告诉管理员。")}
ERROR_REFERENCE = "错误编号"
ERROR_HOME = "返回首页"
