"""Typed archive errors: the puller decides per type whether to retry, skip a message or stop."""

from __future__ import annotations

# Finance SDK return codes (WeWorkFinanceSdk_C.h).
SDK_CODES = {
    10000: "bad parameters", 10001: "network error", 10002: "data parse failed", 10003: "system error",
    10004: "key error", 10005: "bad fileid", 10006: "decrypt failed", 10007: "no private key for this version",
    10008: "bad encrypt_key", 10009: "IP not allowed", 10010: "data expired", 10011: "certificate error",
}


class ArchiveError(Exception):
    """Base of every chat-archive failure."""


class SdkError(ArchiveError):
    """A Finance SDK call returned a non-zero code."""

    def __init__(self, call: str, code: int) -> None:
        super().__init__(f"{call} returned {code} ({SDK_CODES.get(code, 'unknown code')})")
        self.call = call
        self.code = code


class SdkCrashedError(ArchiveError):
    """The SDK took its process down (an abort inside the library); the service lives on."""

    def __init__(self, call: str, returncode: int | None, detail: str = "") -> None:
        how = f"signal {-returncode}" if returncode is not None and returncode < 0 else f"exit {returncode}"
        super().__init__(f"the SDK process died during {call} ({how})" + (f": {detail}" if detail else ""))
        self.call = call
        self.returncode = returncode


class SdkTimeoutError(ArchiveError):
    """An SDK call did not answer in time; its process was killed."""


class SdkUnavailableError(ArchiveError):
    """The SDK library cannot be loaded (missing file, wrong architecture, missing symbol)."""


class ChatDataError(ArchiveError):
    """GetChatData answered with an errcode in its JSON body."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"GetChatData errcode {errcode}: {errmsg}")
        self.errcode = errcode


class MissingKeyError(ArchiveError):
    """No private key is configured for a message's publickey_ver."""

    def __init__(self, version: int) -> None:
        super().__init__(f"no private key configured for publickey_ver {version}")
        self.version = version


class KeyDecryptError(ArchiveError):
    """encrypt_random_key could not be RSA-decrypted with the configured key."""
