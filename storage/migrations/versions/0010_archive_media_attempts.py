"""chat archive: media download state (bounded attempts with backoff, a final "failed"), and the media
references of the message types that were not read before (chatrecord items, meeting_voice_call,
voip_doc_share)

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-24 20:00:00
"""
import sqlalchemy as sa
from alembic import op

import storage.db
from wecom_hr.archive.messages import media_refs

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC = storage.db.UtcDateTime(timezone=True)
BATCH = 5000
NEWLY_READ = ("chatrecord", "meeting_voice_call", "voip_doc_share")


def upgrade() -> None:
    with op.batch_alter_table("archive_media") as batch:
        batch.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="pending"))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("next_attempt_at", UTC, nullable=True))
    media = sa.table("archive_media", sa.column("state", sa.String), sa.column("complete", sa.Boolean))
    op.get_bind().execute(media.update().where(media.c.complete.is_(True)).values(state="done"))
    op.create_index("ix_archive_media_state", "archive_media", ["state", "updated_at"])
    _backfill_refs()


def _backfill_refs() -> None:
    """References only (retention must keep a file a kept message shares); downloading the files of
    old messages stays a decision for the operator."""
    bind = op.get_bind()
    refs = sa.table("archive_media_refs", sa.column("msgid", sa.String), sa.column("sdkfileid", sa.String))
    messages = sa.table("archive_messages", sa.column("id", sa.BigInteger), sa.column("msgid", sa.String),
                        sa.column("msgtype", sa.String), sa.column("raw", sa.Text))
    after = -1
    while True:
        rows = bind.execute(sa.select(messages.c.id, messages.c.msgid, messages.c.raw)
                            .where(messages.c.id > after, messages.c.msgtype.in_(NEWLY_READ))
                            .order_by(messages.c.id).limit(BATCH)).all()
        if not rows:
            break
        after = rows[-1].id
        found = {(r.msgid, f) for r in rows for f, _ in media_refs(r.raw)}
        known = {(r.msgid, r.sdkfileid) for r in bind.execute(sa.select(refs.c.msgid, refs.c.sdkfileid)
                                                               .where(refs.c.msgid.in_({m for m, _ in found})))}
        if found - known:
            op.bulk_insert(refs, [{"msgid": m, "sdkfileid": f} for m, f in sorted(found - known)])


def downgrade() -> None:
    op.drop_index("ix_archive_media_state", "archive_media")
    with op.batch_alter_table("archive_media") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
        batch.drop_column("state")
