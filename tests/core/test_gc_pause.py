"""The resync's pause of frequent garbage collections is scoped and shared."""

from __future__ import annotations

import gc
import threading

from wecom_hr.gc_pause import fewer_collections


def test_thresholds_are_raised_inside_and_restored_by_the_last_user() -> None:
    before = gc.get_threshold()
    with fewer_collections(50_000):
        assert gc.get_threshold() == (50_000, *before[1:])
        with fewer_collections(50_000):
            assert gc.get_threshold()[0] == 50_000
        assert gc.get_threshold()[0] == 50_000  # the outer user is still inside
    assert gc.get_threshold() == before


def test_thresholds_are_restored_after_an_error_and_across_threads() -> None:
    before = gc.get_threshold()
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with fewer_collections(50_000):
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(5)
    try:
        with fewer_collections(50_000):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.get_threshold()[0] == 50_000  # the other thread's resync still runs
    leave.set()
    thread.join(5)
    assert gc.get_threshold() == before


def test_collection_switched_off_stays_off() -> None:
    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with fewer_collections(50_000):
            assert gc.get_threshold()[0] == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)
