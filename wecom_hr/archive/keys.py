"""RSA private keys by publickey_ver: each archived message names the key version it was sealed with.

WeCom encrypts each message's random key with the corp's RSA public key (PKCS#1 v1.5); the admin
can rotate the key pair, so old messages keep pointing at old versions. Keys are read lazily, so
a missing file for an old version only stops the messages that need it.

PKCS#1 v1.5 decryption with the wrong private key does not always fail: current OpenSSL answers
with random bytes instead (implicit rejection). WeCom's random keys are printable ASCII of a fixed
length (base64-like text), so anything else means the key does not match, and is said so before
the SDK ever sees it (it would answer 10008, or abort).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from wecom_hr.archive.errors import KeyDecryptError, MissingKeyError

RANDOM_KEY_LENGTHS = range(16, 65)  # WeCom's are 24 or 32 characters; our stand-in's are 32


def is_random_key(key: bytes) -> bool:
    """Printable ASCII (no NUL, no control bytes) of a plausible length: what WeCom seals."""
    return len(key) in RANDOM_KEY_LENGTHS and all(0x20 <= b < 0x7F for b in key)


class KeyRing:
    def __init__(self, paths: Mapping[int, str]) -> None:
        self._paths = dict(paths)
        self._keys: dict[int, rsa.RSAPrivateKey] = {}

    @classmethod
    def of_keys(cls, keys: Mapping[int, rsa.RSAPrivateKey]) -> KeyRing:
        """A ring of keys already in memory (the demo and the simulator generate theirs)."""
        ring = cls({version: "<in memory>" for version in keys})
        ring._keys.update(keys)
        return ring

    @property
    def versions(self) -> frozenset[int]:
        return frozenset(self._paths)

    def _key(self, version: int) -> rsa.RSAPrivateKey:
        key = self._keys.get(version)
        if key is not None:
            return key
        path = self._paths.get(version)
        if path is None:
            raise MissingKeyError(version)
        try:
            loaded = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise MissingKeyError(version) from exc
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise MissingKeyError(version)
        self._keys[version] = loaded
        return loaded

    def check(self) -> dict[int, str]:
        """Problems per version (unreadable file, not an RSA key), for start-up and `archive status`."""
        problems = {}
        for version in self._paths:
            try:
                self._key(version)
            except MissingKeyError as exc:
                problems[version] = str(exc.__cause__ or exc)
        return problems

    def random_key(self, version: int, encrypt_random_key: str) -> bytes:
        """base64-decode and RSA-decrypt a message's encrypt_random_key, and check what comes out."""
        key = self._key(version)
        mismatch = f"the private key for publickey_ver {version} does not match"
        try:
            sealed = base64.b64decode(encrypt_random_key, validate=True)
        except binascii.Error as exc:
            raise KeyDecryptError("encrypt_random_key is not base64") from exc
        try:
            random_key = key.decrypt(sealed, padding.PKCS1v15())
        except ValueError as exc:
            raise KeyDecryptError(mismatch) from exc
        if not is_random_key(random_key):
            raise KeyDecryptError(mismatch)
        return random_key
