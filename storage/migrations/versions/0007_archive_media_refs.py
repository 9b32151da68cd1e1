"""chat archive: every message's media references, so retention keeps a file a kept message shares

Revision ID: 0007
Revises: 0003a
Create Date: 2026-11-22 20:00:00
"""
import sqlalchemy as sa
from alembic import op

from wecom_hr.archive.messages import MEDIA_TYPES, media_refs

revision = "0007"
down_revision = "0003a"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    refs = op.create_table(
        "archive_media_refs",
        sa.Column("msgid", sa.String(128), primary_key=True),
        sa.Column("sdkfileid", sa.String(1024), primary_key=True),
    )
    op.create_index("ix_archive_media_refs_file", "archive_media_refs", ["sdkfileid"])
    # Backfill from the archived messages themselves: archive_media kept only the first message of
    # each file, the others are in the messages' decrypted JSON.
    bind = op.get_bind()
    messages = sa.table("archive_messages", sa.column("id", sa.BigInteger), sa.column("msgid", sa.String),
                        sa.column("msgtype", sa.String), sa.column("raw", sa.Text))
    after = -1
    while True:
        rows = bind.execute(sa.select(messages.c.id, messages.c.msgid, messages.c.raw)
                            .where(messages.c.id > after, messages.c.msgtype.in_((*MEDIA_TYPES, "mixed")))
                            .order_by(messages.c.id).limit(BATCH)).all()
        if not rows:
            break
        after = rows[-1].id
        found = {(r.msgid, f) for r in rows for f, _ in media_refs(r.raw)}
        if found:
            op.bulk_insert(refs, [{"msgid": m, "sdkfileid": f} for m, f in sorted(found)])
    media = sa.table("archive_media", sa.column("msgid", sa.String), sa.column("sdkfileid", sa.String))
    known = sa.select(refs.c.msgid).where(refs.c.msgid == media.c.msgid, refs.c.sdkfileid == media.c.sdkfileid)
    bind.execute(refs.insert().from_select(["msgid", "sdkfileid"],
                                           sa.select(media.c.msgid, media.c.sdkfileid).where(~known.exists())))


def downgrade() -> None:
    op.drop_index("ix_archive_media_refs_file", "archive_media_refs")
    op.drop_table("archive_media_refs")
