"""The chat archive: the Finance SDK loads and answers, each private key reads and opens its
publickey_ver's messages, and the hash chain has its key."""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import select

from storage.archive import ArchiveEnvelope
from storage.archive_store import Envelope
from wecom_hr.archive.errors import SDK_CODES, ArchiveError, ChatDataError, SdkError, SdkUnavailableError
from wecom_hr.archive.keys import KeyRing
from wecom_hr.archive.service import archive_settings
from wecom_hr.archive.settings import ArchiveSettings
from wecom_hr.archive.source import SdkSource
from wecom_hr.doctor.meanings import meaning
from wecom_hr.doctor.result import Check, Probe
from wecom_hr.runtime import Runtime


def _stored(runtime: Runtime, version: int) -> Envelope | None:
    with runtime.db.session_scope() as s:
        row = s.scalars(select(ArchiveEnvelope).where(ArchiveEnvelope.publickey_ver == version)
                        .order_by(ArchiveEnvelope.id.desc()).limit(1)).first()
        return Envelope(row.seq, row.msgid, row.publickey_ver, row.encrypt_random_key, row.encrypt_chat_msg) \
            if row else None


def finance_sdk(runtime: Runtime, _probe: Probe) -> Iterator[Check]:
    settings = archive_settings(runtime)
    if not settings.enabled:
        yield Check.skip("archive.sdk_path", "未配置：会话内容存档未启用")
        return
    source = SdkSource(settings, runtime.settings.wecom.corp_id, runtime.secret("archive"))
    try:
        yield from _checks(runtime, settings, source)
    finally:
        source.close()


def _checks(runtime: Runtime, settings: ArchiveSettings, source: SdkSource) -> Iterator[Check]:
    fetched: list[Envelope] = []
    try:
        fetched = source.fetch(0, 1)
    except SdkUnavailableError as exc:
        yield Check.fail("archive.sdk_path", f"SDK 无法加载：{exc}")
        return
    except ChatDataError as exc:
        yield Check.fail("wecom.archive_secret", f"GetChatData 失败，{meaning(exc.errcode, str(exc))}")
    except SdkError as exc:
        yield Check.fail("wecom.archive_secret", f"GetChatData 返回 {exc.code}（{SDK_CODES.get(exc.code, '未知')}）："
                         "检查会话存档 secret、可信 IP 和网络/代理 archive.proxy")
    except ArchiveError as exc:
        yield Check.fail("archive.sdk_path", f"SDK 调用失败：{exc}")
        return
    else:
        yield Check.ok("archive.sdk_path", f"SDK 可加载，GetChatData 正常（取回 {len(fetched)} 条）")
    yield from _keys(runtime, settings, source, fetched)
    if settings.chain_key:
        yield Check.ok("archive.chain_key", "已设置（存档防篡改链的密钥）")
    else:
        yield Check.fail("archive.chain_key", "未设置：存档的防篡改哈希链没有密钥，请设置并妥善保管")


def _keys(runtime: Runtime, settings: ArchiveSettings, source: SdkSource, fetched: list[Envelope]) -> Iterator[Check]:
    if not settings.private_keys:
        yield Check.fail("archive.private_keys", "没有配置私钥：消息无法解密（publickey_ver = 私钥 PEM 文件）")
        return
    ring = KeyRing(settings.private_keys)
    problems = ring.check()
    for version in sorted(settings.private_keys):
        key = f"archive.private_keys.{version}"
        if version in problems:
            yield Check.fail(key, f"私钥无法读取：{problems[version][:160]}")
            continue
        sample = next((e for e in fetched if e.publickey_ver == version), None) or _stored(runtime, version)
        if sample is None:
            yield Check.ok(key, "私钥可读取（还没有这个版本的消息可以试解）")
            continue
        try:
            body = source.decrypt(ring.random_key(version, sample.encrypt_random_key), sample.encrypt_chat_msg)
            json.loads(body)
        except (ArchiveError, ValueError):
            yield Check.fail(key, f"私钥与 publickey_ver {version} 不匹配：解不开消息 {sample.msgid[:40]}，"
                                  "请核对管理后台上传的公钥版本")
            continue
        yield Check.ok(key, f"私钥与 publickey_ver {version} 匹配（已试解一条消息）")
