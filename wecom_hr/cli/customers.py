"""`wecom-hr sync contacts` (full customer resync) and `wecom-hr sync directory`."""

from __future__ import annotations

import json

import click

from wecom_hr.cli.context import CliState, pass_state


@click.group()
def sync() -> None:
    """Pull the directory or the whole customer pool from WeCom."""


@sync.command("contacts")
@click.option("--concurrency", type=click.IntRange(1, 32),
              help="Parallel walks (default: [customers] resync_concurrency).")
@click.option("--quiet", is_flag=True, help="No progress line.")
@pass_state
def sync_contacts(state: CliState, concurrency: int | None, quiet: bool) -> None:
    """Full resync of customers and follow relations; resumes an interrupted run."""
    from wecom_hr.customers.resync import Progress, resync_customers

    def show(p: Progress) -> None:
        rate = p.relations / p.elapsed if p.elapsed else 0.0
        click.echo(f"\rbatches {p.batches_done}/{p.batches_total}  relations {p.relations:,}  "
                   f"calls {p.calls:,}  {p.elapsed:6.1f}s  {rate:,.0f}/s", nl=False, err=True)

    result = resync_customers(state.runtime, progress=None if quiet else show, concurrency=concurrency)
    if not quiet:
        click.echo("", err=True)
    click.echo(json.dumps(result, ensure_ascii=False))
    if result.get("status") == "failed":
        raise click.ClickException("resync stopped; run `wecom-hr sync contacts` again to resume")


@sync.command("directory")
@pass_state
def sync_directory(state: CliState) -> None:
    """Full sync of departments and members (leaders, status, who left)."""
    from storage.db import utcnow
    from wecom_hr.customers.directory_sync import sync_directory as run

    with state.runtime.db.session_scope() as session:
        counts = run(session, state.runtime.wecom("contact"), utcnow(), runtime=state.runtime)
    click.echo(json.dumps(counts.__dict__))  # departments, members, left, not_visible (outside the range)
