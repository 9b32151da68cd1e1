"""Fewer garbage collections while a bulk job allocates hundreds of thousands of short-lived objects.

CPython starts a collection every 700 new container objects, and every so often one that walks all
the objects the process holds. A resync builds several dicts and tuples per customer, so on 100,000
customers these collections took about 2 s of an 8 s run (measured with bench/resync.py), all of it
holding the interpreter lock the walkers need too. Inside ``fewer_collections()`` the first
threshold is raised; reference counting still frees almost everything at once, and the collector
still runs, only less often. The thresholds are the process's, so nested or concurrent users share
one raise, and the last to leave puts the old thresholds back.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BULK_THRESHOLD = 20_000

_lock = threading.Lock()
_users = 0
_saved: tuple[int, ...] = ()


@contextmanager
def fewer_collections(threshold: int = BULK_THRESHOLD) -> Iterator[None]:
    global _users, _saved
    with _lock:
        if _users == 0:
            _saved = gc.get_threshold()
            if _saved[0] and _saved[0] < threshold:  # 0: collection is off; leave it so
                gc.set_threshold(threshold, *_saved[1:])
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                gc.set_threshold(*_saved)
