"""What WeCom's errcodes mean to the person fixing the configuration (Chinese, with the place to fix)."""

from __future__ import annotations

MEANINGS: dict[int, str] = {
    -1: "企业微信系统繁忙，请稍后重试",
    40001: "secret 不正确，或不属于这个 corp_id（管理后台 → 应用 → Secret 查看）",
    40013: "corp_id 不正确（管理后台 → 我的企业 → 企业ID）",
    40014: "access_token 无效",
    40091: "secret 格式不正确",
    41004: "secret 为空",
    42001: "access_token 已过期",
    48002: "该 secret 无权调用此接口（应用未获授权：客户联系 → API → 可调用应用 中加入本应用）",
    60011: "不在应用的可见范围内（管理后台 → 应用 → 可见范围）",
    60020: "本机出口 IP 不在应用的「企业可信IP」中（管理后台 → 应用 → 企业可信IP）",
    60111: "成员 userid 不存在",
    84061: "客户尚未真正添加为好友",
    301042: "会话存档：本机 IP 不在会话内容存档的可信 IP 中",
}


def meaning(errcode: int, errmsg: str = "") -> str:
    known = MEANINGS.get(errcode)
    if known:
        return f"企业微信返回 {errcode}：{known}"
    return f"企业微信返回 {errcode}：{errmsg[:120] or '未知错误'}"
