"""The ceiling for bench/callback_load.py: the real app, plus a route that verifies, decrypts and
parses exactly as /wecom/callback does, then answers 200 without storing."""

from __future__ import annotations

from flask import Flask, Response

from wecom_hr.app import create_app
from wecom_hr.callback import open_envelope
from wecom_hr.config import load_settings


def create() -> Flask:
    app = create_app(load_settings())

    @app.post("/bench/ceiling")
    def ceiling() -> Response:
        opened = open_envelope(app.extensions["wecom_hr"])
        return opened if isinstance(opened, Response) else Response("success", mimetype="text/plain")

    return app
