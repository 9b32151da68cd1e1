"""Lazy settings/runtime for CLI commands: `--help` works without a config file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from wecom_hr import logs
from wecom_hr.config import Settings, load_settings

if TYPE_CHECKING:
    from wecom_hr.runtime import Runtime


class CliState:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None
        self._runtime: Runtime | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
            logs.configure(self._settings.log_json)
        return self._settings

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            from wecom_hr.runtime import Runtime  # late: `serve` sets up metrics before this import

            self._runtime = Runtime(self.settings)
        return self._runtime


pass_state = click.make_pass_decorator(CliState)
