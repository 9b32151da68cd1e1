"""`wecom-hr archive pull | decrypt-pending | verify | search | status | media | purge`."""

from __future__ import annotations

import getpass
import html
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from storage.archive_query import QueryError
from storage.db import utcnow
from wecom_hr.cli.context import CliState, pass_state


@click.group()
def archive() -> None:
    """The chat archive (会话内容存档): pull, decrypt, verify, search."""


def _echo(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str))


@contextmanager
def sdk_failures() -> Iterator[None]:
    """An SDK failure ends the command with one line (what failed, the SDK's word, what to check)
    and exit code 1, never a traceback."""
    from wecom_hr.archive.errors import ArchiveError, diagnose

    try:
        yield
    except ArchiveError as exc:
        raise click.ClickException(diagnose(exc)) from None


@archive.command("pull")
@pass_state
def pull(state: CliState) -> None:
    """Fetch new messages from the Finance SDK and decrypt everything due."""
    from wecom_hr.archive import service

    with sdk_failures():
        _echo(service.pull(state.runtime, utcnow()))


@archive.command("decrypt-pending")
@pass_state
def decrypt_pending(state: CliState) -> None:
    """Decrypt messages that waited for a private key (add it to [archive.private_keys] first) and retry
    earlier failures."""
    from wecom_hr.archive import service

    with sdk_failures():
        result = service.decrypt_again(state.runtime, utcnow())
    _echo(result)
    waiting = result.get("waiting_for_keys") or {}
    if waiting:
        raise click.ClickException(f"{sum(waiting.values())} messages still wait for a private key "
                                   f"(publickey_ver {', '.join(map(str, sorted(waiting)))})")


@archive.command("verify")
@pass_state
def verify(state: CliState) -> None:
    """Check the hash chain: reports the first altered, missing or inserted message."""
    from storage.archive_chain import verify as verify_chain
    from wecom_hr.archive.service import archive_settings

    key = archive_settings(state.runtime).chain_key.encode()
    with state.runtime.db.session_scope() as s:
        report = verify_chain(s, key)
    click.echo(report.line())
    if not report.ok:
        sys.exit(1)


@archive.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
@click.option("--now", "now_text", default="", help="Purge as if it were this ISO datetime (default: now).")
@click.option("--reason", default="", help="Recorded in the chain checkpoint and the audit log.")
@pass_state
def purge(state: CliState, dry_run: bool, now_text: str, reason: str) -> None:
    """Delete messages older than [archive] retention_days, except those under legal hold; the
    hash chain stays verifiable through signed checkpoints."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from wecom_hr.archive import retention

    now = utcnow()
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise click.BadParameter("must be an ISO datetime, e.g. 2025-01-31T00:00:00+08:00",
                                     param_hint="--now") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=ZoneInfo(state.settings.timezone))
    result = retention.purge(state.runtime, now, dry_run=dry_run, actor=f"cli:{getpass.getuser()}", reason=reason)
    _echo(result)
    if "refused" in result:
        sys.exit(1)


@archive.command("status")
@pass_state
def status(state: CliState) -> None:
    """Envelope counts by state, private-key problems, and the pull's health (last attempt, last
    success, last error, failures in a row, the seq reached)."""
    from wecom_hr.archive import service

    _echo(service.status(state.runtime))


@archive.command("media")
@pass_state
def media(state: CliState) -> None:
    """Download pending media files into [archive] media_dir (resumes partial downloads)."""
    from wecom_hr.archive import media as media_files
    from wecom_hr.archive import service

    with sdk_failures():
        figures = service.download_media(state.runtime, utcnow())
    _echo(figures)
    if not media_files.succeeded(figures):  # files failed: `archive status` lists them
        raise click.exceptions.Exit(1)


def _plain(snippet: str) -> str:
    return html.unescape(re.sub(r"</?mark>", "", snippet.replace("<mark>", "【").replace("</mark>", "】")))


@archive.command("search")
@click.argument("query", default="")
@click.option("--from", "time_from", default="", help="Start: 2024-05-01, an ISO datetime or epoch ms.")
@click.option("--to", "time_to", default="", help="End (a date includes that whole day).")
@click.option("--sender", default="")
@click.option("--customer", default="")
@click.option("--room", default="", help="A roomid (group chat).")
@click.option("--msgtype", default="")
@click.option("--page", type=click.IntRange(1, 10_000), default=1)
@click.option("--per-page", type=click.IntRange(1, 200), default=20)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON the API returns.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, writable=True),
              help="Export every hit to a CSV file.")
@pass_state
def search(state: CliState, query: str, time_from: str, time_to: str, sender: str, customer: str, room: str,
           msgtype: str, page: int, per_page: int, as_json: bool, csv_path: str | None) -> None:
    """Search the archive: words are ANDed; OR, NOT / -word and "phrases" work as in the API."""
    from wecom_hr.archive import results
    from wecom_hr.archive.filters import FilterError, from_args

    actor = f"cli:{getpass.getuser()}"
    args = {"from": time_from, "to": time_to, "sender": sender, "customer": customer, "room": room, "msgtype": msgtype}
    try:
        filters = from_args(args, state.settings.timezone)
        with state.runtime.db.session_scope() as s:
            if csv_path:
                ids = results.export_ids(s, actor, query, filters, 1_000_000, via="cli")
                with open(csv_path, "w", encoding="utf-8-sig", newline="") as out:
                    out.writelines(results.csv_lines(s, ids, tz=state.settings.timezone))
                click.echo(f"{len(ids)} messages written to {csv_path}")
                return
            found = results.find(s, actor, query, filters, page, per_page, via="cli")
    except (QueryError, FilterError) as exc:
        raise click.BadParameter(str(exc)) from None
    if as_json:
        _echo(found)
        return
    click.echo(f"{found['total']} messages (page {page}, newest first)")
    for hit in found["hits"]:
        who = hit["sender"] + (f" → {hit['customer']}" if hit["customer"] and hit["customer"] != hit["sender"] else "")
        click.echo(f"{hit['time']}  {who}  {_plain(hit['snippet'])}  [{hit['msgid']}]")
