"""Static assets are files in the package; their URLs carry a hash of the content, so a browser
inside WeCom never keeps yesterday's script after an upgrade."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import url_for

STATIC = Path(__file__).parent / "static"


@lru_cache(maxsize=64)
def _digest(name: str) -> str:
    path = (STATIC / name).resolve()
    if STATIC.resolve() not in path.parents or not path.is_file():
        raise FileNotFoundError(name)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def asset_url(name: str) -> str:
    return url_for("web.static", filename=name, v=_digest(name))
