"""WXBizMsgCrypt against WeCom's official test vector, and every way an envelope can be wrong."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import TEST_AES_KEY, TEST_CORP, TEST_TOKEN
from wecom_hr.crypto import (
    CallbackCryptoError,
    CorpIdMismatchError,
    DecryptError,
    SignatureError,
    WXBizMsgCrypt,
    decode_aes_key,
    signature,
)

VECTOR = dict(msg_signature="012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", timestamp="1476416373", nonce="47744683",
              encrypt="fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==")


@pytest.fixture
def crypto() -> WXBizMsgCrypt:
    return WXBizMsgCrypt(TEST_TOKEN, TEST_AES_KEY, TEST_CORP)


def raw_encrypt(plain: bytes) -> str:
    key = decode_aes_key(TEST_AES_KEY)
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def test_official_vector_decrypts_to_the_documented_echostr(crypto: WXBizMsgCrypt) -> None:
    assert crypto.verify_and_decrypt(**VECTOR) == b"1288432023552776189"


def test_round_trip_keeps_chinese_text(crypto: WXBizMsgCrypt) -> None:
    env = crypto.seal("<xml><Content>张三删除了客户</Content></xml>".encode(), "1700000000", "n1")
    assert crypto.verify_and_decrypt(env.msg_signature, env.timestamp, env.nonce, env.encrypt).decode() \
        == "<xml><Content>张三删除了客户</Content></xml>"


@pytest.mark.parametrize("field", ["msg_signature", "timestamp", "nonce"])
def test_any_signed_field_changed_is_a_signature_error(crypto: WXBizMsgCrypt, field: str) -> None:
    tampered = dict(VECTOR, **{field: VECTOR[field][:-1] + ("0" if VECTOR[field][-1] != "0" else "1")})
    with pytest.raises(SignatureError):
        crypto.verify_and_decrypt(**tampered)


def test_changed_ciphertext_fails_the_signature_before_decryption(crypto: WXBizMsgCrypt) -> None:
    data = bytearray(base64.b64decode(VECTOR["encrypt"]))
    data[20] ^= 1
    with pytest.raises(SignatureError):
        crypto.verify_and_decrypt(**dict(VECTOR, encrypt=base64.b64encode(bytes(data)).decode()))


def test_wrong_corp_id_is_refused() -> None:
    other = WXBizMsgCrypt(TEST_TOKEN, TEST_AES_KEY, "ww0000000000000000")
    with pytest.raises(CorpIdMismatchError):
        other.verify_and_decrypt(**VECTOR)


@pytest.mark.parametrize("pad", [0, 33, 255])
def test_pad_byte_out_of_range_is_refused(crypto: WXBizMsgCrypt, pad: int) -> None:
    body = b"0123456789abcdef" + struct.pack(">I", 5) + b"hello" + TEST_CORP.encode()
    body += b"\x00" * (-len(body) % 32)
    body = body[:-1] + bytes([pad])
    with pytest.raises(DecryptError):
        crypto.decrypt(raw_encrypt(body))


def test_inconsistent_padding_bytes_are_refused(crypto: WXBizMsgCrypt) -> None:
    body = b"0123456789abcdef" + struct.pack(">I", 5) + b"hello" + TEST_CORP.encode()
    pad = 32 - len(body) % 32
    body += bytes([pad]) * (pad - 1) + bytes([pad - 1 if pad > 1 else 2])
    with pytest.raises(DecryptError):
        crypto.decrypt(raw_encrypt(body))


def test_length_prefix_beyond_the_plaintext_is_refused(crypto: WXBizMsgCrypt) -> None:
    body = b"0123456789abcdef" + struct.pack(">I", 10_000) + b"hello" + TEST_CORP.encode()
    pad = 32 - len(body) % 32
    with pytest.raises(DecryptError):
        crypto.decrypt(raw_encrypt(body + bytes([pad]) * pad))


@pytest.mark.parametrize("encrypt", ["not base64 !!", "", "QUJD", base64.b64encode(b"x" * 17).decode()])
def test_garbage_ciphertext_is_a_decrypt_error(crypto: WXBizMsgCrypt, encrypt: str) -> None:
    with pytest.raises(DecryptError):
        crypto.decrypt(encrypt)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_as_ciphertext_fails_cleanly(encrypt: str) -> None:
    crypto = WXBizMsgCrypt(TEST_TOKEN, TEST_AES_KEY, TEST_CORP)
    try:
        crypto.decrypt(encrypt)
    except CallbackCryptoError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=16, max_size=512).map(lambda b: b[: len(b) - len(b) % 16]))
def test_any_block_aligned_bytes_fail_cleanly_or_decrypt(data: bytes) -> None:
    crypto = WXBizMsgCrypt(TEST_TOKEN, TEST_AES_KEY, TEST_CORP)
    try:
        crypto.decrypt(base64.b64encode(data).decode())
    except CallbackCryptoError:
        pass


def test_signature_is_sha1_of_the_sorted_parts() -> None:
    assert signature(TEST_TOKEN, VECTOR["timestamp"], VECTOR["nonce"], VECTOR["encrypt"]) == VECTOR["msg_signature"]


@pytest.mark.parametrize("key", ["short", "!" * 43, TEST_AES_KEY[:-1] + "="])
def test_bad_aes_keys_are_rejected_without_echoing_them(key: str) -> None:
    with pytest.raises(ValueError) as info:
        decode_aes_key(key)
    assert key not in str(info.value)


def test_repr_hides_token_and_key(crypto: WXBizMsgCrypt) -> None:
    assert TEST_TOKEN not in repr(crypto) and TEST_AES_KEY not in repr(crypto)
