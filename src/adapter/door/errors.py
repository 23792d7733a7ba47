"""Errors in the caller's shape, one per API family: LiteLLM's error responses and stream events rewritten.

ErrorNormalisingSend wraps the ASGI `send` of every request the door passes on: error responses (gzipped or not)
become OpenAI's {"error": {message, type, param, code}} or, on Anthropic routes, Anthropic's {"type": "error",
"error": {type, message}}, with the same status, without tracebacks or secret values.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

from .asgi import Send, header

# openai-python's status → error class table, as the `type` strings OpenAI itself sends. A function of the
# status only, so that a client sees the same `type` for a status in a stream event and in a response.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    422: "unprocessable_entity_error",
    429: "rate_limit_error",
}
# Where LiteLLM's messages stop being for the client: tracebacks, bug-report links, router notes.
NOISE_MARKERS = (
    "\nTraceback",
    "Traceback (most recent call last)",
    "This looks like a bug",
    "\n\nLiteLLM: model group",
    "\nReceived Model Group",
    "Deployment Info:",
    " To allow unauthenticated access, set",  # LiteLLM's /metrics 401: advice for the operator, not the client
    # LiteLLM's advice on unsupported parameters is for whoever runs the proxy, not for its clients
    " To drop these, set `litellm.drop_params",
    " To drop it from the call, set `litellm.drop_params",
)
# LiteLLM's UnsupportedParamsError names the parameters only in its message: its first one is the param.
UNSUPPORTED_PARAMS = re.compile(r"does not support parameters: \[\s*'([^']+)'|\bSetting (?:\{'([^']+)'|`([^`]+)`)")
PREFIX_PATTERN = re.compile(r"^(?:litellm\.\w+:\s*)?(?:[\w-]+Exception - )?")
# An error body is a few hundred bytes; a decoded one past this size is not an error body worth reading.
MAX_DECODED_ERROR = 1024 * 1024
# zlib's window bits: 32 + 15 reads a gzip or zlib header; -15 is raw deflate (some servers' "deflate").
AUTO_HEADER, RAW_DEFLATE = 47, -15


# Anthropic's error types (docs.anthropic.com/en/api/errors). The proxy answers an overloaded backend with 503,
# the HTTP status every load balancer and retry policy knows; 529 is Anthropic's own and is mapped too, for a
# status a backend may pass through. Its SDKs retry both.
ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}
OPENAI, ANTHROPIC = "openai", "anthropic"


def error_type(status: int) -> str:
    return ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def error_body(status: int, message: str, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": error_type(status), "param": param, "code": str(status)}}


def anthropic_type(status: int) -> str:
    return ANTHROPIC_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def anthropic_body(status: int, message: str) -> dict:
    return {"type": "error", "error": {"type": anthropic_type(status), "message": message}}


def family_body(family: str, status: int, message: str, param: str | None = None) -> dict:
    """The error body a caller of `family`'s routes reads. Anthropic's shape has no param: a message names it."""
    if family == ANTHROPIC:
        return anthropic_body(status, message)
    return error_body(status, message, param)


def budget_body(family: str, message: str) -> dict:
    """A key over its money budget (429): OpenAI's quota error (insufficient_quota, code budget_exceeded), or
    Anthropic's rate-limit error, whose SDKs know no other type for a 429."""
    if family == ANTHROPIC:
        return anthropic_body(429, message)
    return {"error": {"message": message, "type": "insufficient_quota", "param": None, "code": "budget_exceeded"}}


def in_family(family: str, error: dict) -> dict:
    """An OpenAI error body (normalise_error's) in `family`'s shape."""
    if family == ANTHROPIC:
        return anthropic_body(int(error["error"]["code"]), error["error"]["message"])
    return error


# LiteLLM's ways of saying that an endpoint needs its database (virtual keys, users, teams, spend), which
# this stack runs without: such a call is a feature this deployment lacks (501), not a proxy failure (500).
DATABASE_MISSING = re.compile(
    r"(?:db not connected|database not connected|no db connected|no connected db)\b", re.IGNORECASE
)
DATABASE_MISSING_MESSAGE = ("this endpoint needs LiteLLM's database (virtual keys, users, teams, spend tracking) and "
                            "this stack runs without one; call the models with LITELLM_MASTER_KEY")


def database_missing_error(messages) -> dict | None:
    """The 501 error body when any of LiteLLM's messages says a database is needed; None otherwise."""
    if any(DATABASE_MISSING.search(str(message)) for message in messages):
        return error_body(501, DATABASE_MISSING_MESSAGE)
    return None


def decoded(raw: bytes, content_encoding: str) -> bytes:
    """The body as LiteLLM wrote it before compressing it (its gzip middleware compresses bodies ≥ 500 bytes);
    b"" when it cannot be read, so that the caller falls back to a generic message."""
    coding = content_encoding.strip().lower()
    if coding in ("", "identity"):
        return raw
    if coding not in ("gzip", "x-gzip", "deflate"):
        return b""
    for wbits in (AUTO_HEADER, RAW_DEFLATE):
        try:
            inflater = zlib.decompressobj(wbits)
            return inflater.decompress(raw, MAX_DECODED_ERROR)
        except zlib.error:
            continue
    return b""


def clean_message(message: Any, secrets: tuple[str, ...]) -> str:
    """A person-readable message: no traceback, no LiteLLM plumbing, no secret values."""
    text = message if isinstance(message, str) else json.dumps(message)
    for marker in NOISE_MARKERS:
        text = text.split(marker, 1)[0]
    text = PREFIX_PATTERN.sub("", text.strip(), count=1).strip()
    for secret in secrets:
        text = text.replace(secret, "<redacted>")
    return text


def normalise_error(status: int, raw: bytes, secrets: tuple[str, ...]) -> dict:
    """Any error body the proxy produced → one OpenAI error object; its `code` is the status to answer with
    (the same status, except 501 for endpoints that need LiteLLM's database)."""
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        parsed = None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        message, param = error.get("message"), error.get("param")
    elif isinstance(parsed, dict) and "detail" in parsed:
        message, param = parsed["detail"], None
    elif isinstance(parsed, str):  # LiteLLM's /metrics auth answers its 401 as a bare JSON string
        message, param = parsed, None
    else:
        message, param = None, None
    if not message:
        message = "internal error in the proxy; see its log" if status >= 500 else f"request failed with HTTP {status}"
    no_database = database_missing_error([message])
    if no_database:
        return no_database
    # LiteLLM writes a missing param as the string "None".
    param = param if isinstance(param, str) and param not in ("None", "") else None
    if param is None and isinstance(message, str):
        unsupported = UNSUPPORTED_PARAMS.search(message)
        param = next(filter(None, unsupported.groups()), None) if unsupported else None
    return error_body(status, clean_message(message, secrets), param)


STREAM_ERROR_MARKER = b'data: {"error"'
ANTHROPIC_ERROR_MARKER = b'data: {"type": "error"'
ANTHROPIC_ERROR_EVENT = b"event: error"
RESPONSE_FAILED_MARKER = b'"type":"response.failed"'


def _cleaned_response_failed(line: bytes, secrets: tuple[str, ...]) -> bytes:
    """A Responses API `response.failed` event keeps its own shape ({code, message}); its message is cleaned."""
    try:
        event = json.loads(line[len(b"data: ") :])
        error = event["response"]["error"]
        error["message"] = clean_message(error.get("message") or "the response failed", secrets)
    except (ValueError, TypeError, KeyError):
        return line
    return b"data: " + json.dumps(event, separators=(",", ":")).encode("utf-8")


def _stream_error_status(raw: bytes) -> int:
    """The status an error event stands for: OpenAI's carry a code; Anthropic's a type."""
    try:
        error = json.loads(raw)["error"]
        code = error.get("code")
        if code:
            return int(code)
        return next((status for status, kind in ANTHROPIC_TYPES.items() if kind == error.get("type")), 500)
    except (ValueError, TypeError, KeyError, AttributeError):
        return 500


def normalise_stream_errors(chunk: bytes, secrets: tuple[str, ...], family: str = OPENAI) -> bytes:
    """Clean the error event LiteLLM sends when a stream fails after it started; other events pass as they are.

    On Anthropic routes an error is an `event: error` frame in Anthropic's shape (its SDKs read events by name).
    Event streams are never compressed: LiteLLM's gzip middleware only compresses a body sent in one message.
    """
    if STREAM_ERROR_MARKER not in chunk and RESPONSE_FAILED_MARKER not in chunk and (
            family != ANTHROPIC or ANTHROPIC_ERROR_MARKER not in chunk):
        return chunk
    lines = []
    for line in chunk.split(b"\n"):
        if line.startswith(b"data: ") and RESPONSE_FAILED_MARKER in line:
            line = _cleaned_response_failed(line, secrets)
        elif line.startswith(STREAM_ERROR_MARKER) or (family == ANTHROPIC and line.startswith(ANTHROPIC_ERROR_MARKER)):
            raw = line[len(b"data: ") :]
            error = in_family(family, normalise_error(_stream_error_status(raw), raw, secrets))
            line = b"data: " + json.dumps(error).encode("utf-8")
            if family == ANTHROPIC and (not lines or lines[-1] != ANTHROPIC_ERROR_EVENT):
                lines.append(ANTHROPIC_ERROR_EVENT)
        lines.append(line)
    return b"\n".join(lines)


_BODY_HEADERS = frozenset({b"content-type", b"content-length", b"content-encoding", b"transfer-encoding"})


def _error_headers(original: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    """The error response's headers for the rewritten body; the backend's Retry-After is passed on.

    LiteLLM forwards a provider's headers only with an `llm_provider-` prefix, which OpenAI clients
    don't read: restore `retry-after` so they wait as long as the backend asked.
    """
    kept = [(k, v) for k, v in original if k.lower() not in _BODY_HEADERS]
    names = {k.lower() for k, _ in kept}
    if b"retry-after" not in names:
        kept += [(b"retry-after", v) for k, v in original if k.lower() == b"llm_provider-retry-after"][:1]
    return kept + [(b"content-type", b"application/json"), (b"content-length", str(length).encode())]


def _is_event_stream(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"text/event-stream") for k, v in headers)


def exception_chain(exc: BaseException, limit: int = 10) -> list[BaseException]:
    """The exception and the ones it was raised from or while handling (LiteLLM's error handler raises anew)."""
    chain: list[BaseException] = []
    while exc is not None and len(chain) < limit and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


class ErrorNormalisingSend:
    """Wraps `send`: error responses are buffered and rewritten, error events in streams are cleaned;
    everything else passes straight through."""

    def __init__(self, send: Send, secrets: tuple[str, ...], kept_status: int | None = None, family: str = OPENAI):
        self.send, self.secrets, self.kept_status, self.family = send, secrets, kept_status, family
        self.start: dict | None = None
        self.chunks: list[bytes] = []
        self.started = False  # whether a response start has reached the client
        self.event_stream = False

    async def __call__(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            if message["status"] >= 400 and message["status"] != self.kept_status:
                self.start = message
                return
            self.event_stream = _is_event_stream(message.get("headers", []))
        if self.start is None or message["type"] != "http.response.body":
            if self.event_stream and message["type"] == "http.response.body":
                raw = message.get("body", b"")
                cleaned = normalise_stream_errors(raw, self.secrets, self.family)
                if cleaned is not raw:  # most chunks carry no error: sent as they are, not copied
                    message = {**message, "body": cleaned}
            self.started = self.started or message["type"] == "http.response.start"
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            await self._send_rewritten()

    async def _send_rewritten(self) -> None:
        encoding = header(self.start.get("headers", []), b"content-encoding") or b""
        raw = decoded(b"".join(self.chunks), encoding.decode("latin-1"))
        error = normalise_error(self.start["status"], raw, self.secrets)
        status = int(error["error"]["code"])
        payload = json.dumps(in_family(self.family, error)).encode("utf-8")
        headers = _error_headers(self.start.get("headers", []), len(payload))
        self.started = True
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": payload})
