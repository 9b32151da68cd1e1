"""`wecom-hr doctor`: one line per check; exit 0 only when all pass (public contract, issue 14)."""

from __future__ import annotations

import logging
import sys

import click

from wecom_hr.cli.context import CliState, pass_state


@click.command()
@pass_state
def doctor(state: CliState) -> None:
    """Check the configuration against WeCom and this machine: secrets, visibility, 客户联系, archive, clock."""
    from wecom_hr.doctor import run
    from wecom_hr.doctor.result import PASS, SKIP

    logging.getLogger("alembic").setLevel(logging.WARNING)  # the schema check is not news
    results = run(state.runtime)
    for check in results:
        click.echo(check.line())
    counts = {status: sum(c.status == status for c in results) for status in (PASS, SKIP)}
    failed = sum(c.failed for c in results)
    click.echo(f"{counts[PASS]} 项通过，{failed} 项失败，{counts[SKIP]} 项跳过")
    sys.exit(1 if failed else 0)
