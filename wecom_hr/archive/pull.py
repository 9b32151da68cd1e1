"""Pull and decrypt, as two passes that can each be repeated at any time.

1. ``pull_envelopes``: GetChatData from the stored cursor; the envelopes and the new cursor (the
   largest seq received, passed back unchanged next time) are committed together, so a crash never
   moves the cursor past a message we have not stored.
2. ``decrypt_pending``: RSA-open each envelope's random key, DecryptData in the SDK process, parse,
   and append to the chain, the index and the watch-list hits in one transaction per batch. A
   message without its private key waits as ``nokey``; a message the SDK chokes on (even one that
   kills the SDK process) is marked ``failed`` and the pass goes on with the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from storage.archive import DONE, FAILED, NOKEY
from storage.archive_store import (
    NewMessage,
    append_messages,
    cursor,
    envelopes_due,
    mark_envelopes,
    save_envelopes,
    touch_state,
)
from storage.db import Database, utcnow
from wecom_hr.archive import metrics
from wecom_hr.archive.errors import (
    ArchiveError,
    KeyDecryptError,
    MissingKeyError,
    SdkCrashedError,
    SdkError,
    SdkUnavailableError,
)
from wecom_hr.archive.keys import KeyRing
from wecom_hr.archive.messages import MessageFormatError, parse_message
from wecom_hr.archive.source import ChatSource

log = logging.getLogger("wecom_hr.archive")

# Called inside the append transaction with the messages just archived; returns watch-list hits.
OnAppended = Callable[[Session, list[NewMessage]], int]
# Called before the append transaction opens with the messages about to be appended, so slow work
# (watch-list matching) never holds the write lock; returns the OnAppended for that transaction.
BeforeAppend = Callable[[list[NewMessage]], OnAppended]


@dataclass
class PullReport:
    fetched: int = 0
    stored: int = 0
    cursor: int = 0
    calls: int = 0


@dataclass
class DecryptReport:
    appended: int = 0
    nokey: int = 0
    failed: int = 0
    hits: int = 0
    missing_versions: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


def pull_envelopes(db: Database, source: ChatSource, limit: int = 1000, max_calls: int = 1000) -> PullReport:
    report = PullReport()
    with db.session_scope() as s:
        report.cursor = cursor(s)
    while report.calls < max_calls:
        items = source.fetch(report.cursor, limit)
        report.calls += 1
        if not items:
            break
        newest = max(e.seq for e in items)
        # Noted before the envelopes are saved: if saving fails, the lag metric shows it.
        with db.session_scope() as s:
            touch_state(s, metrics.SDK_SEQ_STATE, newest, utcnow())
        with db.session_scope() as s:
            stored = save_envelopes(s, items)
            report.cursor = cursor(s)
        report.stored += stored
        report.fetched += len(items)
        metrics.PULLED.inc(stored)
        metrics.set_lag(newest, report.cursor)
        if len(items) < limit:
            break
    done = utcnow()
    with db.session_scope() as s:
        touch_state(s, metrics.LAST_PULL_STATE, report.cursor, done)
    metrics.set_last_pull(done, done)
    return report


@dataclass
class _Opened:
    envelope_id: int
    status: str
    message: NewMessage | None = None
    error: str = ""
    version: int = 0


def _open(source: ChatSource, keys: KeyRing, envelope_id: int, seq: int, version: int, sealed_key: str,
          sealed_msg: str) -> _Opened:
    try:
        plaintext = source.decrypt(keys.random_key(version, sealed_key), sealed_msg)
        return _Opened(envelope_id, DONE, parse_message(plaintext, seq))
    except MissingKeyError:
        return _Opened(envelope_id, NOKEY, error=f"no private key for publickey_ver {version}", version=version)
    except (SdkCrashedError, SdkError) as exc:
        if exc.call == "Init":  # the SDK never started: no message is at fault, the caller reports it
            raise
        return _Opened(envelope_id, FAILED, error=str(exc)[:500])
    except SdkUnavailableError:
        raise
    except (ArchiveError, KeyDecryptError, MessageFormatError, UnicodeDecodeError) as exc:
        return _Opened(envelope_id, FAILED, error=str(exc)[:500])


def decrypt_pending(db: Database, source: ChatSource, keys: KeyRing, chain_key: bytes = b"", batch: int = 1000,
                    retry_failed: bool = False, on_appended: OnAppended | None = None,
                    before_append: BeforeAppend | None = None) -> DecryptReport:
    report, after = DecryptReport(), 0
    while True:
        with db.session_scope() as s:
            due = [(e.id, e.seq, e.publickey_ver, e.encrypt_random_key, e.encrypt_chat_msg)
                   for e in envelopes_due(s, after, batch, keys.versions, retry_failed)]
        if not due:
            if report.missing_versions:
                log.warning("archive messages wait for private keys of publickey_ver %s",
                            sorted(report.missing_versions))
            return report
        after = due[-1][0]
        opened = [_open(source, keys, *e) for e in due]  # outside a transaction: SDK calls can be slow
        done = [o for o in opened if o.status == DONE]
        fresh = [o.message for o in done if o.message]
        hooks = [on_appended] if on_appended is not None else []
        if before_append is not None and fresh:
            hooks.append(before_append(fresh))  # e.g. watch-list matching, before the write transaction opens
        with db.session_scope() as s:
            appended = append_messages(s, fresh, chain_key)
            for hook in hooks if appended else []:
                report.hits += hook(s, [m for _, m in appended])
            mark_envelopes(s, [o.envelope_id for o in done], DONE)
            mark_envelopes(s, [o.envelope_id for o in opened if o.status == NOKEY], NOKEY,
                           "no private key for this publickey_ver")
            for o in opened:
                if o.status == FAILED:
                    mark_envelopes(s, [o.envelope_id], FAILED, o.error)
        report.appended += len(appended)
        report.nokey += sum(o.status == NOKEY for o in opened)
        metrics.DECRYPTED.inc(len(appended))
        metrics.UNDECRYPTED.labels(reason="nokey").inc(sum(o.status == NOKEY for o in opened))
        metrics.UNDECRYPTED.labels(reason="failed").inc(sum(o.status == FAILED for o in opened))
        report.missing_versions |= {o.version for o in opened if o.status == NOKEY}
        failed = [o.error for o in opened if o.status == FAILED]
        report.failed += len(failed)
        report.errors += failed[:5]
