"""Access tokens: one per secret, the same token again while it is valid (as qyapi does)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

TOKEN_TTL = 7200


@dataclass(slots=True)
class Issued:
    secret_name: str
    expires_at: float
    revoked: bool = False


class TokenStore:
    def __init__(self, corp_id: str, secrets_by_name: Mapping[str, str],
                 clock: Callable[[], float] = time.time) -> None:
        self.corp_id = corp_id
        self._names_by_secret = {secret: name for name, secret in secrets_by_name.items()}
        self._clock = clock
        self._lock = threading.Lock()
        self._issued: dict[str, Issued] = {}
        self._current: dict[str, str] = {}
        self.issued_count = 0

    def secret_name(self, secret: str) -> str | None:
        return self._names_by_secret.get(secret)

    def issue(self, secret_name: str) -> str:
        with self._lock:
            self.issued_count += 1
            token = self._current.get(secret_name)
            if token is not None and self._valid(self._issued[token]):
                return token
            token = secrets.token_urlsafe(96)[:128]
            self._issued[token] = Issued(secret_name, self._clock() + TOKEN_TTL)
            self._current[secret_name] = token
            return token

    def check(self, token: str) -> tuple[int, str | None]:
        """(0, secret name) for a good token, else (40014 unknown | 42001 expired, None)."""
        with self._lock:
            issued = self._issued.get(token)
        if issued is None:
            return 40014, None
        if not self._valid(issued):
            return 42001, None
        return 0, issued.secret_name

    def expire_all(self) -> None:
        with self._lock:
            for issued in self._issued.values():
                issued.revoked = True

    def _valid(self, issued: Issued) -> bool:
        return not issued.revoked and issued.expires_at > self._clock()
