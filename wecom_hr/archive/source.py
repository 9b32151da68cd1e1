"""Where archive envelopes come from: the Finance SDK (in a child process) or, for the demo and
the simulator, an in-process source with the same interface.

The in-process source seals messages the way WeCom does in shape (a random key per message,
RSA-PKCS#1 v1.5 with the public key of a publickey_ver) but with a stand-in cipher for the
message body: WeCom's own DecryptData algorithm is not public and is never re-implemented here.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import padding, rsa

from storage.archive_store import Envelope
from wecom_hr.archive.child import SdkProcess
from wecom_hr.archive.errors import ChatDataError, SdkError
from wecom_hr.archive.sdk import MediaChunk
from wecom_hr.archive.settings import ArchiveSettings

MEDIA_CHUNK = 512 * 1024


class ChatSource(Protocol):
    def fetch(self, seq: int, limit: int) -> list[Envelope]: ...

    def decrypt(self, random_key: bytes, encrypt_chat_msg: str) -> str: ...

    def media(self, sdkfileid: str, indexbuf: str) -> MediaChunk: ...

    def close(self) -> None: ...


def parse_chat_data(raw: bytes) -> list[Envelope]:
    """GetChatData's JSON -> envelopes; an errcode in the body is an error, not an empty page."""
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ChatDataError(-1, f"not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise ChatDataError(-1, "not a JSON object")
    if body.get("errcode", 0) != 0:
        raise ChatDataError(int(body.get("errcode", -1)), str(body.get("errmsg", "")))
    items = body.get("chatdata") or []
    return [Envelope(seq=int(i["seq"]), msgid=str(i["msgid"]), publickey_ver=int(i.get("publickey_ver", 0)),
                     encrypt_random_key=str(i.get("encrypt_random_key", "")),
                     encrypt_chat_msg=str(i.get("encrypt_chat_msg", "")))
            for i in items if isinstance(i, dict) and "seq" in i and "msgid" in i]


class SdkSource:
    def __init__(self, settings: ArchiveSettings, corp_id: str, secret: str) -> None:
        self._s = settings
        self._proc = SdkProcess(settings.sdk_path, corp_id, secret, settings.call_timeout_seconds)

    def fetch(self, seq: int, limit: int) -> list[Envelope]:
        raw = self._proc.chat(seq, limit, self._s.proxy, self._s.proxy_password, self._s.sdk_timeout_seconds)
        return parse_chat_data(raw)

    def decrypt(self, random_key: bytes, encrypt_chat_msg: str) -> str:
        return self._proc.decrypt(random_key, encrypt_chat_msg).decode("utf-8")

    def media(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        return self._proc.media(sdkfileid, indexbuf, self._s.proxy, self._s.proxy_password,
                                self._s.sdk_timeout_seconds)

    def close(self) -> None:
        self._proc.close()


def standin_seal(plaintext: bytes, key: bytes) -> str:
    """The stand-in body cipher (also in tests/archive/fake_finance_sdk.c): base64(("FAKE:"+text) XOR key)."""
    data = b"FAKE:" + plaintext
    return base64.b64encode(bytes(b ^ key[i % len(key)] for i, b in enumerate(data))).decode()


def standin_open(sealed: str, key: bytes) -> bytes:
    data = base64.b64decode(sealed)
    plain = bytes(b ^ key[i % len(key)] for i, b in enumerate(data))
    if not key or not plain.startswith(b"FAKE:"):
        raise SdkError("DecryptData", 10008)  # what the real SDK answers for a wrong key
    return plain[5:]


def seal_envelope(seq: int, message: dict[str, Any], version: int, public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    """A chatdata item as GetChatData returns it, for the demo, the simulator and the tests."""
    key = secrets.token_hex(16).encode()
    plaintext = json.dumps(message, ensure_ascii=False).encode("utf-8")
    return {"seq": seq, "msgid": message["msgid"], "publickey_ver": version,
            "encrypt_random_key": base64.b64encode(public_key.encrypt(key, padding.PKCS1v15())).decode(),
            "encrypt_chat_msg": standin_seal(plaintext, key)}


class MemorySource:
    """In-process archive for the demo and the simulator: ``add`` a message, ``fetch`` serves it."""

    def __init__(self) -> None:
        self._items: list[dict[str, Any]] = []
        self._media: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def add(self, message: dict[str, Any], version: int, public_key: rsa.RSAPublicKey) -> int:
        with self._lock:
            seq = (self._items[-1]["seq"] if self._items else 0) + 1
            self._items.append(seal_envelope(seq, message, version, public_key))
            return seq

    def add_media(self, sdkfileid: str, data: bytes) -> None:
        self._media[sdkfileid] = data

    def fetch(self, seq: int, limit: int) -> list[Envelope]:
        with self._lock:
            items = [i for i in self._items if i["seq"] > seq][:limit]
        return parse_chat_data(json.dumps({"errcode": 0, "errmsg": "ok", "chatdata": items}).encode())

    def decrypt(self, random_key: bytes, encrypt_chat_msg: str) -> str:
        return standin_open(encrypt_chat_msg, random_key).decode("utf-8")

    def media(self, sdkfileid: str, indexbuf: str) -> MediaChunk:
        if sdkfileid not in self._media:
            raise SdkError("GetMediaData", 10005)
        data, start = self._media[sdkfileid], int(indexbuf or 0)
        end = min(start + MEDIA_CHUNK, len(data))
        return MediaChunk(data[start:end], str(end), end >= len(data))

    def close(self) -> None:
        pass
