"""`wecom-hr serve`: the app under gunicorn. Each worker process builds its own app and runtime
after the fork (no connection crosses a fork) and, unless [worker] embedded = false, drains the
inbox in a background thread, so one `serve` is a complete installation.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from gunicorn.app.base import BaseApplication

from wecom_hr.config import Settings

log = logging.getLogger(__name__)


def build_wsgi(settings: Settings, start_worker: bool) -> Any:
    from handlers import ROUTES
    from wecom_hr.app import create_app
    from wecom_hr.dispatch import Dispatcher, InboxWorker

    app = create_app(settings)
    runtime = app.extensions["wecom_hr"]
    if start_worker:
        app.extensions["wecom_hr.worker"] = InboxWorker(Dispatcher(runtime, ROUTES)).start()
    from wecom_hr import first_run

    first_run.start(runtime)  # a new installation reads its directory now, not at 01:30
    if settings.worker.scheduler:
        from wecom_hr.scheduler import run_forever

        # Every worker competes for the scheduler lease; exactly one runs the jobs at a time.
        threading.Thread(target=run_forever, args=(runtime,), name="scheduler", daemon=True).start()
    return app


class GunicornServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        return build_wsgi(self.settings, self.settings.worker.embedded)


def _child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def serve(settings: Settings, host: str, port: int, workers: int, threads: int = 4,
          worker_class: str = "gthread") -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": worker_class,
        "threads": threads,
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 5,
        "preload_app": False,  # build engines after the fork
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "child_exit": _child_exit,
    }
    log.info("serving on http://%s:%d with %d worker(s)", host, port, workers)
    GunicornServer(settings, options).run()
