"""`wecom-hr departure start USERID [--last-day] [--successor] [--note]`, `departure show ID`, `departure list`."""

from __future__ import annotations

import json
from datetime import datetime

import click

from wecom_hr.cli.context import CliState, pass_state


@click.group()
def departure() -> None:
    """Departure handover (离职交接): start one, look at one, list them."""


@departure.command("start")
@click.argument("userid")
@click.option("--last-day", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last working day (default: today).")
@click.option("--successor", default="", help="Default successor (else the manager picks one on the card).")
@click.option("--note", default="", help="Note for the approver and the report.")
@click.option("--draft", is_flag=True, help="Keep it a draft: no approval card until submitted through the API.")
@pass_state
def start_cmd(state: CliState, userid: str, last_day: datetime | None, successor: str, note: str, draft: bool) -> None:
    """Snapshot USERID's customers, group chats and receivables and send the approval card."""
    from storage.db import utcnow
    from wecom_hr.departures.report import summary_json
    from wecom_hr.departures.start import DepartureError, StartRequest, start
    from wecom_hr.outbox import deliver

    rt = state.runtime
    req = StartRequest(userid=userid, last_day=last_day.date() if last_day else None, successor=successor or None,
                       note=note, actor="cli", source="cli", submit=not draft)
    try:
        with rt.db.session_scope() as s:
            out = summary_json(s, start(s, rt, req, utcnow()))
    except DepartureError as exc:
        raise click.ClickException(str(exc)) from None
    while deliver(rt):  # the card goes out now, even with no worker running
        pass
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))


@departure.command("show")
@click.argument("departure_id", type=int)
@click.option("--per-page", type=click.IntRange(1, 100000), default=500, help="Customers listed.")
@pass_state
def show_cmd(state: CliState, departure_id: int, per_page: int) -> None:
    """The report: state, per-customer transfer states, chats, receivables, cards."""
    from storage.departures import get
    from wecom_hr.departures.report import departure_json

    with state.runtime.db.session_scope() as s:
        dep = get(s, departure_id)
        if dep is None:
            raise click.ClickException(f"no departure {departure_id}")
        click.echo(json.dumps(departure_json(s, dep, per_page=per_page), ensure_ascii=False, indent=2))


@departure.command("list")
@click.option("--state", "state_filter", default="", help="Only departures in this state.")
@pass_state
def list_cmd(state: CliState, state_filter: str) -> None:
    """Departures, newest first: id, state, member, last day, successor."""
    from wecom_hr.departures.report import list_json

    with state.runtime.db.session_scope() as s:
        rows = list_json(s, state_filter or None, 1, 1000)["items"]
    for d in rows:
        click.echo(f"{d['id']:>6}  {d['state']:<17} {d['userid']:<16} {d['member_name']:<10} "
                   f"last day {d['last_day']}  successor {d['successor'] or '-'}")
