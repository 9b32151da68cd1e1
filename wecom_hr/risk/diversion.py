"""Contact details passed in chats (contact_diversion): mobile numbers, WeChat IDs, bank cards,
Alipay accounts, other shops, and QR codes sent right after such words.

Text is folded with NFKC first (full-width digits, letters, colons and plus signs become ASCII),
lower-cased and cut to MAX_CHARS; every pattern is RE2 (linear time, no backtracking), and the
checks after a match (Luhn, keywords nearby) look at a bounded slice. Each hit has a confidence:
high (a detail someone can act on), medium (likely, but an ordinary reading exists), low (a mention).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import re2

MAX_CHARS = 4000
EXCERPT = 30
HIGH, MEDIUM, LOW = "high", "medium", "low"
RANK = {LOW: 1, MEDIUM: 2, HIGH: 3}

_SEP = r"[\s\-._·]{0,2}"
_PHONE = r"1[3-9]\d(?:" + _SEP + r"\d){8}"
MOBILE = re2.compile(r"(?:^|[^\d])((?:\+?86" + _SEP + r")?" + _PHONE + r")")
CARD = re2.compile(r"(?:^|[^\d])(\d(?:[\s\-]?\d){15,18})")
_WECHAT_WORDS = r"微信号|微信|威信|薇信|徽信|v信|vx|wx|wechat|weixin|加v"
WECHAT = re2.compile(r"(?:^|[^a-z0-9])(" + _WECHAT_WORDS + r")(?:号|id)?([\s:=\-_是为]{0,4})([a-z][a-z0-9_\-]{5,19})")
WXID = re2.compile(r"(?:^|[^a-z0-9])(wxid_[a-z0-9]{6,24})")
_EMAIL = r"[a-z0-9._%+\-]{1,64}@[a-z0-9\-]{1,63}(?:\.[a-z0-9\-]{1,63}){0,4}\.[a-z]{2,10}"
ALIPAY = re2.compile(r"支付宝(?:账号|账户|帐号|号)?[\s:=是为]{0,4}(" + _PHONE + "|" + _EMAIL + ")")
EMAIL = re2.compile(_EMAIL)
SHOP_LINK = re2.compile(r"(?:[a-z0-9\-]+\.)*(?:taobao\.com|tmall\.com|tb\.cn|yangkeduo\.com|pinduoduo\.com|"
                        r"goofish\.com|jd\.com|3\.cn|weidian\.com|youzan\.com|xiaohongshu\.com|xhslink\.com|"
                        r"1688\.com|douyin\.com|kuaishou\.com)(?:/[\w\-./?=&%#]{0,200})?")
TAOKOULING = re2.compile(r"([¥$€£¢₤])([a-z0-9]{8,14})([¥$€£¢₤])")  # 淘口令: ￥AbCd1234￥

SHOPS = ("拼多多", "淘宝", "闲鱼", "咸鱼", "天猫", "京东", "抖音小店", "抖店", "快手小店", "微店", "有赞", "小红书")
SHOP_ACTIONS = ("店", "链接", "搜", "下单", "拍", "买", "便宜", "私下", "地址")
WECHAT_HINTS = ("加我微信", "加个微信", "加微信", "微信同号", "加vx", "加wx", "私下交易", "私下付款", "私人账户")
CARD_WORDS = ("卡号", "银行", "账号", "帐号", "转账", "收款", "打款", "汇款", "打到")
NOT_CARD_WORDS = ("订单", "单号", "编号", "运单", "快递", "order", "no.", "发票")
QR_WORDS = ("二维码", "扫码", "扫一扫", "扫这个", "长按识别", "名片", "加我", "加v", "加微信", "加个微信")
DIVERSION_WORDS = ("微信", "vx", "wx", "v信", "支付宝", "收款", "私下", "店铺", *SHOPS)
# Text that can hold a hit holds one of these (folded): a digit, or a word or sign one of the finders
# below needs. Most chat text holds none, and one scan is all it costs.
_TRIGGERS = ("@", ".com", ".cn", "支付宝", "¥", "$", "€", "£", "¢", "₤", *_WECHAT_WORDS.split("|"), *WECHAT_HINTS,
             *SHOPS)
MAY_HOLD = re2.compile("[0-9]|" + "|".join(re2.escape(w) for w in _TRIGGERS))


@dataclass(frozen=True)
class Hit:
    shape: str        # mobile | wechat | bank_card | alipay | email | shop | qr_code
    confidence: str   # high | medium | low
    start: int
    end: int
    excerpt: str      # the folded text around the hit


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()[:MAX_CHARS]


def may_hold(folded: str) -> bool:
    """Whether folded text has what any finder needs; False means find() has nothing to report."""
    return bool(folded) and MAY_HOLD.search(folded) is not None


def excerpt(text: str, start: int, end: int) -> str:
    lo, hi = max(0, start - EXCERPT), min(len(text), end + EXCERPT)
    body = " ".join(text[lo:hi].split())
    return ("…" if lo else "") + body + ("…" if hi < len(text) else "")


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def find(text: str) -> list[Hit]:
    """Every contact detail in one message's text, strongest shapes first, none overlapping."""
    t = fold(text)
    if not may_hold(t):
        return []
    hits: list[Hit] = []
    taken: list[tuple[int, int]] = []

    def add(shape: str, confidence: str, start: int, end: int) -> None:
        if any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        hits.append(Hit(shape, confidence, start, end, excerpt(t, start, end)))

    for finder in (_alipay, _shop_links, _cards, _mobiles, _wechat_ids, _emails):
        for shape, confidence, start, end in finder(t):
            add(shape, confidence, start, end)
    shown = {h.shape for h in hits}
    for shape, confidence, start, end in _mentions(t):
        if shape not in shown:  # a word next to the detail itself adds nothing
            add(shape, confidence, start, end)
    return hits


Found = list[tuple[str, str, int, int]]


def _alipay(t: str) -> Found:
    return [("alipay", HIGH, m.start(), m.end(1)) for m in ALIPAY.finditer(t)] if "支付宝" in t else []


def _digit_after(t: str, end: int) -> bool:
    return end < len(t) and t[end].isdigit()


def _mobiles(t: str) -> Found:
    return [("mobile", HIGH, *m.span(1)) for m in MOBILE.finditer(t) if not _digit_after(t, m.end(1))]


def _cards(t: str) -> Found:
    found: Found = []
    for m in CARD.finditer(t):
        start, end = m.span(1)
        digits = "".join(ch for ch in m.group(1) if ch.isdigit())
        if _digit_after(t, end) or not 16 <= len(digits) <= 19 or not luhn(digits):
            continue
        before = t[max(0, start - 12):start]
        if any(w in before for w in NOT_CARD_WORDS):
            continue
        strong = digits.startswith("62") or any(w in before for w in CARD_WORDS)
        found.append(("bank_card", HIGH if strong else MEDIUM, start, end))
    return found


def _wechat_ids(t: str) -> Found:
    found: Found = [("wechat", HIGH, *m.span(1)) for m in WXID.finditer(t)]
    for m in WECHAT.finditer(t):
        end = m.end(3)
        if end < len(t) and (t[end].isascii() and (t[end].isalnum() or t[end] in "_-")):
            continue  # longer than a WeChat ID can be
        latin_glued = m.group(1).isascii() and not m.group(2)
        found.append(("wechat", MEDIUM if latin_glued else HIGH, m.start(1), end))
    return found


def _emails(t: str) -> Found:
    return [("email", MEDIUM, *m.span()) for m in EMAIL.finditer(t)] if "@" in t else []


def _shop_links(t: str) -> Found:
    found: Found = [("shop", HIGH, *m.span()) for m in SHOP_LINK.finditer(t)] if "." in t else []
    for m in TAOKOULING.finditer(t):
        if any(ch.isalpha() for ch in m.group(2)) and any(ch.isdigit() for ch in m.group(2)):
            found.append(("shop", HIGH, *m.span()))
    return found


def _mentions(t: str) -> Found:
    """Words without a detail: medium when they ask to move the conversation or the order, else low."""
    found: Found = []
    for hint in WECHAT_HINTS:
        at = t.find(hint)
        if at >= 0:
            found.append(("wechat", MEDIUM, at, at + len(hint)))
    for shop in SHOPS:
        at = t.find(shop)
        if at >= 0:
            near = t[max(0, at - 8):at + len(shop) + 8]
            found.append(("shop", MEDIUM if any(a in near for a in SHOP_ACTIONS) else LOW, at, at + len(shop)))
    return found


def weaker(hit: Hit) -> Hit:
    return Hit(hit.shape, {HIGH: MEDIUM, MEDIUM: LOW, LOW: LOW}[hit.confidence], hit.start, hit.end, hit.excerpt)


def primes_qr(text: str) -> str | None:
    """The confidence an image right after this text is a QR code for going elsewhere, or None."""
    t = fold(text)
    if any(w in t for w in QR_WORDS):
        return HIGH
    if any(w in t for w in DIVERSION_WORDS):
        return MEDIUM
    return None
