"""`wecom-hr demo [--once]`: run the service against the built-in WeCom simulator."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from wecom_hr import logs


@click.command()
@click.option("--once", is_flag=True, help="Exit after the scenario instead of serving until Ctrl-C.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port of the demo service.")
@click.option("--dir", "workdir", default="demo-data", show_default=True, type=click.Path(file_okay=False),
              help="Where the demo keeps its SQLite database.")
def demo(once: bool, port: int, workdir: str) -> None:
    """Seed a company in the simulator and show wecom-hr at work (no WeCom account needed)."""
    import logging

    from wecom_hr.demo import run

    logs.configure(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log in the story
    session = run(Path(workdir), port, once, out=click.echo)
    if once:
        session.stop()
        return
    click.echo("\nServing until Ctrl-C.")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        session.stop()
