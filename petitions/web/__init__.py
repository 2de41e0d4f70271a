"""The web glue the faces share: the language, error pages and JSON errors, template helpers.

Each face is a blueprint package beside this one (citizen, public, staff, supervision,
admin, api, open311, webhooks); create_app() registers them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import Flask, Response, g, has_request_context, jsonify, render_template, request, session
from flask_babel import format_datetime, get_locale
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from petitions.domain.errors import DomainError
from petitions.extensions import db, settings
from petitions.i18n import gettext as _
from petitions.i18n import translations
from petitions.web import inputs
from petitions.web.presenters import local_name


def select_locale() -> str:
    languages = settings().languages
    if not has_request_context():
        return settings().default_locale
    wanted = request.args.get("lang")
    if wanted in languages:
        session["lang"] = wanted
        return wanted
    if session.get("lang") in languages:
        return session["lang"]
    return settings().default_locale


# A face that answers errors in a shape of its own registers it for its path (Open311).
ErrorShape = Callable[[int, str, Mapping[str, str] | None], Response]
ERROR_SHAPES: dict[str, ErrorShape] = {}


def _error_shape(path: str) -> ErrorShape | None:
    return next((shape for prefix, shape in ERROR_SHAPES.items() if path.startswith(prefix)), None)


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
        shape = _error_shape(request.path)
        if shape is not None:
            return shape(exc.status, str(exc.message), headers)
        if wants_json():
            return json_error(exc.status, exc.code, str(exc.message), exc.text_fields(), headers=headers)
        return error_page(exc.status, str(exc.message)), exc.status, headers or {}

    @app.errorhandler(OperationalError)
    def statement_timed_out(exc: OperationalError):
        # Only a statement cancelled by its timeout (SQLSTATE 57014); anything else is a fault.
        if getattr(exc.orig, "sqlstate", None) != "57014":
            raise exc
        # What the page still reads (the signed-in user, its menus) must not meet the aborted transaction.
        db.session.rollback()
        message = _("This took too long and was stopped. Please narrow the search and try again.")
        headers = {"Retry-After": "10"}
        shape = _error_shape(request.path)
        if shape is not None:
            return shape(503, str(message), headers)
        if wants_json():
            return json_error(503, "timeout", message, headers=headers)
        return error_page(503, message), 503, headers

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
        shape = _error_shape(request.path)
        if shape is not None:
            return shape(status, str(message), headers)
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


# How pages show a moment unless told otherwise (a Unicode date pattern).
LOCAL_TIME = "yyyy-MM-dd HH:mm"


def register_template_helpers(app: Flask) -> None:
    tz = ZoneInfo(app.extensions["settings"].timezone)

    @app.template_filter("local")
    def local_time(value: datetime | None, fmt: str = LOCAL_TIME) -> str:
        if value is None:
            return ""
        if fmt == LOCAL_TIME:
            # Digits and dashes, the same in every language: without the locale's formatter,
            # which a page with a long history called once per event.
            return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        return format_datetime(value.astimezone(tz), fmt, rebase=False)

    # {{ unit | named }}: a unit's or category's name in the page's language.
    app.add_template_filter(local_name, "named")

    # The templates' _() and ngettext() find the request's translations once, not on every call
    # (petitions.i18n: Flask-Babel looks up the context, the locale and its name anew each time,
    # a fifth of a staff page's rendering).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )

    # Inside a loop, Jinja hands a function that takes the context (the i18n extension's `_` and
    # its new-style `gettext` both do) a copy of the whole context on every call: about a tenth
    # of the intake page's CPU. Every template here is HTML and autoescaped, where the
    # extension's answer is the translation as Markup formatted with escaped variables: the
    # same answer from plain functions.
    app.jinja_env.globals.update(_=html_gettext, gettext=html_gettext)

    from petitions.web.forms import menu

    # {{ menu(name, choices, selected, id) }}: a select whose options are rendered once and kept.
    app.add_template_global(menu, "menu")

    @app.context_processor
    def inject() -> dict:
        return {
            "languages": settings().languages,
            "current_locale": str(get_locale()),
        }

    @app.before_request
    def remember_start() -> None:
        g.request_path = request.path


def html_gettext(string: str, /, **variables: object) -> Markup:
    """A template's `_()`: the text in the request's language, as Markup, formatted with its
    variables escaped (what the i18n extension's new-style gettext gives an autoescaped
    template)."""
    catalogue = translations()
    if variables:
        return Markup(catalogue.ugettext(string)) % variables
    return _plain_text(catalogue, string)


@lru_cache(maxsize=4096)
def _plain_text(catalogue: object, string: str) -> Markup:
    """html_gettext without variables: the answer depends on the text and the catalogue alone."""
    return Markup(catalogue.ugettext(string)) % {}


def register_security_headers(app: Flask) -> None:
    """Every response: the content security policy (no inline script or style, never framed),
    no framing for older browsers, no content sniffing, no full URLs sent to other sites."""

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", settings().content_security_policy)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        return response


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES proxies, the client address (rate limits, lockouts, logs) and the
    scheme are the ones the proxies forwarded; with 0 the forwarded headers are ignored."""
    hops = app.extensions["settings"].trusted_proxies
    if hops < 0:
        raise ValueError("TRUSTED_PROXIES must be 0 or more")
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)


def init_app(app: Flask) -> None:
    """The web glue every face shares: the proxies trusted, the input layer, error pages and
    JSON errors, template helpers, the security headers. Before the blueprints: their <int:…>
    rules take the input layer's converter."""
    trust_proxies(app)
    inputs.init_app(app)
    register_errors(app)
    register_template_helpers(app)
    register_security_headers(app)
