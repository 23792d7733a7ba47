"""Directive-driven behaviour shared by both mock endpoints: sleep, error status, garbage."""

from __future__ import annotations

import time

from flask import Response

from .errors import ApiError, error_response
from .mock import DirectiveError, Directives, parse_directives

GARBAGE_BODY = "<html><body>502 upstream hiccup: this body is deliberately not JSON</body></html>"
RETRY_AFTER_SECONDS = "1"


def read_directives(text: str) -> Directives:
    try:
        return parse_directives(text)
    except DirectiveError as error:
        raise ApiError(400, str(error)) from None


def injected_fault(directives: Directives) -> Response | None:
    """Sleep if asked, then the requested failure response, or None to answer normally."""
    if directives.sleep_ms:
        time.sleep(directives.sleep_ms / 1000)
    if directives.status is not None:
        headers = {"Retry-After": RETRY_AFTER_SECONDS} if directives.status in (429, 503) else None
        message = f"mock failure: status {directives.status} requested by [mock:status]"
        return error_response(directives.status, message, headers=headers)
    if directives.garbage:
        return Response(GARBAGE_BODY, status=200, mimetype="text/html")
    return None
