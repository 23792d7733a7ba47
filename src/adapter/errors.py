"""The adapter's one error type and the table from backend outcomes to client statuses."""

from __future__ import annotations

import httpx
import litellm
from litellm.llms.custom_llm import CustomLLMError

MAX_BACKEND_MESSAGE = 300


class AdapterError(CustomLLMError):
    """An error with the HTTP status the client should see (LiteLLM maps it to its exception types)."""

    def __init__(self, status_code: int, message: str, param: str | None = None, headers: dict | None = None):
        super().__init__(status_code=status_code, message=message)
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


# LiteLLM's exception class per status, as its own mapping picks them: the router's retry policy and fallbacks
# key on these classes (ServiceUnavailableError is retried, BadRequestError never falls back).
LITELLM_ERROR_CLASSES = {
    400: litellm.BadRequestError,
    401: litellm.AuthenticationError,
    403: litellm.PermissionDeniedError,
    404: litellm.NotFoundError,
    429: litellm.RateLimitError,
    500: litellm.InternalServerError,
    502: litellm.BadGatewayError,
    503: litellm.ServiceUnavailableError,
    504: litellm.Timeout,
}


def as_litellm_error(error: AdapterError, model: str, provider: str) -> Exception:
    """`error` as the LiteLLM exception for its status, keeping `param`, the exact status and the backend's headers.

    LiteLLM passes its own exception types through unchanged, and the proxy reads `param` and `status_code`
    from them; a CustomLLMError would be re-mapped and lose its `param`.
    """
    status = error.status_code
    kind = LITELLM_ERROR_CLASSES.get(status) or (litellm.BadRequestError if status < 500 else litellm.InternalServerError)
    response = httpx.Response(status, headers=error.headers, request=httpx.Request("POST", f"http://{provider}"))
    options = {"message": error.message, "model": model, "llm_provider": provider}
    if kind is not litellm.Timeout:
        options["response"] = response
    converted = kind(**options)
    converted.status_code = status  # e.g. 413 stays 413 under BadRequestError
    converted.param = error.param
    converted.litellm_response_headers = response.headers
    return converted
