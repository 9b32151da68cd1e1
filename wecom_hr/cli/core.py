"""Core commands: serve, worker, db, events, jobs, scheduler."""

from __future__ import annotations

import json
import signal
import threading
from datetime import datetime

import click

from storage import db as dbmod
from storage import inbox
from wecom_hr.cli.context import CliState, pass_state


def ensure_schema(url: str) -> None:
    """`serve` and `demo` migrate an empty (or older) SQLite database by themselves."""
    if url.startswith("sqlite") and not dbmod.is_up_to_date(url):
        dbmod.upgrade(url)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--worker-class", default="gthread", show_default=True, type=click.Choice(["gthread", "sync"]),
              help="gunicorn worker type; sync expects a buffering proxy (nginx) in front.")
@pass_state
def serve(state: CliState, host: str, port: int, workers: int, threads: int, worker_class: str) -> None:
    """Serve /wecom/callback, the API and the console under gunicorn."""
    from wecom_hr.server import serve as run

    settings = state.settings
    ensure_schema(settings.database_url)
    run(settings, host, port, workers, threads, worker_class)


@click.command()
@click.option("--once", is_flag=True, help="Drain what is due and exit.")
@pass_state
def worker(state: CliState, once: bool) -> None:
    """Handle stored events and send queued WeCom messages (run any number of these)."""
    from handlers import ROUTES
    from wecom_hr.dispatch import Dispatcher, InboxWorker

    loop = InboxWorker(Dispatcher(state.runtime, ROUTES))
    if once:
        while loop.run_once():
            pass
        return
    from wecom_hr import first_run

    first_run.start(state.runtime)  # when serve runs with [worker] embedded = false elsewhere, or not at all
    stop = threading.Event()

    def on_signal(*_: object) -> None:
        stop.set()
        state.runtime.wakeup.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    loop.start()
    stop.wait()
    loop.stop()


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: CliState) -> None:
    """Apply all migrations."""
    dbmod.upgrade(state.settings.database_url)
    click.echo("database is up to date")


@click.group()
def events() -> None:
    """Inspect and replay stored callback events."""


@events.command("list")
@click.option("--failed", is_flag=True, help="Only dead letters and events that failed at least once.")
@click.option("--limit", default=50, show_default=True)
@pass_state
def events_list(state: CliState, failed: bool, limit: int) -> None:
    with state.runtime.db.session_scope() as s:
        rows = inbox.listing(s, failed_only=failed, limit=limit)
        for r in rows:
            kind = f"{r.event}/{r.change_type}" if r.change_type else r.event
            error = f"  {r.last_error[:120]}" if r.last_error else ""
            click.echo(f"{r.id:>8}  {r.status:<10} {r.attempts:>2}x  {r.received_at:%Y-%m-%d %H:%M:%S}  {kind}{error}")
        if not rows:
            click.echo("no events")


@events.command("retry")
@click.argument("event_id", type=int)
@pass_state
def events_retry(state: CliState, event_id: int) -> None:
    """Put an event back in the queue (dead letters after a fix)."""
    with state.runtime.db.session_scope() as s:
        if not inbox.retry(s, event_id):
            raise click.ClickException(f"no event {event_id} to retry (it may be in progress)")
    click.echo(f"event {event_id} queued again")


@click.group()
def jobs() -> None:
    """Run scheduled jobs by hand."""


@jobs.command("status")
@pass_state
def jobs_status(state: CliState) -> None:
    """Each job's last run: when it last worked, failures in a row and the last error (one line each)."""
    from jobs.registry import all_jobs
    from storage import job_runs

    with state.runtime.db.session_scope() as s:
        rows = {r.name: r for r in job_runs.all_runs(s)}
        failing = 0
        for name in sorted(all_jobs()):
            r = rows.get(name)
            if r is None:
                click.echo(f"{name:<28} never run")
                continue
            ok = f"{r.last_success_at:%Y-%m-%d %H:%M:%S}" if r.last_success_at else "never"
            line = f"{name:<28} last success {ok}"
            if r.failures_in_row:
                failing += 1
                line += f"  FAILING x{r.failures_in_row}: {r.last_error}"
            click.echo(line)
    if failing:
        raise click.exceptions.Exit(1)


@jobs.command("run")
@click.argument("name")
@click.option("--now", "now_text", help="Run as of this moment (ISO-8601, e.g. 2026-03-01T09:00+08:00).")
@pass_state
def jobs_run(state: CliState, name: str, now_text: str | None) -> None:
    from jobs.registry import all_jobs
    from wecom_hr.scheduler import run_job

    if name not in all_jobs():
        raise click.ClickException(f"unknown job {name!r}; known: {', '.join(sorted(all_jobs())) or 'none'}")
    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise click.ClickException(f"--now: not an ISO-8601 moment: {now_text!r}") from None
        if now.tzinfo is None:
            from zoneinfo import ZoneInfo
            now = now.replace(tzinfo=ZoneInfo(state.settings.timezone))
    from wecom_hr import job_health

    try:
        result = run_job(state.runtime, name, now)
    except Exception as exc:  # stored by run_job (jobs status); the operator reads one line, no traceback
        raise click.ClickException(job_health.one_line(exc)) from None
    click.echo(json.dumps(result, ensure_ascii=False, default=str))


@click.command()
@pass_state
def scheduler(state: CliState) -> None:
    """Run scheduled jobs; start several for standby, one is active at a time."""
    from wecom_hr import first_run
    from wecom_hr.scheduler import run_forever

    first_run.start(state.runtime)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(state.runtime, stop)
