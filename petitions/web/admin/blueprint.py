"""The admin face's blueprint: its views register on it (imported by the package)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates")
