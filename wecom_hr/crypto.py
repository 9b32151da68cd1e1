"""WXBizMsgCrypt: WeCom's callback signature and AES envelope, hardened.

wechatpy ships the same algorithm, but compares signatures with ``!=``, accepts any pad byte
and parses with xmltodict; this module checks all three and never echoes secrets in errors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK_SIZE = 32  # WeCom pads to 32-byte blocks, not AES's 16


class CallbackCryptoError(Exception):
    """A callback that cannot be trusted or read; ``code`` is WeCom's library error code."""

    code = -40000


class SignatureError(CallbackCryptoError):
    code = -40001


class DecryptError(CallbackCryptoError):
    code = -40007


class CorpIdMismatchError(CallbackCryptoError):
    code = -40005


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """43 base64 characters -> 32 bytes; raises ValueError with no key material in the text."""
    if len(encoding_aes_key) != 43:
        raise ValueError("must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise ValueError("is not base64") from None
    if len(key) != 32:
        raise ValueError("must decode to 32 bytes")
    return key


@dataclass(frozen=True)
class Envelope:
    encrypt: str
    msg_signature: str
    timestamp: str
    nonce: str


class WXBizMsgCrypt:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self._token = token
        self._key = decode_aes_key(encoding_aes_key)
        self._receive_id = receive_id.encode()

    def __repr__(self) -> str:  # never show the token or key
        return f"WXBizMsgCrypt(receive_id={self._receive_id.decode()!r})"

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = signature(self._token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), msg_signature.encode("utf-8", "replace")):
            raise SignatureError("signature mismatch")

    def decrypt(self, encrypt: str) -> bytes:
        """Ciphertext (base64) -> the message bytes, after checking padding and receive id."""
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise DecryptError("ciphertext is not base64") from None
        if not data or len(data) % 16:
            raise DecryptError("ciphertext length is not a multiple of the AES block")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK_SIZE or plain[-pad:] != bytes([pad]) * pad:
            raise DecryptError("bad padding")
        body = plain[16:-pad]
        if len(body) < 4:
            raise DecryptError("plaintext too short")
        (length,) = struct.unpack(">I", body[:4])
        if length > len(body) - 4:
            raise DecryptError("length prefix exceeds plaintext")
        msg, receive_id = body[4 : 4 + length], body[4 + length :]
        if not hmac.compare_digest(receive_id, self._receive_id):
            raise CorpIdMismatchError("receive id does not match corp_id")
        return msg

    def verify_and_decrypt(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> bytes:
        self.verify(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)

    def encrypt(self, msg: bytes, random_prefix: bytes | None = None) -> str:
        prefix = random_prefix if random_prefix is not None else os.urandom(16)
        plain = prefix + struct.pack(">I", len(msg)) + msg + self._receive_id
        pad = BLOCK_SIZE - len(plain) % BLOCK_SIZE
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16])).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def seal(self, msg: bytes, timestamp: str, nonce: str) -> Envelope:
        """Encrypt and sign as WeCom does when it calls us (used by the simulator's sender)."""
        encrypt = self.encrypt(msg)
        return Envelope(encrypt, signature(self._token, timestamp, nonce, encrypt), timestamp, nonce)
