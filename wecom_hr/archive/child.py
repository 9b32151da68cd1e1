"""Run the Finance SDK in a child process, so an abort inside the library costs a child, not us.

Parent and child talk over the child's stdin/stdout in frames: a 4-byte header length, a 4-byte
payload length, a JSON header and raw bytes (binary-safe for media and keys: nothing is ever
NUL-terminated or split on a separator). The child moves whatever the SDK prints to stderr, so
library chatter cannot corrupt the frames; when a call fails, the lines the SDK printed during it
(the real SDK prints WeCom's answer there) come back as ``SdkError.stderr``. Secrets travel in
frames, never in argv or the environment (both are visible to other users through /proc), and the
child starts with a minimal environment, not ours (which holds the WECOM_HR_* secrets).
"""

from __future__ import annotations

import json
import os
import select
import stat
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Self

from wecom_hr.archive.errors import (
    ArchiveError,
    KeyDecryptError,
    SdkCrashedError,
    SdkError,
    SdkTimeoutError,
    SdkUnavailableError,
)
from wecom_hr.archive.sdk import MediaChunk

_HEAD = struct.Struct(">II")
# All the child inherits from our environment: nothing secret, only what Python and a C library need.
CHILD_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "LD_LIBRARY_PATH", "SSL_CERT_FILE",
                     "SSL_CERT_DIR")
STDERR_LINES = 5  # of what the SDK printed during a failed call, the last lines are sent back


def child_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    env = {name: environ[name] for name in CHILD_ENVIRONMENT if name in environ}
    root = str(Path(__file__).resolve().parents[2])  # so the child imports this same checkout
    env["PYTHONPATH"] = root + (os.pathsep + environ["PYTHONPATH"] if environ.get("PYTHONPATH") else "")
    return env


def write_frame(out: IO[bytes], header: dict[str, Any], payload: bytes = b"") -> None:
    head = json.dumps(header).encode()
    out.write(_HEAD.pack(len(head), len(payload)) + head + payload)
    out.flush()


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes | None:
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, deadline: float | None = None) -> tuple[dict[str, Any], bytes] | None:
    """One frame, or None at end of file (the other side is gone)."""
    head = _read_exact(fd, _HEAD.size, deadline)
    if head is None:
        return None
    head_len, payload_len = _HEAD.unpack(head)
    body = _read_exact(fd, head_len + payload_len, deadline)
    if body is None:
        return None
    return json.loads(body[:head_len]), body[head_len:]


class SdkProcess:
    """Parent side: starts the child on first use and again after a crash."""

    def __init__(self, sdk_path: str, corp_id: str, secret: str, call_timeout: float = 120.0) -> None:
        self._open = {"op": "open", "path": sdk_path, "corp_id": corp_id, "secret": secret}
        self._timeout = call_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def _start(self) -> None:
        if self._stderr is not None:
            self._stderr.close()  # the previous child's
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        self._proc = subprocess.Popen([sys.executable, "-m", "wecom_hr.archive.child"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._stderr, env=child_environment())
        try:
            self._exchange(self._open, b"", "Init")
        except ArchiveError:
            self._reap()  # a child without an initialised SDK is of no use
            raise

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1][:300] if lines else ""

    def _reap(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        code = proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe:
                pipe.close()
        return code

    def _exchange(self, header: dict[str, Any], payload: bytes, call: str) -> tuple[dict[str, Any], bytes]:
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            write_frame(proc.stdin, header, payload)
            reply = read_frame(proc.stdout.fileno(), time.monotonic() + self._timeout)
        except TimeoutError:
            self._reap()
            raise SdkTimeoutError(f"{call} did not answer within {self._timeout:.0f}s;"
                                  " the SDK process was killed") from None
        except BrokenPipeError:
            reply = None
        if reply is None:
            code = self._reap()
            raise SdkCrashedError(call, code, self._stderr_tail())
        answer, data = reply
        if not answer.get("ok"):
            if answer.get("error") == "sdk":
                raise SdkError(answer["call"], int(answer["code"]), str(answer.get("stderr", "")))
            if answer.get("error") == "key":
                raise KeyDecryptError(str(answer.get("message", "")))
            self._reap()
            raise SdkUnavailableError(str(answer.get("message", "the SDK could not start")))
        return answer, data

    def call(self, header: dict[str, Any], payload: bytes = b"", call: str = "") -> tuple[dict[str, Any], bytes]:
        if self._proc is None:
            self._start()
        return self._exchange(header, payload, call or header["op"])

    def chat(self, seq: int, limit: int, proxy: str = "", passwd: str = "", timeout: int = 30) -> bytes:
        header = {"op": "chat", "seq": seq, "limit": limit, "proxy": proxy, "passwd": passwd, "timeout": timeout}
        return self.call(header, call="GetChatData")[1]

    def decrypt(self, random_key: bytes, encrypt_chat_msg: str) -> bytes:
        # DecryptData takes C strings: a NUL would silently cut the key (or message) short.
        if b"\0" in random_key:
            raise KeyDecryptError("the random key holds a NUL byte; DecryptData cannot take it")
        message = encrypt_chat_msg.encode()
        if b"\0" in message:
            raise ArchiveError("encrypt_chat_msg holds a NUL byte; DecryptData cannot take it")
        return self.call({"op": "decrypt", "key_len": len(random_key)}, random_key + message, "DecryptData")[1]

    def media(self, sdkfileid: str, indexbuf: str = "", proxy: str = "", passwd: str = "",
              timeout: int = 30) -> MediaChunk:
        header = {"op": "media", "sdkfileid": sdkfileid, "indexbuf": indexbuf, "proxy": proxy, "passwd": passwd,
                  "timeout": timeout}
        answer, data = self.call(header, call="GetMediaData")
        return MediaChunk(data, str(answer.get("next_index", "")), bool(answer.get("finished")))

    def close(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                self._exchange({"op": "close"}, b"", "DestroySdk")
                proc.wait(timeout=10)
            except (ArchiveError, subprocess.TimeoutExpired):
                pass
        self._reap()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(request: dict[str, Any], payload: bytes, state: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    from wecom_hr.archive.sdk import FinanceSdk

    op = request["op"]
    if op == "open":
        state["sdk"] = FinanceSdk(request["path"])
        state["sdk"].init(request["corp_id"], request["secret"])
        return {}, b""
    sdk: FinanceSdk = state["sdk"]
    if op == "chat":
        return {}, sdk.get_chat_data(request["seq"], request["limit"], request["proxy"], request["passwd"],
                                     request["timeout"])
    if op == "decrypt":
        key_len = int(request["key_len"])
        return {}, sdk.decrypt_data(payload[:key_len], payload[key_len:])
    if op == "media":
        chunk = sdk.get_media_data(request["sdkfileid"], request["indexbuf"], request["proxy"], request["passwd"],
                                   request["timeout"])
        return {"next_index": chunk.next_index, "finished": chunk.finished}, chunk.data
    if op == "close":
        sdk.close()
        state.pop("sdk")
        return {}, b""
    raise ValueError(f"unknown op {op!r}")


def _stderr_size() -> int | None:
    """Where our stderr file ends now, or None when stderr is not a regular file (then nothing is sent back)."""
    try:
        info = os.fstat(2)
    except OSError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _stderr_since(mark: int | None) -> str:
    """The last lines written to stderr since ``mark`` (the SDK's diagnostic for a failed call)."""
    if mark is None:
        return ""
    import ctypes

    ctypes.CDLL(None).fflush(None)  # the SDK's buffered C stdout went to the same file (dup2 below)
    end = _stderr_size() or mark
    text = os.pread(2, min(end - mark, 1 << 16), max(mark, end - (1 << 16))).decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "\n".join(line[:500] for line in lines[-STDERR_LINES:])


def main() -> None:
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the SDK's own prints go to stderr, not into our frames
    state: dict[str, Any] = {}
    while True:
        frame = read_frame(sys.stdin.fileno())
        if frame is None:
            break
        request, payload = frame
        mark = _stderr_size()
        try:
            answer, data = _serve(request, payload, state)
            write_frame(out, {"ok": True, **answer}, data)
        except SdkError as exc:
            write_frame(out, {"ok": False, "error": "sdk", "call": exc.call, "code": exc.code,
                              "stderr": _stderr_since(mark)})
        except KeyDecryptError as exc:
            write_frame(out, {"ok": False, "error": "key", "message": str(exc)})
        except (SdkUnavailableError, ValueError, KeyError) as exc:
            write_frame(out, {"ok": False, "error": "unavailable", "message": str(exc)})
        if request.get("op") == "close":
            break
    if "sdk" in state:
        state["sdk"].close()


if __name__ == "__main__":
    main()
