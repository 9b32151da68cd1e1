"""contact_diversion: every shape found (plain, with separators, in full-width forms), with its
confidence; ordinary sales talk (order numbers, prices, dates, times) not flagged; bounded time."""

from __future__ import annotations

import time

import pytest

from wecom_hr.risk import diversion
from wecom_hr.risk.diversion import HIGH, LOW, MAX_CHARS, MEDIUM, find, fold, luhn, may_hold, primes_qr


def card_number(prefix: str, length: int) -> str:
    body = prefix + "0" * (length - len(prefix) - 1)
    return next(body + d for d in "0123456789" if luhn(body + d))


UNIONPAY = card_number("6222021234567", 19)
VISA = card_number("4111222233334", 16)

FOUND = [
    ("我手机13812345678，直接打", "mobile", HIGH),
    ("电话 138 1234 5678", "mobile", HIGH),
    ("电话 138-1234-5678", "mobile", HIGH),
    ("+86 139.1234.5678", "mobile", HIGH),
    ("打我电话１３９１２３４５６７８", "mobile", HIGH),          # full-width digits
    ("vx: zhang_san88", "wechat", HIGH),
    ("加我ＶＸ：ｚｈａｎｇｓａｎ８８", "wechat", HIGH),            # full-width letters and colon
    ("微信号 Li-Si_2024 有事找我", "wechat", HIGH),
    ("v信 abc12345", "wechat", HIGH),
    ("wx=shop_owner1", "wechat", HIGH),
    ("wxid_k2j3h4g5f6", "wechat", HIGH),
    ("wxabc12345", "wechat", MEDIUM),                        # glued to the keyword: maybe a code
    ("加我微信聊，便宜点", "wechat", MEDIUM),
    (f"卡号 {UNIONPAY[:4]} {UNIONPAY[4:8]} {UNIONPAY[8:12]} {UNIONPAY[12:16]} {UNIONPAY[16:]}", "bank_card", HIGH),
    (f"转账到 {VISA}", "bank_card", HIGH),
    (f"{VISA} 这个", "bank_card", MEDIUM),                   # Luhn-valid, no bank word, not UnionPay
    ("支付宝 zhang.san@163.com", "alipay", HIGH),
    ("支付宝账号：13812345678", "alipay", HIGH),
    ("联系邮箱 someone@example.com", "email", MEDIUM),
    ("拍这个 https://m.tb.cn/h.5Xyz9?sm=abc", "shop", HIGH),
    ("mobile.yangkeduo.com/goods.html?goods_id=1", "shop", HIGH),
    ("复制 ￥AbCd1234Xy￥ 打开淘宝", "shop", HIGH),               # 淘口令
    ("去拼多多搜我的店", "shop", MEDIUM),
    ("闲鱼上便宜", "shop", MEDIUM),
    ("你在淘宝看过吗", "shop", LOW),
]

ORDINARY = [
    "您好，关于这批货的报价我发您",
    "订单号 SO-20261203-0001 已发货",
    "订单 SO20261203000123456 已签收",                         # a 17-digit order number
    "报价 ¥12800，含税",
    "总价 ¥1,280,000.00，首付 30%",
    "单价 ¥138.00，共 12345678 件",
    "交货日期 2026-12-03，上午 10:30 到",
    "会议 2026/12/03 14:30-15:30",
    "合同编号 HT-2026-1203-0001",
    "价格能不能再低一点？",
    "可以给您申请 3% 返点，走公司合同",
    "发票抬头：某某科技有限公司，税号 91310000MA1FL8XX1X",
    "今天 13:45 打给您",
    "型号 XJ-2000，数量 200 台",
    "微信支付或者对公转账都可以",
    "快递单号 SF1234567890123",
]


@pytest.mark.parametrize(("text", "shape", "confidence"), FOUND)
def test_each_shape_is_found_with_its_confidence(text: str, shape: str, confidence: str) -> None:
    hits = find(text)
    assert [(h.shape, h.confidence) for h in hits] == [(shape, confidence)], hits
    assert hits[0].excerpt


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_sentences_are_not_flagged(text: str) -> None:
    assert find(text) == []


def test_qr_images_are_primed_by_words() -> None:
    assert primes_qr("扫码加我微信") == HIGH
    assert primes_qr("我淘宝店铺") == MEDIUM
    assert primes_qr("这是产品图") is None


def test_input_is_bounded_and_linear() -> None:
    hostile = ("1" * 10 + " ") * 50_000 + "vx:" + "a" * 100_000
    started = time.perf_counter()
    find(hostile)
    assert time.perf_counter() - started < 1.0
    assert find("x" * MAX_CHARS + " 13812345678") == []  # past the bound: not read


# Shapes the finders know, each alone and in a sentence without a digit: the pre-filter must let them all through.
WITHOUT_DIGITS = ["wechat: zhangsan_abc", "weixin lisi_abcdef", "威信 abcdefgh", "薇信 abcdefgh", "徽信 abcdefgh",
                  "加v 聊", "私下交易吧", "私人账户转", "someone@example.com", "taobao.com/item", "www.jd.com",
                  "￥AbCdEfGhXy￥", "$abcdefghij$", "小红书 店里买", "抖店下单", "微信同号"]


@pytest.mark.parametrize("text", [t for t, _, _ in FOUND] + ORDINARY + WITHOUT_DIGITS)
def test_the_pre_filter_never_hides_a_hit(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = find(text)
    monkeypatch.setattr(diversion, "may_hold", lambda folded: bool(folded))  # every text through the finders
    assert find(text) == expected
    if expected:
        assert may_hold(fold(text))


def test_ordinary_chat_skips_the_finders() -> None:
    assert not may_hold(fold("价格能再低一点吗？好的，明天发货"))
    assert may_hold(fold("明天 3 点"))  # a digit: the finders run (and find nothing)
