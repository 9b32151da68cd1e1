"""`wecom-hr receivables import FILE.csv`: load a CSV export into the ledger."""

from __future__ import annotations

import sys

import click

from wecom_hr.cli.context import CliState, pass_state

MAX_SHOWN = 50  # bad rows printed; the count is always complete


@click.group()
def receivables() -> None:
    """Receivables ledger (overdue-payment reminders)."""


@receivables.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@pass_state
def import_file(state: CliState, csv_file: str) -> None:
    """Import or update receivables from CSV (UTF-8, with or without BOM).

    Header: order_no,external_userid,customer_name,salesperson,amount,currency,issued_on,due_on,paid_amount
    (other names via [receivables.csv_columns]). Good rows are kept when others are bad; bad rows are
    listed with their line numbers and the exit status is 1.
    """
    from wecom_hr.receivables.csv_import import CsvFileError, import_csv
    from wecom_hr.receivables.settings import from_settings

    options = from_settings(state.settings).ledger
    try:
        report = import_csv(state.runtime.db, csv_file, options, actor="cli")
    except CsvFileError as exc:
        raise click.ClickException(f"{csv_file}: {exc}; nothing imported") from None
    click.echo(f"{report.good} rows imported ({report.created} new, {report.updated} updated), "
               f"{len(report.errors)} bad rows")
    for line, problem in report.errors[:MAX_SHOWN]:
        click.echo(f"{csv_file}:{line}: {problem}", err=True)
    if len(report.errors) > MAX_SHOWN:
        click.echo(f"... and {len(report.errors) - MAX_SHOWN} more bad rows", err=True)
    if report.errors:
        sys.exit(1)
