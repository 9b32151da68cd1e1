"""Full resync against the simulator: import, reconcile a drifted pool, resume after a failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from storage.customers import (
    ACTIVE,
    CUSTOMER_DELETED,
    LOST,
    MISSING,
    CustomerFollow,
    CustomerSyncBatch,
    CustomerSyncRun,
)
from tests.customers.conftest import Corp
from tests.helpers import config_toml
from wecom_hr.customers.ratelimit import RateLimiter
from wecom_hr.customers.resync import Progress, resync_customers
from wecom_hr.customers.resync_runs import batch_size
from wecom_hr.simulator.models import Follow

BATCH = "externalcontact/batch/get_by_user"


def wecom_pairs(corp: Corp) -> set[tuple[str, str]]:
    with corp.sim.state.lock:
        return {(f.external_userid, f.userid) for f in corp.sim.state.follows.values()
                if not f.deleted_by_customer}


def open_pairs(corp: Corp) -> set[tuple[str, str]]:
    with corp.env.runtime.db.session_scope() as s:
        rows = s.execute(select(CustomerFollow.external_userid, CustomerFollow.userid)
                         .where(CustomerFollow.ended_at.is_(None)))
        return {(ext, userid) for ext, userid in rows}


def test_resync_imports_every_relation_with_few_calls(corp: Corp) -> None:
    result = resync_customers(corp.env.runtime)
    assert result["status"] == "done" and result["relations"] == corp.seed.relations
    assert open_pairs(corp) == wecom_pairs(corp)
    calls = corp.sim.calls_to(BATCH)
    assert all(len(c.body["userid_list"]) <= 100 and c.body["limit"] == 100 for c in calls)
    assert len(corp.sim.calls_to("externalcontact/get_follow_user_list")) == 1
    assert result["calls"] == len(calls) + 1
    seller = corp.seller()
    ext = corp.seed.customers[seller][0]
    follow, customer = corp.follow(ext, seller), corp.customer(ext)
    assert follow is not None and follow.remark and follow.tags and follow.follow_created_at
    assert customer is not None and customer.first_owner == seller and customer.status == ACTIVE
    history = corp.history(ext)
    assert {(h.kind, h.source, h.api_call, h.run_id) for h in history} == {
        ("customer_created", "resync", BATCH, result["run_id"]), ("relation_opened", "resync", BATCH, result["run_id"])}
    # An event afterwards reads the same relation with tag names: not a change.
    corp.sim.scenario.edit_customer(seller, ext)
    corp.env.drain()
    assert len(corp.history(ext)) == len(history)
    assert corp.follow(ext, seller).tags[0].get("tag_name")  # type: ignore[union-attr]


def test_resync_reconciles_a_drifted_pool_without_deleting(corp: Corp) -> None:
    resync_customers(corp.env.runtime)
    a, b, c = corp.seller(0, 0), corp.seller(0, 1), corp.seller(1, 0)
    gone, edited, churned = corp.seed.customers[a][0], corp.seed.customers[b][0], corp.seed.customers[c][0]
    with corp.sim.state.lock:  # changes whose callbacks never reached us
        corp.sim.state.remove_follow(a, gone)
        corp.sim.state.follow(b, edited).remark = "漂移后的备注"
        corp.sim.state.add_follow(Follow(c, corp.seed.customers[a][1], corp.sim.state.now(), remark="新关系"))
    corp.sim.scenario.customer_deletes_member(c, churned)  # this one we did hear about
    corp.env.drain()
    result = resync_customers(corp.env.runtime)
    assert (result["relations_ended"], result["relations_updated"], result["relations_opened"]) == (1, 1, 1)
    [episode] = corp.episodes(gone, a)
    assert episode.end_reason == MISSING and not episode.is_open
    assert corp.customer(gone).status == LOST  # type: ignore[union-attr]
    assert corp.follow(edited, b).remark == "漂移后的备注"  # type: ignore[union-attr]
    assert corp.follow(corp.seed.customers[a][1], c) is not None
    # WeCom still lists the relation the customer deleted; the resync does not reopen it.
    assert [e.end_reason for e in corp.episodes(churned, c)] == [CUSTOMER_DELETED]
    ended = [h for h in corp.history(gone) if h.kind == "relation_ended"]
    assert ended[0].run_id == result["run_id"] and ended[0].changes["reason"] == MISSING
    # A late del_external_contact explains the "missing" end; the manager still hears of it.
    corp.sim.scenario.deliver(_del_xml(corp, a, gone))
    corp.env.drain()
    [episode] = corp.episodes(gone, a)
    assert episode.end_reason == "member_deleted"
    assert corp.messages_to(corp.manager(0))


def test_a_member_whose_customers_all_vanished_leaves_them_lost_unless_another_member_follows(corp: Corp) -> None:
    """A salesperson wipes their customers while our callbacks are down: one resync ends every relation
    and sets every status at once; a customer someone else still follows stays active."""
    resync_customers(corp.env.runtime)
    a, b = corp.seller(0, 0), corp.seller(0, 1)
    theirs = list(corp.seed.customers[a])
    kept = theirs[0]
    with corp.sim.state.lock:
        corp.sim.state.add_follow(Follow(b, kept, corp.sim.state.now(), remark="同事接手"))
        for ext in theirs:
            corp.sim.state.remove_follow(a, ext)
    result = resync_customers(corp.env.runtime)
    assert (result["relations_ended"], result["relations_opened"]) == (len(theirs), 1)
    assert corp.customer(kept).status == ACTIVE  # type: ignore[union-attr]
    assert {corp.customer(ext).status for ext in theirs[1:]} == {LOST}  # type: ignore[union-attr]
    assert all(e.end_reason == MISSING for ext in theirs for e in corp.episodes(ext, a))


def _del_xml(corp: Corp, userid: str, ext: str) -> str:
    from wecom_hr.simulator import events

    return events.external_contact(corp.sim.corp_id, "del_external_contact", userid, ext)


def test_resync_resumes_after_a_failure_where_it_stopped(corp: Corp) -> None:
    corp.sim.inject(BATCH, errcode=0, times=1)       # the first walk goes through
    corp.sim.inject(BATCH, errcode=48002, times=1)   # the second fails (not retryable)
    first = resync_customers(corp.env.runtime, concurrency=1)
    assert first["status"] == "failed" and first["batches_done"] == 1 and first["batches"] == 2
    assert "48002" in first["error"]
    done_calls = len(corp.sim.calls_to(BATCH))
    second = resync_customers(corp.env.runtime, concurrency=1)
    assert second["status"] == "done" and second["resumed"] and second["run_id"] == first["run_id"]
    assert len(corp.sim.calls_to(BATCH)) - done_calls == second["calls"] == 1
    assert open_pairs(corp) == wecom_pairs(corp)
    with corp.env.runtime.db.session_scope() as s:
        batches = list(s.scalars(select(CustomerSyncBatch).where(CustomerSyncBatch.run_id == first["run_id"])))
        assert [b.status for b in batches] == ["done", "done"]
        assert sum(b.relations for b in batches) == corp.seed.relations
    # A process killed mid-run leaves the run "running": the next run resumes it, too.
    with corp.env.runtime.db.session_scope() as s:
        s.execute(update(CustomerSyncRun).values(status="running"))
    third = resync_customers(corp.env.runtime)
    assert third["resumed"] and third["calls"] == 0 and third["status"] == "done"


def test_progress_is_reported_per_batch(corp: Corp) -> None:
    seen: list[tuple[int, int]] = []
    resync_customers(corp.env.runtime, progress=lambda p: seen.append((p.batches_done, p.batches_total)),
                     concurrency=2)
    assert seen and seen[-1][0] == seen[-1][1]
    assert isinstance(Progress(1, 2).elapsed, float)


def test_cli_sync_contacts_prints_progress_and_figures(corp: Corp, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from wecom_hr.cli import main

    config = tmp_path / "wecom-hr.toml"
    config.write_text(config_toml(corp.env.settings.wecom.api_base_url, corp.env.settings.database_url,
                                  "[customers]\nresync_concurrency = 2\n"), encoding="utf-8")
    main(["--config", str(config), "sync", "contacts"])
    out = capsys.readouterr()
    assert "batches 2/2" in out.err and '"status": "done"' in out.out
    assert open_pairs(corp) == wecom_pairs(corp)


def test_batches_keep_every_worker_busy_and_stay_within_wecom_limits() -> None:
    assert batch_size(500, 4) == 32 and batch_size(20000, 4) == 100 and batch_size(12, 4) == 10


def test_rate_limiter_waits_for_the_window() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(3, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.acquire()
    now[0] = 10.0
    limiter.acquire()
    assert slept == [50.0] and limiter.waited == 50.0
