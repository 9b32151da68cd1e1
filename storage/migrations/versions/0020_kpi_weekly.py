"""KPI reply times as histograms per member-day and member-week instead of one value per reply, so a
quarter's report reads whole weeks and the listener rewrites small fixed-size rows; kpi_contacts
loses last_ms, which nothing read and which made every message rewrite its pair's row (issue 18, item 5)

The stored seconds are converted: each reply goes to its bucket (wecom_hr/kpi/histogram.py, copied
here so this revision does not change with it). A downgrade expands each bucket into its count of
values at the bucket's mean.

Revision ID: 0020
Revises: 0019
Create Date: 2027-01-27 10:00:00
"""
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

import storage.db

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

DAY = 86_400


def _bound(seconds: int) -> int:
    if seconds <= 0:
        return 0
    width = 60 if seconds <= DAY else 900 if seconds <= 7 * DAY else 3600
    return -(-seconds // width) * width


def _hist(values: Iterable[int], into: dict[int, list[int]] | None = None) -> dict[int, list[int]]:
    out = {} if into is None else into
    for v in values:
        cell = out.setdefault(_bound(int(v)), [0, 0])
        cell[0] += 1
        cell[1] += int(v)
    return out


def _rows(hist: dict[int, list[int]]) -> list[list[int]]:
    return [[b, n, s] for b, (n, s) in sorted(hist.items())]


def _days() -> sa.TableClause:
    """kpi_member_days with the old and the new reply columns (a statement names only those it uses)."""
    return sa.table("kpi_member_days", sa.column("userid", sa.String()), sa.column("day", sa.Date()),
                    sa.column("updated_at", storage.db.UtcDateTime()), *(sa.column(c, sa.JSON()) for c in (
                        "work_seconds", "wall_seconds", "work_hist", "wall_hist")))


def upgrade() -> None:
    weeks_table = op.create_table(
        "kpi_member_weeks",
        sa.Column("userid", sa.String(64), primary_key=True),
        sa.Column("week", sa.Date(), primary_key=True),
        sa.Column("reply_count", sa.Integer(), nullable=False),
        sa.Column("work_hist", sa.JSON(), nullable=False),
        sa.Column("wall_hist", sa.JSON(), nullable=False),
        sa.Column("updated_at", storage.db.UtcDateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("kpi_member_days") as batch:
        batch.add_column(sa.Column("work_hist", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("wall_hist", sa.JSON(), nullable=True))
    days = _days()
    conn = op.get_bind()
    weeks: dict[tuple[str, date], list[Any]] = {}
    for userid, day, work, wall, at in conn.execute(sa.select(days.c.userid, days.c.day, days.c.work_seconds,
                                                              days.c.wall_seconds, days.c.updated_at)).all():
        conn.execute(days.update().where(days.c.userid == userid, days.c.day == day).values(
            work_hist=_rows(_hist(work or [])), wall_hist=_rows(_hist(wall or []))))
        week = weeks.setdefault((userid, day - timedelta(days=day.weekday())), [{}, {}, 0, at])
        _hist(work or [], week[0])
        _hist(wall or [], week[1])
        week[2], week[3] = week[2] + len(work or []), max(week[3], at)
    if weeks:
        op.bulk_insert(weeks_table, [{"userid": u, "week": w, "reply_count": n, "work_hist": _rows(work),
                                      "wall_hist": _rows(wall), "updated_at": at}
                                     for (u, w), (work, wall, n, at) in sorted(weeks.items())])
    with op.batch_alter_table("kpi_contacts") as batch:
        batch.drop_column("last_ms")
    with op.batch_alter_table("kpi_member_days") as batch:
        batch.drop_column("work_seconds")
        batch.drop_column("wall_seconds")
        batch.alter_column("work_hist", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("wall_hist", existing_type=sa.JSON(), nullable=False)


def _values(hist: list[list[int]] | None) -> list[int]:
    return [round(s / n) for _, n, s in hist or [] for _ in range(n)]


def downgrade() -> None:
    with op.batch_alter_table("kpi_contacts") as batch:
        batch.add_column(sa.Column("last_ms", sa.BigInteger(), nullable=True))
    op.execute("UPDATE kpi_contacts SET last_ms = first_ms")  # the last message is not known any more
    with op.batch_alter_table("kpi_contacts") as batch:
        batch.alter_column("last_ms", existing_type=sa.BigInteger(), nullable=False)
    with op.batch_alter_table("kpi_member_days") as batch:
        batch.add_column(sa.Column("work_seconds", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("wall_seconds", sa.JSON(), nullable=True))
    days = _days()
    conn = op.get_bind()
    for userid, day, work, wall in conn.execute(sa.select(days.c.userid, days.c.day, days.c.work_hist,
                                                          days.c.wall_hist)).all():
        conn.execute(days.update().where(days.c.userid == userid, days.c.day == day).values(
            work_seconds=_values(work), wall_seconds=_values(wall)))
    with op.batch_alter_table("kpi_member_days") as batch:
        batch.drop_column("work_hist")
        batch.drop_column("wall_hist")
        batch.alter_column("work_seconds", existing_type=sa.JSON(), nullable=False)
        batch.alter_column("wall_seconds", existing_type=sa.JSON(), nullable=False)
    op.drop_table("kpi_member_weeks")
