"""Realistic synthetic Chinese sales chats, as decrypted archive messages (WeCom's JSON shape).

Salespeople talk to customers one-to-one and in customer groups about products, prices, delivery
and invoices; a small share of messages is diversion talk (加我私人微信, 拼多多 …) so watch-lists
and rare searches have something to find. Deterministic for a given seed.

    python -m bench.chat_generator --messages 5 --seed 1
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from typing import Any

PRODUCTS = ["空调", "冰箱", "洗衣机", "净水器", "扫地机器人", "智能门锁", "热水器", "油烟机", "电视", "空气净化器",
            "新风系统", "烘干机", "洗碗机", "投影仪", "按摩椅", "服务器", "办公桌椅", "打印机"]
MODELS = ["KFR-35GW", "BCD-470", "XQG100", "MR-400G", "X20 Pro", "Q7 Max", "JSQ30", "CXW-260", "65E7K", "HY-600"]
BRANDS = ["海尔", "美的", "格力", "小米", "华为", "西门子", "方太", "松下", "科沃斯", "戴森"]
CITIES = ["上海", "北京", "杭州", "苏州", "成都", "广州", "深圳", "南京", "武汉", "西安"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
DAYS = ["今天", "明天", "后天", "周一", "周三", "周五", "下周", "月底"]

SALES = [
    "您好，我是{brand}的销售{name}，很高兴为您服务", "这款{product}现在活动价{price}元，性价比很高",
    "今天下单可以再优惠{n}百，还送安装", "我们{day}发货，{m}天内送到{city}", "需要的话我给您发一份报价单",
    "发票可以开增值税专用发票", "合同我已经发到您邮箱了，请查收", "这边已经帮您申请了{pct}折的特价",
    "安装师傅{day}上门，请保持电话畅通", "您看还有什么问题吗？", "好的，有需要随时联系我",
    "{model}是今年的新款，能效一级", "这个价格是公司统一定价，全国都一样", "已经帮您下单了，订单号{order}",
    "收到您的付款了，谢谢支持", "售后有问题直接找我就行", "这周末门店有活动，可以过来体验一下",
    "保修{m}年，上门服务", "库存不多了，建议尽快确认", "您好，上次说的{product}考虑得怎么样了？",
    "我们公司账户是对公账户，请走公司流程", "{model}和{model2}的区别主要在功率和噪音",
]
CUSTOMERS = [
    "这个{product}多少钱？", "能便宜点吗", "别家报价才{price}", "什么时候能发货", "保修几年？", "好的我考虑一下",
    "可以开发票吗", "质量怎么样，会不会有问题", "收到了，谢谢", "OK", "嗯嗯", "[微笑]", "好的", "行",
    "{model}有现货吗", "能送到{city}吗", "安装要另外收费吗", "我们公司要采购{n}台", "价格能不能再谈谈",
    "你们有没有返点", "老板说预算只有{price}", "对公转账还是个人转账", "麻烦发一下合同", "明天给你答复",
    "已经付款了，请查收", "安装师傅几点到", "这个颜色还有别的吗", "和{brand}比哪个好",
]
# Order diversion and side deals: rare on purpose (the watch-list and rare-search targets).
RISKY = [
    "加我私人微信{wx}，私聊给你更低的价", "转账给我个人账户可以再便宜{n}百", "我们私下交易吧，不走公司系统",
    "你去拼多多下单，我给你返现", "走我个人账户，不开票便宜{pct}个点", "这单我给你{n}个点的返点，别跟公司说",
    "PDD上同款便宜，你直接在那边拍", "换个手机号联系，公司微信不方便说",
]


class ChatGenerator:
    def __init__(self, seed: int = 1, sales: int = 200, customers: int = 50000, rooms: int = 2000,
                 start_ms: int = 1_700_000_000_000, mean_gap_ms: int = 20_000, risky_share: float = 0.002) -> None:
        self.rng = random.Random(seed)
        names = ["zhangwei", "lina", "wangfang", "liuyang"] * sales
        self.sales = [f"{p}{i:03d}" for i, p in zip(range(sales), names, strict=False)]
        self.customers = [("wm" if i % 3 else "wo") + f"Ab{i:06d}x" for i in range(customers)]
        self.rooms = [f"wrRoom{i:05d}" for i in range(rooms)]
        self.clock = start_ms
        self.mean_gap = mean_gap_ms
        self.risky_share = risky_share
        self.count = 0
        self.active: list[dict[str, Any]] = [self._conversation() for _ in range(64)]

    def _conversation(self) -> dict[str, Any]:
        r = self.rng
        salesperson = r.choice(self.sales)
        if r.random() < 0.15:
            members = [salesperson, *r.sample(self.customers, r.randint(2, 6)), r.choice(self.sales)]
            return {"room": r.choice(self.rooms), "members": members, "left": r.randint(5, 40)}
        return {"room": "", "members": [salesperson, r.choice(self.customers)], "left": r.randint(4, 30)}

    def _fill(self, template: str) -> str:
        r = self.rng
        return template.format(
            brand=r.choice(BRANDS), name=r.choice(SURNAMES) + r.choice("伟芳娜敏静磊强军洋勇"),
            product=r.choice(PRODUCTS), price=r.randrange(500, 30000, 100), n=r.randint(1, 9),
            day=r.choice(DAYS), m=r.randint(1, 7), city=r.choice(CITIES), pct=r.randint(5, 9),
            model=r.choice(MODELS), model2=r.choice(MODELS), order=f"SO{r.randint(10**8, 10**9)}",
            wx=f"wx_{r.randint(1000, 9999)}")

    def _text(self, sender: str) -> str:
        if self.rng.random() < self.risky_share:
            return self._fill(self.rng.choice(RISKY))
        pool = CUSTOMERS if sender.startswith(("wm", "wo")) else SALES
        text = self._fill(self.rng.choice(pool))
        if self.rng.random() < 0.3:  # people often send two thoughts in one message
            text += self.rng.choice("，。 ") + self._fill(self.rng.choice(pool))
        return text

    def _body(self, msgtype: str, sender: str) -> dict[str, Any]:
        r = self.rng
        if msgtype == "text":
            return {"text": {"content": self._text(sender)}}
        if msgtype == "image":
            return {"image": {"md5sum": f"{r.getrandbits(128):032x}", "filesize": r.randint(10**4, 10**6),
                              "sdkfileid": f"img{self.count}"}}
        if msgtype == "file":
            return {"file": {"md5sum": f"{r.getrandbits(128):032x}", "filename": f"{r.choice(PRODUCTS)}报价单.pdf",
                             "fileext": "pdf", "filesize": r.randint(10**4, 10**6), "sdkfileid": f"file{self.count}"}}
        if msgtype == "link":
            return {"link": {"title": f"{r.choice(BRANDS)}{r.choice(PRODUCTS)}官方旗舰店", "description": "限时优惠",
                             "link_url": "https://example.com/item", "image_url": ""}}
        return {"revoke": {"pre_msgid": f"gen{max(self.count - r.randint(1, 20), 0):09d}"}}

    def message(self) -> dict[str, Any]:
        r = self.rng
        i = r.randrange(len(self.active))
        conv = self.active[i]
        conv["left"] -= 1
        if conv["left"] <= 0:
            self.active[i] = self._conversation()
        self.clock += int(r.expovariate(1 / self.mean_gap)) + 1
        sender = r.choice(conv["members"])
        roll = r.random()
        msgtype = ("text" if roll < 0.9 else "image" if roll < 0.96 else "file" if roll < 0.975
                   else "link" if roll < 0.995 else "revoke")
        msg = {"msgid": f"gen{self.count:09d}", "action": "recall" if msgtype == "revoke" else "send",
               "from": sender, "tolist": [m for m in conv["members"] if m != sender], "roomid": conv["room"],
               "msgtime": self.clock, "msgtype": msgtype, **self._body(msgtype, sender)}
        self.count += 1
        return msg

    def messages(self, n: int) -> Iterator[dict[str, Any]]:
        for _ in range(n):
            yield self.message()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for msg in ChatGenerator(args.seed).messages(args.messages):
        print(json.dumps(msg, ensure_ascii=False))


if __name__ == "__main__":
    main()
