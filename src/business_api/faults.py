"""Directive-driven behaviour shared by both mock endpoints: sleep, error status, garbage."""

from __future__ import annotations

import itertools
import threading
import time

from flask import Response

from .errors import ApiError, error_response
from .directives import DirectiveError, Directives, directive_fields

GARBAGE_BODY = "<html><body>502 upstream hiccup: this body is deliberately not JSON</body></html>"
RETRY_AFTER_SECONDS = "1"

# Requests carrying [mock:flaky=...] are numbered per worker process; number 1, N+1, 2N+1, ... fails.
_flaky_numbers = itertools.count()
_flaky_lock = threading.Lock()


def _flaky_turn_fails(every: int) -> bool:
    with _flaky_lock:
        return next(_flaky_numbers) % every == 0


def read_directives(text: str, param: str | None = None) -> Directives:
    """The directives in `text`, or a 400 naming the malformed one (and `param`, the field holding it)."""
    return read_turn_directives([(text, param)])


def read_turn_directives(texts: list[tuple[str, str | None]]) -> Directives:
    """The directives in several (text, param) pairs, in order: a later text's directive overrides an earlier one.

    Agents split the user's turn: Claude Code appends system reminders as later user text, so a directive in the
    prompt must survive what follows it.
    """
    found: dict = {}
    for text, param in texts:
        try:
            found.update(directive_fields(text))
        except DirectiveError as error:
            raise ApiError(400, str(error), param) from None
    return Directives(**found)


def injected_fault(directives: Directives) -> Response | None:
    """Sleep if asked, then the requested failure response, or None to answer normally."""
    if directives.sleep_ms:
        time.sleep(directives.sleep_ms / 1000)
    if directives.status is not None:
        return _failure(directives.status, "[mock:status]")
    if directives.flaky_every and _flaky_turn_fails(directives.flaky_every):
        return _failure(directives.flaky_status, "[mock:flaky]")
    if directives.garbage:
        return Response(GARBAGE_BODY, status=200, mimetype="text/html")
    return None


def _failure(status: int, directive: str) -> Response:
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status in (429, 503) else None
    return error_response(status, f"mock failure: status {status} requested by {directive}", headers=headers)
