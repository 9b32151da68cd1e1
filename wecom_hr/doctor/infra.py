"""This machine's side: the public address, the database, Redis and the clock."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import text

from storage import db as dbmod
from wecom_hr.doctor.result import Check, Probe
from wecom_hr.runtime import Runtime

MAX_SKEW_SECONDS = 60  # WeCom stamps callbacks with its clock; our replay window compares with ours


def public_url(runtime: Runtime, _probe: Probe) -> Iterator[Check]:
    url = runtime.settings.public_url
    if url.startswith("https://"):
        yield Check.ok("server.public_url", f"{url} 使用 https")
    else:
        yield Check.fail("server.public_url", f"{url} 不是 https：企业微信的回调、网页授权和卡片链接"
                         "都需要 https 的可信域名")


def database(runtime: Runtime, _probe: Probe) -> Iterator[Check]:
    url = runtime.settings.database_url
    try:
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        yield Check.fail("database.url", f"数据库连不上（{type(exc).__name__}）：检查地址、账号和网络")
        return
    if not dbmod.is_up_to_date(url):
        yield Check.fail("database.url", "数据库结构不是最新：运行 wecom-hr db upgrade")
        return
    yield Check.ok("database.url", f"数据库可用（{runtime.db.engine.dialect.name}），结构为最新")


def redis(runtime: Runtime, _probe: Probe) -> Iterator[Check]:
    if runtime.redis is None:
        yield Check.skip("redis.url", "未配置 Redis：只能单进程运行（多进程部署需要 Redis）")
        return
    try:
        runtime.redis.ping()
    except Exception as exc:
        yield Check.fail("redis.url", f"Redis 连不上（{type(exc).__name__}）")
        return
    yield Check.ok("redis.url", "Redis 可用")


def clock(runtime: Runtime, probe: Probe) -> Iterator[Check]:
    if not probe.wecom_dates:
        yield Check.skip("server clock", "没有企业微信的应答，无法比对时钟")
        return
    ours, theirs = probe.wecom_dates[-1]
    skew = ours - theirs
    window = runtime.settings.callback.replay_window_seconds
    where = f"本机时钟比企业微信{'快' if skew > 0 else '慢'} {abs(skew):.0f} 秒"
    if abs(skew) > MAX_SKEW_SECONDS:
        yield Check.fail("callback.replay_window_seconds",
                         f"{where}：请开启 NTP 时间同步（超过 {window} 秒的回调会被拒绝）")
    else:
        yield Check.ok("callback.replay_window_seconds", f"{where}（窗口 {window} 秒）")
