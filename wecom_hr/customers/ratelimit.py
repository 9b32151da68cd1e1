"""A sliding-window limiter shared by the resync's threads: at most N calls in any 60 seconds.

WeCom counts calls per API per corp per minute (10,000) and per hour (150,000); live event handling
uses the same APIs, so the resync takes only its configured share of the minute.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW = 60.0


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.per_minute = per_minute
        self._clock, self._sleep = clock, sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting for the window, for the report

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._calls and self._calls[0] <= now - WINDOW:
                    self._calls.popleft()
                if len(self._calls) < self.per_minute:
                    self._calls.append(now)
                    return
                wait = self._calls[0] + WINDOW - now
                self.waited += wait
            self._sleep(wait)
