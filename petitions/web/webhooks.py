"""POST /webhooks/twilio/status: Twilio's message status callbacks.

Refused (403) unless X-Twilio-Signature verifies against TWILIO_AUTH_TOKEN and the URL
Twilio called (the configured BASE_URL's, which is what we gave Twilio, or the URL as
this server saw it). A verified callback can only move its outbox row forward
(sent → delivered or failed), so a replayed or late one changes nothing.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from twilio.request_validator import RequestValidator

from notifications import outbox
from petitions.extensions import settings
from petitions.services import messages

bp = Blueprint("twilio_webhooks", __name__)


def _signed_urls() -> list[str]:
    path = request.full_path.rstrip("?")
    return [messages.base_url() + path, request.url]


@bp.post("/webhooks/twilio/status")
def twilio_status():
    token = settings().twilio.auth_token
    signature = request.headers.get("X-Twilio-Signature", "")
    params = request.form.to_dict()
    if not token or not signature:
        return jsonify({"error": {"code": "forbidden", "message": "signature required"}}), 403
    validator = RequestValidator(token)
    if not any(validator.validate(url, params, signature) for url in _signed_urls()):
        return jsonify({"error": {"code": "forbidden", "message": "bad signature"}}), 403
    changed = outbox.provider_update(
        params.get("MessageSid", ""), params.get("MessageStatus", ""), params.get("ErrorCode")
    )
    return jsonify({"updated": changed}), 200
