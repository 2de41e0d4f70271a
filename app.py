"""create_app(): the one factory. Settings, extensions, the unit of work's after-commit
hand-off, blueprints, the `flask` CLI (FLASK_APP=app).

Web processes (gunicorn), the RQ worker and the cron scheduler (`flask worker`, `flask
cron`) and every `flask` command build the app here, once, at start-up.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from config.settings import Settings
from notifications import queueing, redis_conn
from ops import cli
from petitions import web
from petitions.extensions import (
    babel,
    csrf,
    db,
    limiter,
    login_manager,
    migrate,
    ping_when_idle,
    reads_without_transaction,
)
from petitions.services import uow
from petitions.web.admin import bp as admin_bp
from petitions.web.api import bp as api_bp
from petitions.web.auth import bearer_user, load_user
from petitions.web.citizen import bp as citizen_bp
from petitions.web.open311 import bp as open311_bp
from petitions.web.public import bp as public_bp
from petitions.web.staff import bp as staff_bp
from petitions.web.supervision import bp as supervision_bp
from petitions.web.webhooks import bp as webhooks_bp


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    # The jobs' Redis: REDIS_URL, the one `make run` started, or an embedded one of our own.
    settings = settings.replace(
        redis_url=redis_conn.resolve_url(
            settings.redis_url, settings.embedded_redis_path, settings.runner_redis_dir
        )
    )
    app = Flask(
        __name__, instance_path=settings.instance_path, template_folder="templates", static_folder="static"
    )
    app.config.update(settings.flask_config())
    app.config["RATELIMIT_STORAGE_URI"] = settings.ratelimit_storage_uri or redis_conn.limiter_storage_uri(
        settings.redis_url
    )
    app.extensions["settings"] = settings

    db.init_app(app)
    with app.app_context():
        ping_when_idle(db.engine, settings.db_ping_idle_seconds)
        reads_without_transaction(db.engine)
    migrate.init_app(app, db, directory=str(Path(app.root_path) / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=web.select_locale)
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "citizen.login"
    login_manager.login_message = None
    limiter.init_app(app)
    limiter.request_filter(lambda: bearer_user() is not None and bearer_user().is_staff)
    # What a committed change hands to RQ (messages to deliver, clocks to check).
    uow.init_app(app, queueing.Dispatcher())
    web.init_app(app)

    app.register_blueprint(citizen_bp)
    app.register_blueprint(public_bp, url_prefix="/public")
    app.register_blueprint(staff_bp, url_prefix="/staff")
    app.register_blueprint(supervision_bp, url_prefix="/supervision")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(open311_bp, url_prefix="/open311/v2")
    app.register_blueprint(webhooks_bp)
    for machine_face in (api_bp, open311_bp, webhooks_bp):
        csrf.exempt(machine_face)

    cli.register(app)
    return app
