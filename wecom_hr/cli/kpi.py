"""`wecom-hr kpi rebuild [--from YYYY-MM-DD]`: recompute the KPI aggregates from the archive."""

from __future__ import annotations

import time
from datetime import datetime

import click

from wecom_hr.cli.context import CliState, pass_state
from wecom_hr.kpi.rebuild import rebuild as run_rebuild
from wecom_hr.kpi.settings import from_settings


@click.group()
def kpi() -> None:
    """Salesperson KPIs (reply times, coverage, conversion)."""


@kpi.command("rebuild")
@click.option("--from", "since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Replace the aggregates from this local day on (default: everything).")
@pass_state
def rebuild(state: CliState, since: datetime | None) -> None:
    """Recompute reply times, contacts and coverage from the archived messages."""
    started = time.monotonic()
    counts = run_rebuild(state.runtime.db, from_settings(state.settings), since.date() if since else None,
                         progress=lambda n: click.echo(f"{n} messages", err=True) if n % 1_000_000 == 0 else None)
    click.echo(f"rebuilt from {counts['messages']} messages: {counts['replies']} replies "
               f"in {time.monotonic() - started:.1f}s")
