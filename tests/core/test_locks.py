"""Locks are exclusive on every backend: database leases (SQLite, PostgreSQL) and Redis."""

from __future__ import annotations

import pytest
import redis as redis_lib

from storage.db import Database
from wecom_hr.locks import Locks


@pytest.fixture(params=["database", "redis"])
def locks_pair(request: pytest.FixtureRequest, db: Database) -> tuple[Locks, Locks]:
    if request.param == "redis":
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
        return (Locks(db, redis_lib.Redis.from_url(url), prefix), Locks(db, redis_lib.Redis.from_url(url), prefix))
    other = Database(db.url)
    request.addfinalizer(other.dispose)
    return Locks(db), Locks(other)


def test_hold_is_exclusive_and_released(locks_pair: tuple[Locks, Locks]) -> None:
    a, b = locks_pair
    with a.hold("job:x", 30) as got_a:
        assert got_a
        with b.hold("job:x", 30) as got_b:
            assert not got_b
        with b.hold("job:other", 30) as got_other:
            assert got_other
    with b.hold("job:x", 30) as got_b:
        assert got_b


def test_renewable_lease_has_one_holder_until_it_expires(locks_pair: tuple[Locks, Locks]) -> None:
    a, b = locks_pair
    assert a.renewable("scheduler", "A", 30)
    assert not b.renewable("scheduler", "B", 30)
    assert a.renewable("scheduler", "A", 30)  # the holder renews
    assert not b.renewable("scheduler", "B", 30)


def test_an_expired_lease_is_taken_over(db: Database) -> None:
    a, b = Locks(db), Locks(db)
    assert a.renewable("scheduler", "A", 0.0)  # expires at once
    assert b.renewable("scheduler", "B", 30)
    assert not a.renewable("scheduler", "A", 30)
