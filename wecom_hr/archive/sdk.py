"""ctypes binding of the WeCom Finance SDK C ABI (libWeWorkFinanceSdk_C.so).

Load this only inside the SDK child process (wecom_hr.archive.child): the library may abort the
process on malformed input. Every Slice_t and MediaData_t made here is freed in a ``finally``,
and the SDK handle is destroyed by ``close``.

ABI (WeWorkFinanceSdk_C.h):
    WeWorkFinanceSdk_t* NewSdk();  void DestroySdk(WeWorkFinanceSdk_t*);
    int Init(sdk, const char* corpid, const char* secret);
    int GetChatData(sdk, unsigned long long seq, unsigned int limit, const char* proxy,
                    const char* passwd, int timeout, Slice_t* chatDatas);
    int DecryptData(const char* encrypt_key, const char* encrypt_msg, Slice_t* msg);
    int GetMediaData(sdk, const char* indexbuf, const char* sdkFileid, const char* proxy,
                     const char* passwd, int timeout, MediaData_t* media_data);
    Slice_t* NewSlice(); void FreeSlice(Slice_t*); char* GetContentFromSlice(Slice_t*); int GetSliceLen(Slice_t*);
    MediaData_t* NewMediaData(); void FreeMediaData(MediaData_t*); char* GetOutIndexBuf(MediaData_t*);
    char* GetData(MediaData_t*); int GetIndexLen(MediaData_t*); int GetDataLen(MediaData_t*);
    int IsMediaDataFinish(MediaData_t*);
"""

from __future__ import annotations

import ctypes
from ctypes import c_char_p, c_int, c_uint, c_ulonglong, c_void_p
from dataclasses import dataclass

from wecom_hr.archive.errors import KeyDecryptError, SdkError, SdkUnavailableError

_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "NewSdk": (c_void_p, []),
    "Init": (c_int, [c_void_p, c_char_p, c_char_p]),
    "GetChatData": (c_int, [c_void_p, c_ulonglong, c_uint, c_char_p, c_char_p, c_int, c_void_p]),
    "DecryptData": (c_int, [c_char_p, c_char_p, c_void_p]),
    "GetMediaData": (c_int, [c_void_p, c_char_p, c_char_p, c_char_p, c_char_p, c_int, c_void_p]),
    "DestroySdk": (None, [c_void_p]),
    "NewSlice": (c_void_p, []),
    "FreeSlice": (None, [c_void_p]),
    "GetContentFromSlice": (c_void_p, [c_void_p]),  # c_void_p, not c_char_p: content may hold NULs
    "GetSliceLen": (c_int, [c_void_p]),
    "NewMediaData": (c_void_p, []),
    "FreeMediaData": (None, [c_void_p]),
    "GetOutIndexBuf": (c_void_p, [c_void_p]),
    "GetData": (c_void_p, [c_void_p]),
    "GetIndexLen": (c_int, [c_void_p]),
    "GetDataLen": (c_int, [c_void_p]),
    "IsMediaDataFinish": (c_int, [c_void_p]),
}


@dataclass(frozen=True)
class MediaChunk:
    data: bytes
    next_index: str
    finished: bool


def _opt(value: str) -> bytes | None:
    return value.encode() if value else None


class FinanceSdk:
    def __init__(self, path: str) -> None:
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            raise SdkUnavailableError(f"cannot load the Finance SDK from {path}: {exc}") from None
        for name, (restype, argtypes) in _SIGNATURES.items():
            try:
                fn = getattr(lib, name)
            except AttributeError:
                raise SdkUnavailableError(f"{path} has no symbol {name}; is it the Finance SDK?") from None
            fn.restype, fn.argtypes = restype, argtypes
        self._lib = lib
        self._sdk: int | None = lib.NewSdk()
        if not self._sdk:
            raise SdkUnavailableError("NewSdk returned NULL")

    def _check(self, call: str, code: int) -> None:
        if code != 0:
            raise SdkError(call, code)

    def init(self, corp_id: str, secret: str) -> None:
        self._check("Init", self._lib.Init(self._sdk, corp_id.encode(), secret.encode()))

    def _slice_call(self, call: str, *args: object) -> bytes:
        piece = self._lib.NewSlice()
        try:
            self._check(call, getattr(self._lib, call)(*args, piece))
            length = self._lib.GetSliceLen(piece)
            content = self._lib.GetContentFromSlice(piece)
            return ctypes.string_at(content, length) if content and length > 0 else b""
        finally:
            self._lib.FreeSlice(piece)

    def get_chat_data(self, seq: int, limit: int, proxy: str = "", passwd: str = "", timeout: int = 30) -> bytes:
        return self._slice_call("GetChatData", self._sdk, seq, limit, _opt(proxy), _opt(passwd), timeout)

    def decrypt_data(self, random_key: bytes, encrypt_chat_msg: bytes) -> bytes:
        # c_char_p stops at the first NUL: a key with one would reach the SDK silently cut short.
        if not random_key or b"\0" in random_key:
            raise KeyDecryptError("the random key is empty or holds a NUL byte; DecryptData cannot take it")
        if b"\0" in encrypt_chat_msg:
            raise SdkError("DecryptData", 10000)
        return self._slice_call("DecryptData", random_key, encrypt_chat_msg)

    def get_media_data(self, sdkfileid: str, indexbuf: str = "", proxy: str = "", passwd: str = "",
                       timeout: int = 30) -> MediaChunk:
        media = self._lib.NewMediaData()
        try:
            code = self._lib.GetMediaData(self._sdk, indexbuf.encode(), sdkfileid.encode(), _opt(proxy),
                                          _opt(passwd), timeout, media)
            self._check("GetMediaData", code)
            data_ptr, data_len = self._lib.GetData(media), self._lib.GetDataLen(media)
            index_ptr, index_len = self._lib.GetOutIndexBuf(media), self._lib.GetIndexLen(media)
            return MediaChunk(
                data=ctypes.string_at(data_ptr, data_len) if data_ptr and data_len > 0 else b"",
                next_index=ctypes.string_at(index_ptr, index_len).decode() if index_ptr and index_len > 0 else "",
                finished=bool(self._lib.IsMediaDataFinish(media)),
            )
        finally:
            self._lib.FreeMediaData(media)

    def close(self) -> None:
        if self._sdk:
            self._lib.DestroySdk(self._sdk)
            self._sdk = None
