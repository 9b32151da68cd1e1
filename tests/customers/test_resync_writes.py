"""The resync's writer: bulk inserts through the driver, many pages per transaction, fingerprints,
conflicts with live events, and a run that dies between two commits."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, func, select, update
from sqlalchemy.exc import IntegrityError

from storage.bulk import insert_rows
from storage.customers import Customer, CustomerChange, CustomerFollow, CustomerSyncBatch
from storage.db import Database
from tests.customers.conftest import Corp
from tests.customers.test_resync import open_pairs, wecom_pairs
from wecom_hr.customers import resync, resync_commit, resync_writer
from wecom_hr.customers.fields import contact_values, fingerprint, follow_values
from wecom_hr.customers.resync import resync_customers
from wecom_hr.simulator.models import Follow


def history_kinds(corp: Corp) -> Counter[tuple[str, str, str | None]]:
    with corp.env.runtime.db.session_scope() as s:
        return Counter((c.kind, c.external_userid, c.userid) for c in s.scalars(select(CustomerChange)))


CUSTOMER_COLUMNS = ("external_userid", "name", "type", "corp_name", "corp_full_name", "position", "gender", "avatar",
                    "unionid", "status", "first_owner", "created_at", "first_seen_at", "updated_at", "note", "digest")


def customer_row(ext: str, name: str, at: datetime, updated_at: datetime) -> tuple[Any, ...]:
    return (ext, name, 1, "", "", "", 0, "", "", "active", "u1", at, at, updated_at, "", "d")


def test_bulk_insert_stores_what_the_models_read_back(db: Database) -> None:
    at = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    beijing = at.astimezone(timezone(timedelta(hours=8)))
    customers, changes = cast(Table, Customer.__table__), cast(Table, CustomerChange.__table__)
    with db.session_scope() as s:
        insert_rows(s, customers, CUSTOMER_COLUMNS, [customer_row("wmBulk1", "张三", at, beijing)])
        insert_rows(s, changes, ("external_userid", "userid", "kind", "changes"),
                    [("wmBulk1", None, "customer_created", {"name": "张三", "tags": [{"tag_id": "et1"}]}),
                     ("wmBulk1", "u1", "relation_opened", {})],
                    {"at": at, "source": "resync", "api_call": "x", "run_id": 7})
    with db.session_scope() as s:
        customer = s.get(Customer, "wmBulk1")
        assert customer is not None and customer.name == "张三" and customer.created_at == at
        assert customer.updated_at == at and customer.updated_at.utcoffset() == timedelta(0)
        rows = list(s.scalars(select(CustomerChange).where(CustomerChange.external_userid == "wmBulk1")
                              .order_by(CustomerChange.id)))
        assert [(r.userid, r.changes, r.at, r.run_id, r.event_id) for r in rows] == [
            (None, {"name": "张三", "tags": [{"tag_id": "et1"}]}, at, 7, None), ("u1", {}, at, 7, None)]
    with pytest.raises(IntegrityError), db.session_scope() as s:  # a unique violation is SQLAlchemy's error
        insert_rows(s, customers, CUSTOMER_COLUMNS, [customer_row("wmBulk1", "李四", at, at)])
    with db.session_scope() as s:
        assert s.get(Customer, "wmBulk1").name == "张三"  # type: ignore[union-attr]


@pytest.mark.parametrize("count", [1, 499, 500, 1234])
def test_bulk_insert_writes_every_row_whatever_the_statement_size(db: Database, count: int) -> None:
    """SQLite gets 500 rows per INSERT: full statements and the remainder each land, in order."""
    at = datetime(2026, 3, 1, tzinfo=UTC)
    changes = cast(Table, CustomerChange.__table__)
    rows = [(f"wmRow{i:05d}", None, "customer_created", {"n": i, "名": "客户" + str(i)}) for i in range(count)]
    rows.append(("wmRowBig", None, "customer_created", {"n": 2 ** 70}))  # beyond orjson: the stdlib writes it
    with db.session_scope() as s:
        insert_rows(s, changes, ("external_userid", "userid", "kind", "changes"), rows, {"at": at, "source": "resync"})
    with db.session_scope() as s:
        stored = [(c.external_userid, c.changes) for c in s.scalars(select(CustomerChange).order_by(CustomerChange.id))]
    assert stored == [(r[0], r[3]) for r in rows]


def test_sqlite_statements_stay_within_the_connections_variable_limit() -> None:
    """An SQLite built with the old limit of 999 variables still takes every row."""
    import sqlite3

    from storage.bulk import _sqlite_insert

    conn = sqlite3.connect(":memory:")
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    conn.execute("CREATE TABLE t (a, b, c, d, e, f, g, h)")
    rows = [tuple(range(i, i + 8)) for i in range(1234)]
    _sqlite_insert(conn.cursor(), "t (a, b, c, d, e, f, g, h)", 8, rows)
    assert conn.execute("SELECT * FROM t ORDER BY rowid").fetchall() == rows


def test_bulk_insert_of_types_without_a_binary_form_goes_as_text(db: Database) -> None:
    """NUMERIC and DATE have no binary COPY form here: such a table is copied as text, exactly."""
    from datetime import date
    from decimal import Decimal

    from storage.receivables import Receivable

    at = datetime(2026, 3, 1, 8, tzinfo=UTC)
    with db.session_scope() as s:
        insert_rows(s, cast(Table, Receivable.__table__),
                    ("order_no", "customer_key", "external_userid", "customer_name", "salesperson", "amount",
                     "currency", "due_on", "paid_amount", "status", "created_at", "updated_at"),
                    [("SO-1", "name:华东客户", "", "华东客户", "zhangsan", Decimal("12345.67"), "CNY",
                      date(2026, 1, 31), Decimal(0), "open", at, at)])
    with db.session_scope() as s:
        row = s.scalars(select(Receivable)).one()
        assert (row.customer_key, row.amount, row.due_on, row.created_at) == (
            "name:华东客户", Decimal("12345.67"), date(2026, 1, 31), at)


def test_a_run_killed_between_commits_resumes_without_duplicate_history(corp: Corp,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resync_commit, "COMMIT_RELATIONS", 1)  # commit after every write...
    monkeypatch.setattr(resync, "GROUP", 1)                   # ...of one page or batch end

    class Killed(BaseException):
        pass

    def die_after_first_commit(progress: Any) -> None:
        raise Killed

    first = resync_customers(corp.env.runtime, progress=die_after_first_commit, concurrency=1)
    assert first["status"] == "failed" and "Killed" in first["error"]
    with corp.env.runtime.db.session_scope() as s:
        assert 0 < int(s.scalar(select(func.count()).select_from(CustomerFollow)) or 0) < corp.seed.relations
    second = resync_customers(corp.env.runtime, concurrency=1)
    assert second["status"] == "done" and second["resumed"] and second["run_id"] == first["run_id"]
    assert open_pairs(corp) == wecom_pairs(corp)
    kinds = history_kinds(corp)
    assert set(kinds.values()) == {1}  # nothing recorded twice
    assert sum(1 for kind, _, _ in kinds if kind == "relation_opened") == corp.seed.relations
    with corp.env.runtime.db.session_scope() as s:
        batches = list(s.scalars(select(CustomerSyncBatch).where(CustomerSyncBatch.run_id == first["run_id"])))
        assert {b.status for b in batches} == {"done"}


def test_overlapping_walks_in_one_transaction_reconcile_a_drifted_pool(corp_factory: Any) -> None:
    corp: Corp = corp_factory(latency=0.01)
    resync_customers(corp.env.runtime, concurrency=2)
    a, b = corp.seller(0, 0), corp.seller(2, 1)
    gone, edited = corp.seed.customers[a][0], corp.seed.customers[b][0]
    with corp.sim.state.lock:  # changes whose callbacks never reached us, in both batches
        corp.sim.state.remove_follow(a, gone)
        corp.sim.state.follow(b, edited).remark = "漂移后的备注"
        corp.sim.state.add_follow(Follow(b, corp.seed.customers[a][1], corp.sim.state.now(), remark="新关系"))
    before = history_kinds(corp)
    result = resync_customers(corp.env.runtime, concurrency=2)
    assert result["status"] == "done" and result["batches"] == 2
    assert (result["relations_ended"], result["relations_updated"], result["relations_opened"]) == (1, 1, 1)
    assert open_pairs(corp) == wecom_pairs(corp)
    added = history_kinds(corp) - before
    assert added == Counter({("relation_ended", gone, a): 1, ("relation_updated", edited, b): 1,
                             ("relation_opened", corp.seed.customers[a][1], b): 1})


def test_fingerprints_of_another_form_are_rewritten_without_history(corp: Corp) -> None:
    resync_customers(corp.env.runtime)
    with corp.env.runtime.db.session_scope() as s:  # e.g. written before the fingerprint changed form
        s.execute(update(Customer).values(digest="old-form"))
        s.execute(update(CustomerFollow).values(digest="old-form"))
    before = history_kinds(corp)
    result = resync_customers(corp.env.runtime)
    assert result["status"] == "done"
    assert (result["customers_updated"], result["relations_updated"]) == (0, 0)
    assert history_kinds(corp) == before
    with corp.env.runtime.db.session_scope() as s:
        assert not s.scalar(select(func.count()).select_from(Customer).where(Customer.digest == "old-form"))
        assert not s.scalar(select(func.count()).select_from(CustomerFollow)
                            .where(CustomerFollow.digest == "old-form"))


def test_the_fingerprint_form_is_stable() -> None:
    """Every pool stores these digests; a new form costs each installation a full re-read of its
    customers on the next resync (see above), so it must change only on purpose."""
    contact = contact_values({"name": "张三", "type": 2, "corp_name": "腾讯", "gender": 1, "avatar": "http://a/0",
                              "unionid": "u1"})
    follow = follow_values({"remark": "老客户", "tags": [{"tag_id": "et1", "tag_name": "重要"}],
                            "remark_mobiles": ["13800000000"], "add_way": 1, "createtime": 1700000000})
    assert fingerprint(contact) == "5942f91c67e2615e73d32ac872ec177c4e6fcfa7"
    assert fingerprint(follow) == "c3ff6bf93b1ea39b7f272687c8ef9376a6fb1643"
    # tags count by id only: the names batch/get_by_user leaves out do not make a relation look changed
    assert fingerprint({**follow, "tags": [{"tag_id": "et1"}]}) == fingerprint(follow)


def test_a_write_that_conflicts_with_a_live_event_is_written_again(corp: Corp,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    real = resync_writer.insert_rows
    conflicts: list[str] = []

    def conflicting_once(session: Any, table: Any, *args: Any, **kwargs: Any) -> None:
        real(session, table, *args, **kwargs)
        if table.name == "customer_follows" and not conflicts:
            conflicts.append(table.name)  # as if an event had inserted the same open relation first
            raise IntegrityError("INSERT INTO customer_follows", None, Exception("UNIQUE constraint failed"))

    monkeypatch.setattr(resync_writer, "insert_rows", conflicting_once)
    result = resync_customers(corp.env.runtime)
    assert conflicts and result["status"] == "done" and result["relations"] == corp.seed.relations
    assert open_pairs(corp) == wecom_pairs(corp)
    kinds = history_kinds(corp)
    assert set(kinds.values()) == {1}
    assert sum(1 for kind, _, _ in kinds if kind == "relation_opened") == corp.seed.relations


def test_a_walker_that_dies_unexpectedly_fails_the_run_instead_of_hanging(corp: Corp,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A walker that dies without telling the writers (a BaseException escaping it) must not leave
    them waiting for its batch forever: the run notices, stops and keeps its checkpoint."""
    import threading

    class Lost(BaseException):
        pass

    def lost(self: Any, batch_no: int, userids: list[str]) -> list[str]:
        raise Lost("walker gone")

    monkeypatch.setattr(resync._Walker, "_walk", lost)
    results: list[dict[str, Any]] = []
    thread = threading.Thread(target=lambda: results.append(resync_customers(corp.env.runtime, concurrency=2)),
                              daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the resync hung after a walker died"
    assert results[0]["status"] == "failed" and "Lost" in results[0]["error"]
    monkeypatch.undo()
    again = resync_customers(corp.env.runtime)
    assert again["status"] == "done" and again["resumed"]
    assert open_pairs(corp) == wecom_pairs(corp)
