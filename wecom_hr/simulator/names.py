"""Pools of realistic Chinese names, companies and labels for seeded corps."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator

# The people most test readers expect to see first, then surname x given-name combinations.
FIRST_PEOPLE = [("张伟", "zhangwei", "1"), ("李娜", "lina", "2"), ("王芳", "wangfang", "2"),
                ("刘洋", "liuyang", "1"), ("陈静", "chenjing", "2"), ("杨磊", "yanglei", "1"),
                ("赵敏", "zhaomin", "2"), ("黄强", "huangqiang", "1"), ("周杰", "zhoujie", "1"),
                ("吴艳", "wuyan", "2"), ("徐涛", "xutao", "1"), ("孙丽", "sunli", "2"),
                ("马超", "machao", "1"), ("朱琳", "zhulin", "2"), ("胡军", "hujun", "1"),
                ("郭峰", "guofeng", "1"), ("林秀英", "linxiuying", "2"), ("何勇", "heyong", "1")]
SURNAMES = [("张", "zhang"), ("王", "wang"), ("李", "li"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
            ("赵", "zhao"), ("黄", "huang"), ("周", "zhou"), ("吴", "wu"), ("徐", "xu"), ("孙", "sun"),
            ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
            ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song")]
GIVEN = [("伟", "wei", "1"), ("芳", "fang", "2"), ("娜", "na", "2"), ("敏", "min", "2"), ("静", "jing", "2"),
         ("磊", "lei", "1"), ("强", "qiang", "1"), ("洋", "yang", "1"), ("艳", "yan", "2"), ("勇", "yong", "1"),
         ("军", "jun", "1"), ("杰", "jie", "1"), ("娟", "juan", "2"), ("涛", "tao", "1"), ("明", "ming", "1"),
         ("超", "chao", "1"), ("霞", "xia", "2"), ("平", "ping", "1"), ("刚", "gang", "1"), ("桂英", "guiying", "2"),
         ("建华", "jianhua", "1"), ("玉兰", "yulan", "2"), ("志强", "zhiqiang", "1"), ("海燕", "haiyan", "2")]
TITLES = ["总", "总", "经理", "女士", "先生", "老板"]
CORP_WORDS = ["恒达", "华信", "鑫源", "嘉禾", "瑞丰", "金诚", "宏远", "盛世", "永安", "德顺", "天成", "万通",
              "博远", "汇丰", "安泰", "中联", "广源", "润发", "佳美", "新亚"]
INDUSTRIES = ["贸易", "科技", "实业", "建材", "电子", "物流", "食品", "医疗器械", "机械", "化工"]
CITIES = ["上海", "深圳", "广州", "杭州", "苏州", "成都", "武汉", "南京"]
NUMERALS = "一二三四五六七八九十"
TAGS = [("etTAGA0000000000000000", "A类客户"), ("etTAGB0000000000000000", "B类客户"),
        ("etTAGC0000000000000000", "C类客户")]
ID_FILLERS = str.maketrans("+/", "xQ")


def people(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    """(name, pinyin userid, gender) forever; ids stay unique by numbering repeats."""
    seen: dict[str, int] = {}
    combos = [(s + g, sp + gp, gender) for s, sp in SURNAMES for g, gp, gender in GIVEN]
    rng.shuffle(combos)
    index = 0
    first = {p[0] for p in FIRST_PEOPLE}
    pool = FIRST_PEOPLE + [c for c in combos if c[0] not in first]
    while True:
        name, userid, gender = pool[index % len(pool)]
        count = seen.get(userid, 0)
        seen[userid] = count + 1
        index += 1
        yield name, userid if count == 0 else f"{userid}{count + 1}", gender


def sales_department_name(index: int) -> str:
    return f"销售{NUMERALS[index]}部" if index < len(NUMERALS) else f"销售{index + 1}部"


def company(rng: random.Random) -> tuple[str, str]:
    """(short name, full registered name), e.g. ("恒达贸易", "上海恒达贸易有限公司")."""
    short = rng.choice(CORP_WORDS) + rng.choice(INDUSTRIES)
    return short, f"{rng.choice(CITIES)}{short}有限公司"


def customer_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES)[0] + rng.choice(TITLES)


def random_id(rng: random.Random, prefix: str) -> str:
    """``prefix`` + 20 letters and digits, like WeCom's opaque ids (fast: benchmarks mint 100,000)."""
    raw = base64.b64encode(rng.getrandbits(120).to_bytes(15, "big")).decode()
    return prefix + raw.translate(ID_FILLERS)


def mobile(rng: random.Random) -> str:
    return rng.choice(["138", "139", "135", "186", "177"]) + f"{rng.randrange(10**8):08d}"
