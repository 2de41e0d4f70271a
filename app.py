"""create_app() and the `flask` CLI entry (FLASK_APP=app)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from config.settings import INSTANCE, Config


def create_app(config: type[Config] | None = None, **overrides: Any) -> Flask:
    app = Flask(__name__, instance_path=str(INSTANCE), template_folder="templates", static_folder="static")
    app.config.from_object(config or Config)
    app.config.update(overrides)

    from petitions import web

    web.init_app(app)
    return app
