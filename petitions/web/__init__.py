"""Binding the extensions, blueprints, errors, language and template helpers to an app."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, g, has_request_context, jsonify, render_template, request, session
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from notifications import redis_conn
from petitions.domain.errors import DomainError
from petitions.extensions import babel, csrf, db, limiter, login_manager, migrate


def select_locale() -> str:
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    wanted = request.args.get("lang")
    if wanted in languages:
        session["lang"] = wanted
        return wanted
    if session.get("lang") in languages:
        return session["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/webhooks/"))


def json_error(status: int, code: str, message: str, fields: dict[str, str] | None = None, headers=None):
    body: dict = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    response = jsonify(body)
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


STAFF_AREAS = ("/staff/", "/supervision/", "/admin/")


def error_page(status: int, message: str) -> str:
    """The error page, in the staff layout for a staff member on a staff page (citizen's otherwise)."""
    from flask_login import current_user

    staff_layout = (
        request.path.startswith(STAFF_AREAS)
        and current_user.is_authenticated
        and current_user.is_staff
        and current_user.active
    )
    return render_template("error.html", status=status, message=message, staff_layout=staff_layout)


def register_errors(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        headers = getattr(exc, "headers", None)  # e.g. Retry-After of a sign-in lock
        if request.path.startswith("/open311/"):
            from petitions.web.open311 import error_response

            return error_response(exc.status, str(exc.message), headers)
        if wants_json():
            return json_error(exc.status, exc.code, str(exc.message), exc.text_fields(), headers=headers)
        return error_page(exc.status, str(exc.message)), exc.status, headers or {}

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        message = _("This page has expired. Please go back, reload it and try again.")
        if wants_json():
            return json_error(400, "csrf", message)
        return error_page(400, message), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        headers = {}
        if status == 429:
            message = _("Too many requests. Please wait a moment and try again.")
            retry = getattr(exc, "retry_after", None) or _retry_after_from(exc)
            headers["Retry-After"] = str(retry)
        elif status == 413:
            message = _("What you sent is too large.")
        elif status == 405:
            message = exc.description or exc.name
            # RFC 9110: a 405 names the methods that are allowed.
            allowed = getattr(exc, "valid_methods", None)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        elif status == 404:
            message = _("Not found.")
        else:
            message = exc.description or exc.name
        if request.path.startswith("/open311/"):
            from petitions.web.open311 import error_response

            return error_response(status, str(message), headers)
        if wants_json():
            return json_error(status, _HTTP_CODES.get(status, "error"), message, headers=headers)
        response = app.make_response((error_page(status, message), status))
        response.headers.update(headers)
        return response


def _retry_after_from(exc: HTTPException) -> int:
    limit = getattr(exc, "limit", None)
    if limit is not None:
        try:
            return int(limit.limit.get_expiry())
        except Exception:  # pragma: no cover - defensive
            pass
    return 60


def register_template_helpers(app: Flask) -> None:
    tz = ZoneInfo(app.config["TIMEZONE"])

    @app.template_filter("local")
    def local_time(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
        if value is None:
            return ""
        return format_datetime(value.astimezone(tz), fmt, rebase=False)

    from petitions.web.presenters import local_name

    # {{ unit | named }}: a unit's or category's name in the page's language.
    app.add_template_filter(local_name, "named")

    @app.context_processor
    def inject() -> dict:
        from flask_babel import get_locale

        return {
            "languages": app.config["LANGUAGES"],
            "current_locale": str(get_locale()),
        }

    @app.before_request
    def remember_start() -> None:
        g.request_path = request.path


def register_security_headers(app: Flask) -> None:
    """Every response: the content security policy (no inline script or style, never framed),
    no framing for older browsers, no content sniffing, no full URLs sent to other sites."""

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", app.config["CONTENT_SECURITY_POLICY"])
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        return response


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies, the client address (rate limits, lockouts, logs) and the
    scheme are the ones the proxies forwarded; with 0 the forwarded headers are ignored."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops < 0:
        raise ValueError("TRUSTED_PROXIES must be 0 or more")
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def init_app(app: Flask) -> None:
    trust_proxies(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    from petitions.web.auth import bearer_user, load_user

    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "citizen.login"
    login_manager.login_message = None

    # The jobs' Redis is resolved whatever stores the rate limits (a test or a benchmark may
    # keep those in memory and still schedule jobs).
    url = redis_conn.resolve_url(
        app.config["REDIS_URL"], app.config["EMBEDDED_REDIS_PATH"], app.config.get("RUNNER_REDIS_DIR")
    )
    app.config["REDIS_URL"] = url
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = redis_conn.limiter_storage_uri(url)
    # Redis trouble must never stop a petition from being filed: fall back to memory.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
    limiter.request_filter(lambda: bearer_user() is not None and bearer_user().is_staff)

    from petitions.web.admin import bp as admin_bp
    from petitions.web.api import bp as api_bp
    from petitions.web.citizen import bp as citizen_bp
    from petitions.web.public import bp as public_bp
    from petitions.web.staff import bp as staff_bp
    from petitions.web.supervision import bp as supervision_bp

    app.register_blueprint(citizen_bp)
    app.register_blueprint(public_bp, url_prefix="/public")
    app.register_blueprint(staff_bp, url_prefix="/staff")
    app.register_blueprint(supervision_bp, url_prefix="/supervision")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)

    from petitions.web.open311 import bp as open311_bp

    app.register_blueprint(open311_bp, url_prefix="/open311/v2")
    csrf.exempt(open311_bp)

    from petitions.web.webhooks import bp as webhooks_bp

    app.register_blueprint(webhooks_bp)
    csrf.exempt(webhooks_bp)

    register_errors(app)
    register_template_helpers(app)
    register_security_headers(app)

    from ops import cli

    cli.register(app)
