"""The adapter's one error type and the one table from backend outcomes to client statuses.

Plain Python, no LiteLLM: the providers hand these to LiteLLM as its own exception types (providers/base.py).
"""

from __future__ import annotations

MAX_BACKEND_MESSAGE = 300


class AdapterError(Exception):
    """An error with the HTTP status the client should see, the parameter at fault and headers to pass on."""

    def __init__(self, status_code: int, message: str, param: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status_code, self.message = status_code, message
        self.param = param
        self.headers = headers or {}


def invalid_request(message: str, param: str | None = None) -> AdapterError:
    return AdapterError(400, message, param)


def trim(text: str, limit: int = MAX_BACKEND_MESSAGE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def from_backend_status(backend: str, status: int, message: str, retry_after: str | None) -> AdapterError:
    """What the client sees when the backend answered with an error status."""
    detail = trim(message) or "no message"
    if status in (401, 403):
        return AdapterError(
            502, f"{backend} rejected the adapter's own credentials (HTTP {status}); check the server configuration"
        )
    if status == 404:
        return AdapterError(502, f"{backend} answered 404 (not found): {detail}; check the server configuration")
    if status == 429:
        headers = {"retry-after": retry_after} if retry_after else None
        return AdapterError(429, f"{backend} is rate-limiting requests: {detail}", headers=headers)
    if status == 424:  # "failed dependency": TGI's answer when generation itself failed — not the client's fault
        return AdapterError(502, f"{backend} failed while generating (HTTP 424): {detail}")
    if status == 413:
        return AdapterError(413, f"{backend} refused the request as too large: {detail}")
    if 400 <= status < 500:
        return AdapterError(400, f"{backend} refused the request: {detail}")
    if status == 503:
        # "Temporarily unavailable" is the one 5xx worth retrying: keep its status, so that the router's
        # retry policy (ServiceUnavailableErrorRetries) retries it like an unreachable backend.
        headers = {"retry-after": retry_after} if retry_after else None
        return AdapterError(503, f"{backend} is temporarily unavailable (HTTP 503): {detail}", headers=headers)
    return AdapterError(502, f"{backend} failed with HTTP {status}: {detail}")


def unreachable(backend: str, reason: str) -> AdapterError:
    return AdapterError(503, f"{backend} is unreachable ({reason}); is it running?")


def timed_out(backend: str, seconds: float) -> AdapterError:
    return AdapterError(504, f"{backend} did not answer within {seconds:g} s (BUSINESS_API_TIMEOUT)")


def bad_answer(backend: str, why: str) -> AdapterError:
    return AdapterError(502, f"{backend} sent an answer the adapter cannot use: {why}")
