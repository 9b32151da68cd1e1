"""Chat archive metrics (issue 8): how far behind the archive is, and what flows through it.

Counters move where the work happens (pull, decrypt, watch-lists, purge). The lag gauges are
also recomputed from the database whenever /metrics is scraped (``refresh``), because the pull
usually runs in the scheduler or a worker, not in the web process that answers the scrape.
``mostrecent`` makes the freshest value win when several processes share PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.archive import ArchiveEnvelope, ArchiveState

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

SDK_SEQ_STATE, LAST_PULL_STATE = "sdk_seq", "last_pull"
UNDECRYPTED_STATES = ("pending", "nokey", "failed")


def set_lag(sdk_seq: int, cursor: int) -> None:
    SDK_SEQ.set(sdk_seq)
    CURSOR.set(cursor)
    LAG_SEQ.set(max(0, sdk_seq - cursor))


def set_last_pull(at: datetime, now: datetime) -> None:
    LAST_PULL.set(at.timestamp())
    SINCE_PULL.set(max(0.0, (now - at).total_seconds()))


def refresh(session: Session, now: datetime) -> None:
    """Recompute the gauges from the database (called when /metrics is scraped)."""
    states = {r.name: r for r in session.scalars(select(ArchiveState).where(
        ArchiveState.name.in_(["cursor", SDK_SEQ_STATE, LAST_PULL_STATE])))}
    cursor = states["cursor"].seq if "cursor" in states else 0
    set_lag(max(cursor, states[SDK_SEQ_STATE].seq if SDK_SEQ_STATE in states else 0), cursor)
    if LAST_PULL_STATE in states:
        set_last_pull(states[LAST_PULL_STATE].updated_at, now)
    # The (status, id) index answers this without touching the (large) decrypted envelopes.
    counts = {status: int(n) for status, n in session.execute(
        select(ArchiveEnvelope.status, func.count()).where(ArchiveEnvelope.status.in_(UNDECRYPTED_STATES))
        .group_by(ArchiveEnvelope.status))}
    for state in UNDECRYPTED_STATES:
        PENDING.labels(state=state).set(counts.get(state, 0))
