"""``nstyle serve``: a local web page to stylise images, watch the painting emerge and compare backbones, and
the JSON API it uses (docs/WEB.md). Needs the ``web`` extra (FastAPI, uvicorn, python-multipart)."""

from .app import create_app

__all__ = ["create_app"]
