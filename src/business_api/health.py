"""GET /health: liveness without authentication, with this worker process's stream counters."""

from flask import Blueprint, jsonify

from .streams import COUNTERS

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    return jsonify({"status": "ok", "service": "business-api", "streams": COUNTERS.snapshot()})
