"""What the simulator saw: every call, the faults still to inject, the messages it accepted."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SECRET_QUERY_KEYS = ("access_token", "corpsecret", "code")
MEMBER_PER_MINUTE, MEMBER_PER_HOUR = 30, 1000


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None
    errcode: int
    at: float
    http_status: int = 200
    secret_name: str | None = None  # which secret's token made the call

    def __repr__(self) -> str:  # failure output must not show tokens or secrets
        query = {k: ("***" if k in SECRET_QUERY_KEYS else v) for k, v in self.query.items()}
        return (f"Call({self.method} {self.path} query={query} body={self.body} "
                f"errcode={self.errcode} http_status={self.http_status})")


@dataclass
class Fault:
    path: str
    errcode: int | None
    http_status: int | None
    delay: float
    times: int | None  # None: forever


@dataclass(frozen=True)
class Delivery:
    xml: str
    statuses: list[int]


@dataclass
class Journal:
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    sent_messages: list[dict[str, Any]] = field(default_factory=list)
    card_updates: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    inboxes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    dropped_messages: int = 0
    _arrivals: dict[str, deque[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def calls_to(self, path: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.path == path]

    def take_fault(self, path: str) -> Fault | None:
        """The first armed fault for ``path`` (or "*"), counted down atomically."""
        with self.lock:
            for fault in self.faults:
                if fault.path not in (path, "*"):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def deliver_to_inbox(self, userid: str, message: dict[str, Any], now: float) -> None:
        """A member gets at most 30 messages a minute and 1000 an hour; WeCom drops the rest silently."""
        with self.lock:
            arrivals = self._arrivals.setdefault(userid, deque())
            while arrivals and arrivals[0] <= now - 3600:
                arrivals.popleft()
            last_minute = sum(1 for t in arrivals if t > now - 60)
            if last_minute >= MEMBER_PER_MINUTE or len(arrivals) >= MEMBER_PER_HOUR:
                self.dropped_messages += 1
                return
            arrivals.append(now)
            self.inboxes.setdefault(userid, []).append(message)

    def wait_for(self, path: str, predicate: Callable[[Call], bool] | None, timeout: float) -> Call:
        deadline = time.monotonic() + timeout
        while True:
            for call in self.calls_to(path):
                if predicate is None or predicate(call):
                    return call
            if time.monotonic() >= deadline:
                with self.lock:
                    seen = "\n  ".join(repr(c) for c in self.calls) or "(none)"
                raise AssertionError(f"no matching call to {path!r} within {timeout}s; calls:\n  {seen}")
            time.sleep(0.01)
