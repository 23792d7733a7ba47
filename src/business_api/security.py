"""Shared-secret checks for the business API's endpoints, in constant time."""

from __future__ import annotations

import hmac

from .errors import ApiError


def constant_time_equal(received: str, expected: str) -> bool:
    return hmac.compare_digest(received.encode("utf-8"), expected.encode("utf-8"))


def require_secret(received: str | None, expected: str, what: str) -> None:
    """Refuse with 401 unless `received` equals the configured secret."""
    if not expected:
        raise ApiError(503, f"the server has no {what} configured; set it in src/.env")
    if not received or not constant_time_equal(received, expected):
        raise ApiError(401, f"missing or invalid {what}")
