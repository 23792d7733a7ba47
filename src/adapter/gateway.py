"""The proxy's ASGI app: LiteLLM's app behind a door that checks requests and keeps every error OpenAI-shaped.

Run with `uvicorn adapter.gateway:app` (see start_services.sh). The door:
- refuses bodies over MAX_REQUEST_BODY_MB with 413 (LiteLLM's own limit setting is enterprise-only);
- refuses malformed chat requests and server-owned fields with a 400 before LiteLLM sees them;
- rewrites every error response LiteLLM produces into {"error": {message, type, param, code}} with the
  same status, without tracebacks or secret values (without `prisma` installed, LiteLLM answers some
  errors with a plain-text 500).
"""

from __future__ import annotations

import json
import logging
from typing import Awaitable, Callable

# litellm is imported after adapter/__init__.py has handed it our environment.
from litellm.proxy import proxy_server
from litellm.proxy.auth.auth_utils import is_request_body_safe

import stack_settings

from . import lifespan
from .request_checks import (
    RequestProblem,
    database_missing_error,
    error_body,
    normalise_error,
    normalise_stream_errors,
    parse_chat_body,
)

log = logging.getLogger("adapter.gateway")

DRAIN_LIMIT = 64 * 1024 * 1024  # bytes past the limit we still read to answer an oversized upload cleanly
_BODY_HEADERS = frozenset({b"content-type", b"content-length", b"content-encoding", b"transfer-encoding"})
CHAT_PATHS = frozenset({"/chat/completions", "/v1/chat/completions"})

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


async def _send_json(send: Send, status: int, payload: dict) -> None:
    body = json.dumps(payload).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, None if the client went away; BodyTooLarge past `limit` bytes.

    An oversized body is still read (and dropped) up to DRAIN_LIMIT, so that the client, which is
    still uploading, gets to read the 413 instead of a broken pipe.
    """
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif not message.get("more_body") or size > limit + DRAIN_LIMIT:
            raise BodyTooLarge
        else:
            chunks = []
            continue
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


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


def _exception_chain(exc: BaseException, limit: int = 10) -> list[BaseException]:
    """The exception and the ones it was raised from or while handling (LiteLLM's error handler raises anew)."""
    chain: list[BaseException] = []
    while exc is not None and len(chain) < limit and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def _is_event_stream(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"text/event-stream") for k, v in headers)


class ErrorNormalisingSend:
    """Wraps `send`: error responses are buffered and rewritten, error events in streams are cleaned;
    everything else passes straight through."""

    def __init__(self, send: Send, secrets: tuple[str, ...]):
        self.send, self.secrets = send, secrets
        self.start: dict | None = None
        self.chunks: list[bytes] = []
        self.started = False  # whether a response start has reached the client
        self.event_stream = False

    async def __call__(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            if message["status"] >= 400:
                self.start = message
                return
            self.event_stream = _is_event_stream(message.get("headers", []))
        if self.start is None or message["type"] != "http.response.body":
            if self.event_stream and message["type"] == "http.response.body":
                message = {**message, "body": normalise_stream_errors(message.get("body", b""), self.secrets)}
            self.started = self.started or message["type"] == "http.response.start"
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            error = normalise_error(self.start["status"], b"".join(self.chunks), self.secrets)
            status = int(error["error"]["code"])
            payload = json.dumps(error).encode("utf-8")
            headers = _error_headers(self.start.get("headers", []), len(payload))
            self.started = True
            await self.send({"type": "http.response.start", "status": status, "headers": headers})
            await self.send({"type": "http.response.body", "body": payload})


class Gateway:
    def __init__(self, inner, max_body_bytes: int, secrets: tuple[str, ...]):
        self.inner, self.max_body_bytes, self.secrets = inner, max_body_bytes, secrets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            receive, send = lifespan.closing_sessions_on_shutdown(receive), lifespan.tuning_gc_after_startup(send)
            await self.inner(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        declared = _declared_length(scope)
        is_chat = scope["method"] == "POST" and scope["path"] in CHAT_PATHS
        if is_chat or (declared is not None and declared > self.max_body_bytes):
            try:
                body = await _read_body(receive, self.max_body_bytes)
            except BodyTooLarge:
                await _send_json(send, 413, self._too_large())
                return
            if body is None:
                return
            if is_chat:
                try:
                    self._check(body)
                except RequestProblem as problem:
                    await _send_json(send, 400, error_body(400, problem.message, problem.param))
                    return
            receive = _replay(body, receive)
        normalising_send = ErrorNormalisingSend(send, self.secrets)
        try:
            await self.inner(scope, receive, normalising_send)
        except Exception as exc:
            # LiteLLM's own error handler can fail (it imports `prisma`); uvicorn would then answer
            # with a plain-text 500. Answer in OpenAI shape instead, and keep the details in the log.
            no_database = database_missing_error(_exception_chain(exc))
            if no_database:
                log.warning("%s %s needs LiteLLM's database; answered 501", scope["method"], scope["path"])
            else:
                log.exception("unhandled error in the proxy for %s %s", scope["method"], scope["path"])
            if not normalising_send.started:
                error = no_database or error_body(500, "internal error in the proxy; see its log")
                await _send_json(send, int(error["error"]["code"]), error)

    @staticmethod
    def _check(raw: bytes) -> None:
        """Our shape checks, then LiteLLM's own ban on client-side credentials and endpoints.

        LiteLLM runs the same ban inside its auth step, where a refusal becomes a 401 (or, without
        the prisma package, a plain-text 500); running it here first makes it the 400 it is.
        """
        body = parse_chat_body(raw)
        try:
            is_request_body_safe(body, proxy_server.general_settings, proxy_server.llm_router, body["model"])
        except ValueError as error:
            raise RequestProblem(str(error).split(" Relevant Issue:")[0]) from None

    def _too_large(self) -> dict:
        limit_mb = self.max_body_bytes / (1024 * 1024)
        return error_body(413, f"request body is larger than {limit_mb:g} MB (MAX_REQUEST_BODY_MB)")


_settings = stack_settings.load()
app = Gateway(proxy_server.app, int(_settings.max_request_body_mb * 1024 * 1024), _settings.secrets)
