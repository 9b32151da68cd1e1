"""Chat archive metrics (issue 8): how far behind the archive is, and what flows through it.

Counters move where the work happens (pull, decrypt, watch-lists, purge). The lag gauges are
also recomputed from the database whenever /metrics is scraped (``refresh``), because the pull
usually runs in the scheduler or a worker, not in the web process that answers the scrape.
``mostrecent`` makes the freshest value win when several processes share PROMETHEUS_MULTIPROC_DIR.

``wecomhr_archive_seconds_since_success`` exists from the first start: it counts from the last
successful pull; before any success, from the first pull attempt recorded (archive_pull_state);
before any attempt at all, from the start of the process that answers the scrape.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import archive_state
from storage.archive import ArchiveEnvelope, ArchiveState
from wecom_hr.archive.errors import SdkCrashedError, SdkTimeoutError, SdkUnavailableError, error_code

PULLED = Counter("wecomhr_archive_messages_pulled_total", "Archive envelopes fetched from the Finance SDK and stored")
DECRYPTED = Counter("wecomhr_archive_messages_decrypted_total", "Archive messages decrypted and added to the chain")
UNDECRYPTED = Counter("wecomhr_archive_decrypt_problems_total", "Envelopes left encrypted by a decrypt pass, by reason",
                      ["reason"])  # nokey | failed
WATCH_HITS = Counter("wecomhr_archive_watch_hits_total", "Watch-list hits, by rule severity", ["severity"])
PURGED = Counter("wecomhr_archive_purged_total", "Messages removed by the retention purge")
SDK_SEQ = Gauge("wecomhr_archive_sdk_seq", "Newest seq the Finance SDK has returned", multiprocess_mode="mostrecent")
CURSOR = Gauge("wecomhr_archive_cursor_seq", "The stored GetChatData cursor (largest seq stored)",
               multiprocess_mode="mostrecent")
LAG_SEQ = Gauge("wecomhr_archive_lag_seq", "Newest seq returned by the SDK minus the stored cursor",
                multiprocess_mode="mostrecent")
LAST_PULL = Gauge("wecomhr_archive_last_pull_timestamp_seconds", "End of the last pull that completed (unix time)",
                  multiprocess_mode="mostrecent")
SINCE_PULL = Gauge("wecomhr_archive_seconds_since_pull", "Seconds since the last pull that completed",
                   multiprocess_mode="mostrecent")
PENDING = Gauge("wecomhr_archive_pending_decrypt", "Envelopes stored but not decrypted, by state",
                ["state"], multiprocess_mode="mostrecent")  # pending | nokey | failed

PULL_FAILURES = Counter("wecomhr_archive_pull_failures_total",
                        "Archive pulls that failed, by the SDK's (or WeCom's) errcode", ["errcode"])
SINCE_SUCCESS = Gauge("wecomhr_archive_seconds_since_success",
                      "Seconds since the last successful pull (before any: since the first attempt, or process start)",
                      multiprocess_mode="mostrecent")
FAILING = Gauge("wecomhr_archive_pull_consecutive_failures", "Archive pulls failed in a row",
                multiprocess_mode="mostrecent")
PROCESS_START = datetime.now(UTC)
SINCE_SUCCESS.set(0)

SDK_SEQ_STATE, LAST_PULL_STATE = "sdk_seq", "last_pull"
UNDECRYPTED_STATES = ("pending", "nokey", "failed")


def set_lag(sdk_seq: int, cursor: int) -> None:
    SDK_SEQ.set(sdk_seq)
    CURSOR.set(cursor)
    LAG_SEQ.set(max(0, sdk_seq - cursor))


def set_last_pull(at: datetime, now: datetime) -> None:
    LAST_PULL.set(at.timestamp())
    SINCE_PULL.set(max(0.0, (now - at).total_seconds()))


def errcode_label(exc: BaseException) -> str:
    code = error_code(exc)
    if code is not None:
        return str(code)
    kinds = ((SdkCrashedError, "crash"), (SdkTimeoutError, "timeout"), (SdkUnavailableError, "unavailable"))
    cause = getattr(exc, "cause", exc)
    return next((label for kind, label in kinds if isinstance(cause, kind)), "other")


def set_pull_health(row: archive_state.ArchivePullState | None, now: datetime) -> None:
    since = archive_state.healthy_since(row) if row is not None else PROCESS_START
    SINCE_SUCCESS.set(max(0.0, (now - since).total_seconds()))
    FAILING.set(row.consecutive_failures if row is not None else 0)


def refresh(session: Session, now: datetime) -> None:
    """Recompute the gauges from the database (called when /metrics is scraped)."""
    states = {r.name: r for r in session.scalars(select(ArchiveState).where(
        ArchiveState.name.in_(["cursor", SDK_SEQ_STATE, LAST_PULL_STATE])))}
    cursor = states["cursor"].seq if "cursor" in states else 0
    set_lag(max(cursor, states[SDK_SEQ_STATE].seq if SDK_SEQ_STATE in states else 0), cursor)
    if LAST_PULL_STATE in states:
        set_last_pull(states[LAST_PULL_STATE].updated_at, now)
    set_pull_health(archive_state.get(session), now)
    # The (status, id) index answers this without touching the (large) decrypted envelopes.
    counts = {status: int(n) for status, n in session.execute(
        select(ArchiveEnvelope.status, func.count()).where(ArchiveEnvelope.status.in_(UNDECRYPTED_STATES))
        .group_by(ArchiveEnvelope.status))}
    for state in UNDECRYPTED_STATES:
        PENDING.labels(state=state).set(counts.get(state, 0))


MEDIA_FAILURES = Counter("wecomhr_archive_media_failures_total",
                         "Failed media download attempts, by errcode (the SDK's code, or too_large, md5_mismatch, "
                         "timeout, crashed, unavailable, io)", ["errcode"])
