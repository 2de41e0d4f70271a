"""The framework ceiling of bench/http_load.py: a minimal Flask app with one JSON endpoint.

    gunicorn -c gunicorn.conf.py bench.ceiling_app:app

No database, no Redis, no session, no template: what Flask and gunicorn cost per request
under the same settings as the real app. A page of the app can only be slower.
"""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify({"ok": True, "service": "ceiling"})
