"""`wecom-hr` command line. Each feature adds its group in its own module, listed in main()."""

from __future__ import annotations

import os
import sys
import tempfile

import click

from wecom_hr.cli.context import CliState
from wecom_hr.config import ConfigError


@click.group()
@click.option("--config", "config_path", envvar="WECOM_HR_CONFIG", type=click.Path(dir_okay=False),
              help="TOML config file (default: $WECOM_HR_CONFIG).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """wecom-hr: WeCom as the system of record for sales-HR controls."""
    ctx.obj = CliState(config_path)


def _register() -> None:
    from wecom_hr.cli import core, demo

    for command in (core.serve, core.worker, core.db, core.events, core.jobs, core.scheduler, demo.demo):
        cli.add_command(command)
    from wecom_hr.cli.customers import sync
    cli.add_command(sync)
    from wecom_hr.cli.receivables import receivables
    cli.add_command(receivables)
    from wecom_hr.cli.departures import departure  # departure handover (issue 5)
    cli.add_command(departure)
    from wecom_hr.cli.archive import archive  # chat archive (issue 4)
    cli.add_command(archive)
    from wecom_hr.cli.doctor import doctor  # configuration against real WeCom (issue 14)
    cli.add_command(doctor)
    from wecom_hr.cli.kpi import kpi  # salesperson KPIs (issue 18)
    cli.add_command(kpi)


def _prepare_metrics(argv: list[str]) -> None:
    """gunicorn workers must count in shared files; prometheus_client decides that at import."""
    if "serve" in argv and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="wecom-hr-metrics-")


def expected_failure(exc: BaseException) -> str | None:
    """The one line for a failure an operator can meet (database down, WeCom or the SDK refusing), or
    None for a bug, whose traceback is worth seeing."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    from wecom_hr.archive.errors import ArchiveError
    from wecom_hr.job_health import one_line
    from wecom_hr.wecom.errors import WeComError

    if isinstance(exc, (OperationalError, DBAPIError)):
        return f"the database cannot be used ({type(getattr(exc, 'orig', exc)).__name__}): check database.url " \
               "and that the server is up"
    if isinstance(exc, (WeComError, ArchiveError)):
        return one_line(exc)
    return None


def main(argv: list[str] | None = None) -> None:
    _prepare_metrics(sys.argv[1:] if argv is None else argv)
    _register()
    try:
        cli.main(args=argv, prog_name="wecom-hr", standalone_mode=False)
    except ConfigError as exc:
        click.echo(f"wecom-hr: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # an expected failure of any command: one line, never a traceback
        line = expected_failure(exc)
        if line is None:
            raise
        click.echo(f"wecom-hr: {line}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
