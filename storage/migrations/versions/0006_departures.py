"""departure handover: departures, handover items, transfer batches, approval cards

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-22 16:58:25.558542
"""
import sqlalchemy as sa
from alembic import op

import storage.db

revision = '0006'
down_revision = '0004'
branch_labels = ('departures',)
depends_on = None


def upgrade() -> None:
    op.create_table('departures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('member_name', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('successor', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('started_by', sa.String(length=64), nullable=False),
    sa.Column('sp_no', sa.String(length=64), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', storage.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', storage.db.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('departures', schema=None) as batch_op:
        batch_op.create_index('ix_departures_state', ['state', 'id'], unique=False)
        batch_op.create_index('uq_departures_open_member', ['userid'], unique=True, sqlite_where=sa.text("state NOT IN ('completed', 'cancelled')"), postgresql_where=sa.text("state NOT IN ('completed', 'cancelled')"))

    op.create_table('departure_batches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('departure_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('takeover', sa.String(length=64), nullable=False),
    sa.Column('resigned', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', storage.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', storage.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['departure_id'], ['departures.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('departure_batches', schema=None) as batch_op:
        batch_op.create_index('ix_departure_batches_departure', ['departure_id', 'status'], unique=False)

    op.create_table('departure_cards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('departure_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.String(length=128), nullable=False),
    sa.Column('card_type', sa.String(length=32), nullable=False),
    sa.Column('approvers', sa.JSON(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('outbox_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', storage.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['departure_id'], ['departures.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_id')
    )
    with op.batch_alter_table('departure_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_departure_cards_departure_id'), ['departure_id'], unique=False)

    op.create_table('departure_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('departure_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ref', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('successor', sa.String(length=64), nullable=True),
    sa.Column('takeover', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('requested_at', storage.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', storage.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('notified_at', storage.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('briefed_at', storage.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', storage.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['departure_batches.id'], ),
    sa.ForeignKeyConstraint(['departure_id'], ['departures.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('departure_id', 'kind', 'ref', name='uq_departure_items_ref')
    )
    with op.batch_alter_table('departure_items', schema=None) as batch_op:
        batch_op.create_index('ix_departure_items_batch', ['batch_id'], unique=False)
        batch_op.create_index('ix_departure_items_ref', ['kind', 'ref'], unique=False)
        batch_op.create_index('ix_departure_items_status', ['departure_id', 'kind', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('departure_items', schema=None) as batch_op:
        batch_op.drop_index('ix_departure_items_status')
        batch_op.drop_index('ix_departure_items_ref')
        batch_op.drop_index('ix_departure_items_batch')

    op.drop_table('departure_items')
    with op.batch_alter_table('departure_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_departure_cards_departure_id'))

    op.drop_table('departure_cards')
    with op.batch_alter_table('departure_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_departure_batches_departure')

    op.drop_table('departure_batches')
    with op.batch_alter_table('departures', schema=None) as batch_op:
        batch_op.drop_index('uq_departures_open_member', sqlite_where=sa.text("state NOT IN ('completed', 'cancelled')"), postgresql_where=sa.text("state NOT IN ('completed', 'cancelled')"))
        batch_op.drop_index('ix_departures_state')

    op.drop_table('departures')
