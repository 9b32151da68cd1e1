"""Chat archive tables (issue 4).

Raw envelopes are the archive's inbox: what GetChatData returned, stored before the cursor moves.
Messages are the decrypted evidence, append-only and hash-chained by ``id`` (the chain position,
assigned by the single puller, so it has no gaps the way a database sequence can).
Docs and postings are the search index derived from messages: rebuildable, not evidence.
The only deletion is the retention purge (storage.archive_retention): it records a signed chain
checkpoint with the hashes of every purged range first, so the chain still verifies across the gap.
On PostgreSQL messages, docs and postings are partitioned by month of msgtime (migration 0021,
storage.archive_partitions): the keys there are (id, msgtime) and (msgid, msgtime), and retention
drops whole months. The models below describe the SQLite tables; the columns are the same on both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.db import Base

BIG = BigInteger().with_variant(Integer, "sqlite")

# Envelope states: waiting for decryption, waiting for a private key, decryption failed, decrypted.
PENDING, NOKEY, FAILED, DONE = "pending", "nokey", "failed", "done"


class ArchiveState(Base):
    """Small named values: the GetChatData cursor and the head of the hash chain."""

    __tablename__ = "archive_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    value: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime]


class ArchiveEnvelope(Base):
    __tablename__ = "archive_envelopes"

    id: Mapped[int] = mapped_column(BIG, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    msgid: Mapped[str] = mapped_column(String(128), unique=True)
    publickey_ver: Mapped[int] = mapped_column(Integer)
    encrypt_random_key: Mapped[str] = mapped_column(Text)
    encrypt_chat_msg: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_archive_envelopes_status", "status", "id"),)


class ArchiveMessage(Base):
    """One decrypted message. Never updated; deleted only by the retention purge, with a checkpoint."""

    __tablename__ = "archive_messages"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    msgid: Mapped[str] = mapped_column(String(128), unique=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))
    msgtype: Mapped[str] = mapped_column(String(32))
    sender: Mapped[str] = mapped_column(String(128))
    tolist: Mapped[str] = mapped_column(Text)            # JSON array, kept as the exact hashed text
    roomid: Mapped[str] = mapped_column(String(128))
    customer: Mapped[str] = mapped_column(String(128))   # the external userid (wo…/wm…), or ""
    msgtime: Mapped[int] = mapped_column(BigInteger)     # milliseconds since the epoch, as WeCom sends
    text: Mapped[str] = mapped_column(Text)              # extracted text: what search and watch-lists see
    ref_msgid: Mapped[str] = mapped_column(String(128))  # revoke: the recalled message's msgid
    raw: Mapped[str] = mapped_column(Text)               # the decrypted JSON exactly as the SDK returned it
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_archive_messages_ref", "ref_msgid"),)


class ArchiveDoc(Base):
    """The searchable projection of a message: narrow rows so scans stay in cache."""

    __tablename__ = "archive_docs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    msgtime: Mapped[int] = mapped_column(BigInteger)
    sender: Mapped[str] = mapped_column(String(128))
    customer: Mapped[str] = mapped_column(String(128))
    conv: Mapped[str] = mapped_column(String(300))      # roomid, or "p:a|b" for a one-to-one chat
    msgtype: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)             # folded text (same length as the original)

    __table_args__ = (
        Index("ix_archive_docs_time", "msgtime", "id"),
        Index("ix_archive_docs_sender", "sender", "msgtime"),
        Index("ix_archive_docs_customer", "customer", "msgtime"),
        Index("ix_archive_docs_conv", "conv", "msgtime", "id"),
    )


class ArchivePosting(Base):
    """Bigram postings (see storage.archive_text): keyed so that "newest first" is an index walk
    and every count of a 2-4 character term is answered from this index alone."""

    __tablename__ = "archive_postings"

    gram: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    msgtime: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    doc_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    next2: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    marks: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)

    __table_args__ = ({"sqlite_with_rowid": False},)


# Media states: waiting for its first download, failed and due again at next_attempt_at, given up, stored.
MEDIA_PENDING, MEDIA_RETRYING, MEDIA_FAILED, MEDIA_DONE = "pending", "retrying", "failed", "done"


class ArchiveMedia(Base):
    """Downloaded media (resumable: ``indexbuf`` is where GetMediaData continues)."""

    __tablename__ = "archive_media"

    sdkfileid: Mapped[str] = mapped_column(String(1024), primary_key=True)
    msgid: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(Text)
    indexbuf: Mapped[str] = mapped_column(Text, default="")
    received_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    md5sum: Mapped[str] = mapped_column(String(64), default="")
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default=MEDIA_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (Index("ix_archive_media_msgid", "msgid"), Index("ix_archive_media_state", "state", "updated_at"))


class ArchiveMediaRef(Base):
    """Every message that carries a media file (a forwarded file is one sdkfileid in many messages):
    retention deletes a file only together with the last message that references it."""

    __tablename__ = "archive_media_refs"

    msgid: Mapped[str] = mapped_column(String(128), primary_key=True)
    sdkfileid: Mapped[str] = mapped_column(String(1024), primary_key=True)

    __table_args__ = (Index("ix_archive_media_refs_file", "sdkfileid"),)


class WatchRuleRow(Base):
    """Watch-list rules created through the API (config rules live in the config file)."""

    __tablename__ = "archive_watch_rules"

    id: Mapped[int] = mapped_column(BIG, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class WatchHit(Base):
    __tablename__ = "archive_watch_hits"

    id: Mapped[int] = mapped_column(BIG, primary_key=True)
    rule: Mapped[str] = mapped_column(String(200))
    msgid: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(128))
    customer: Mapped[str] = mapped_column(String(128))
    snippet: Mapped[str] = mapped_column(Text)
    msgtime: Mapped[int] = mapped_column(BigInteger)
    hit_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("rule", "msgid", name="uq_archive_watch_hits_rule_msgid"),
        Index("ix_archive_watch_hits_time", "hit_at"),
        Index("ix_archive_watch_hits_msgid", "msgid"),  # the purge removes a message's hits (snippets)
    )


class ArchiveCheckpoint(Base):
    """One purge transaction: what it removed, who asked and why, signed like the chain itself.

    ``mac`` covers these columns, the checkpoint before it (``prev_mac``) and every gap it
    recorded, so a checkpoint cannot be edited, dropped or slipped in without the chain key.
    """

    __tablename__ = "archive_chain_checkpoints"

    id: Mapped[int] = mapped_column(BIG, primary_key=True)
    created_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    cutoff_ms: Mapped[int] = mapped_column(BigInteger)   # messages sent before this were due
    first_id: Mapped[int] = mapped_column(BigInteger)    # the chain positions it removed lie in here
    last_id: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer)           # due, but kept under legal hold
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class ArchiveGap(Base):
    """A run of consecutive chain positions removed by one checkpoint, with the two hashes that let
    the verifier step over it: the link into the run and the hash of its last row."""

    __tablename__ = "archive_chain_gaps"

    first_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(BigInteger)
    checkpoint_id: Mapped[int] = mapped_column(BigInteger, index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    last_hash: Mapped[str] = mapped_column(String(64))


class LegalHold(Base):
    """A member or customer whose messages the retention purge must keep. Released, not deleted,
    so the hold's history stays readable."""

    __tablename__ = "archive_legal_holds"

    id: Mapped[int] = mapped_column(BIG, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))        # "member" | "customer"
    userid: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    released_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (Index("ix_archive_legal_holds_userid", "userid", "released_at"),)
