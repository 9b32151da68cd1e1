"""Reference servers for bench/callback_load.py: the real app plus two routes that verify, decrypt
and parse exactly as /wecom/callback does, then answer 200.

- ``/bench/ceiling`` stores nothing: the ceiling.
- ``/bench/fsync`` appends the decrypted event to a private file of its thread and fdatasyncs it:
  what one durable write per callback costs on this disk, with no database, lock or batching.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading

from flask import Flask, Response

from wecom_hr.app import create_app
from wecom_hr.callback import open_envelope
from wecom_hr.config import load_settings


def create() -> Flask:
    app = create_app(load_settings())
    files = threading.local()
    folder = tempfile.mkdtemp(prefix="wecomhr-bench-fsync-")
    atexit.register(shutil.rmtree, folder, True)

    @app.post("/bench/ceiling")
    def ceiling() -> Response:
        opened = open_envelope(app.extensions["wecom_hr"])
        return opened if isinstance(opened, Response) else Response("success", mimetype="text/plain")

    @app.post("/bench/fsync")
    def fsync() -> Response:
        opened = open_envelope(app.extensions["wecom_hr"])
        if isinstance(opened, Response):
            return opened
        fd = getattr(files, "fd", None)
        if fd is None:
            path = os.path.join(folder, f"{os.getpid()}-{threading.get_ident()}")
            fd = files.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.write(fd, opened[0] + b"\n")
        os.fdatasync(fd)
        return Response("success", mimetype="text/plain")

    return app
