"""Typed archive errors: the puller decides per type whether to retry, skip a message or stop.

``diagnose(exc)`` turns any of them into the one line an operator reads (CLI, jobs, alerts): the
code's name and meaning, the SDK's own stderr diagnostic when it printed one, and what to check.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Finance SDK return codes (WeWorkFinanceSdk_C.h).
SDK_CODES = {
    10000: "bad parameters", 10001: "network error", 10002: "data parse failed", 10003: "system error",
    10004: "key error", 10005: "bad fileid", 10006: "decrypt failed", 10007: "no private key for this version",
    10008: "bad encrypt_key", 10009: "IP not allowed", 10010: "data expired", 10011: "certificate error",
}


class ArchiveError(Exception):
    """Base of every chat-archive failure."""


class SdkError(ArchiveError):
    """A Finance SDK call returned a non-zero code; ``stderr`` holds what the SDK printed meanwhile
    (the real one prints WeCom's own answer there, e.g. ``WeWorkFinanceSdk:access:{"errcode": 40001}``)."""

    def __init__(self, call: str, code: int, stderr: str = "") -> None:
        super().__init__(f"{call} returned {code} ({SDK_CODES.get(code, 'unknown code')})")
        self.call = call
        self.code = code
        self.stderr = stderr


class SdkCrashedError(ArchiveError):
    """The SDK took its process down (an abort inside the library); the service lives on."""

    def __init__(self, call: str, returncode: int | None, detail: str = "") -> None:
        how = f"signal {-returncode}" if returncode is not None and returncode < 0 else f"exit {returncode}"
        self.summary = f"the SDK process died during {call} ({how})"
        super().__init__(self.summary + (f": {detail}" if detail else ""))
        self.call = call
        self.returncode = returncode
        self.stderr = detail


class SdkTimeoutError(ArchiveError):
    """An SDK call did not answer in time; its process was killed."""


class SdkUnavailableError(ArchiveError):
    """The SDK library cannot be loaded (missing file, wrong architecture, missing symbol)."""


class ChatDataError(ArchiveError):
    """GetChatData answered with an errcode in its JSON body."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"GetChatData errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class MissingKeyError(ArchiveError):
    """No private key is configured for a message's publickey_ver."""

    def __init__(self, version: int) -> None:
        super().__init__(f"no private key configured for publickey_ver {version}")
        self.version = version


class KeyDecryptError(ArchiveError):
    """encrypt_random_key could not be RSA-decrypted with the configured key."""


class PullFailedError(ArchiveError):
    """A pull failed (``cause``); the decrypt pass of what was already stored ran anyway (``figures``)."""

    def __init__(self, cause: ArchiveError, figures: dict[str, Any]) -> None:
        super().__init__(diagnose(cause))  # what a log line of this exception shows
        self.cause = cause
        self.figures = figures
        self.stderr = str(getattr(cause, "stderr", "") or "")


def error_code(exc: BaseException) -> int | None:
    """The SDK's or WeCom's numeric code behind a failure, if it has one."""
    if isinstance(exc, PullFailedError):
        return error_code(exc.cause)
    if isinstance(exc, SdkError):
        return exc.code
    return exc.errcode if isinstance(exc, ChatDataError) else None


# What to check for each SDK code.
_CHECKS = {
    10000: "wecom.corp_id, wecom.archive_secret and archive.batch_size (at most 1000)",
    10001: "the network: egress to qyapi.weixin.qq.com:443, [archive] proxy, 企业可信IP",
    10002: "[archive] proxy (an error page is not the SDK's JSON) and the SDK version",
    10003: "the SDK version; run again",
    10004: "[archive.private_keys]",
    10005: "the sdkfileid (WeCom keeps media for a limited time)",
    10006: "[archive.private_keys]: the key of this publickey_ver",
    10007: "[archive.private_keys]: add the key of this publickey_ver",
    10008: "[archive.private_keys]: the key does not match the public key of this publickey_ver",
    10009: "会话内容存档 可信IP: it must list this server's egress IP",
    10010: "how often archive-pull runs: WeCom serves archived data for a limited time",
    10011: "the system CA certificates, and [archive] proxy if it intercepts TLS",
}
# WeCom errcodes behind the SDK's codes: printed on stderr by the SDK's token fetch
# (`WeWorkFinanceSdk:access:{"errcode": 40001, ...}`) or passed in GetChatData's JSON.
WECOM_CAUSES = {
    40001: "wrong wecom.archive_secret (管理工具 → 会话内容存档 → Secret, not an app secret)",
    40013: "wrong wecom.corp_id",
    60020: "IP not allowed (企业可信IP)",
    301042: "IP not allowed (会话内容存档 可信IP: add this server's egress IP)",
}
_ERRCODE = re.compile(r'"errcode"\s*:\s*(-?\d+)')
MAX_LINE = 600


def _flat(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]


def stderr_errcode(stderr: str) -> int | None:
    """WeCom's errcode in the SDK's stderr diagnostic, if it printed one (0 is not an error)."""
    start = stderr.find("{")
    try:
        body = json.loads(stderr[start:]) if start >= 0 else None
        code = body.get("errcode") if isinstance(body, dict) else None
    except ValueError:
        found = _ERRCODE.search(stderr)
        code = int(found.group(1)) if found else None
    return int(code) if isinstance(code, int) and code != 0 else None


def _head_and_check(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, SdkError):
        return (f"{exc.call} failed: {exc.code} ({SDK_CODES.get(exc.code, 'unknown code')})",
                _CHECKS.get(exc.code, "the SDK version"))
    if isinstance(exc, ChatDataError):
        return (f"GetChatData failed: WeCom errcode {exc.errcode} ({_flat(exc.errmsg, 120)})",
                "wecom.archive_secret and 会话内容存档 可信IP")
    if isinstance(exc, SdkCrashedError):
        return exc.summary, "archive.sdk_path (the SDK version); `wecom-hr doctor` runs each SDK call"
    if isinstance(exc, SdkTimeoutError):
        return (_flat(str(exc)), "the network (egress, [archive] proxy) and archive.call_timeout_seconds "
                                 "(at least 2 × sdk_timeout_seconds + 10)")
    if isinstance(exc, SdkUnavailableError):
        return f"the Finance SDK cannot be loaded: {_flat(str(exc))}", "archive.sdk_path (libWeWorkFinanceSdk_C.so)"
    if isinstance(exc, MissingKeyError | KeyDecryptError):
        return _flat(str(exc)), "[archive.private_keys]"
    return _flat(f"{type(exc).__name__}: {exc}" if not isinstance(exc, ArchiveError) else str(exc)), ""


def diagnose(exc: BaseException) -> str:
    """One line for an operator: what failed (code, name, meaning), the SDK's own stderr diagnostic
    when there is one, and what to check, the real cause first when WeCom's errcode names it."""
    if isinstance(exc, PullFailedError):
        done = int(exc.figures.get("appended", 0) or 0)
        return diagnose(exc.cause) + (f" (meanwhile {done} stored messages were decrypted)" if done else "")
    head, check = _head_and_check(exc)
    stderr = _flat(str(getattr(exc, "stderr", "") or ""))
    wecom = exc.errcode if isinstance(exc, ChatDataError) else stderr_errcode(stderr)
    parts = [head]
    if stderr:
        parts.append(f"SDK stderr: {stderr}")
    if wecom in WECOM_CAUSES:
        parts.append(f"cause: WeCom errcode {wecom}: {WECOM_CAUSES[wecom]}")
    elif check:
        parts.append(f"check {check}")
    return "; ".join(parts)[:MAX_LINE]
