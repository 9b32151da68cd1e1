"""`wecom-hr demo`: placeholder until the simulator lands (replaced below)."""

from __future__ import annotations

import click


@click.command()
@click.option("--once", is_flag=True)
def demo(once: bool) -> None:
    """Run the service against the built-in WeCom simulator."""
    raise click.ClickException("demo is not built yet")
