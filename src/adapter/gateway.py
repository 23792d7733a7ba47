"""The proxy's ASGI app: LiteLLM's app behind a door that serves an allow-list of routes, checks request
bodies and keeps every error OpenAI-shaped.

Run with `uvicorn adapter.gateway:app` (see start_services.sh). The door:
- answers every route outside the allow-list (routes.py) itself: 501 for OpenAI routes this stack does not
  offer and for LiteLLM's admin routes that need its database, 404 for any other path, 405 for a served path
  with the wrong method; websockets are refused. Nothing else reaches LiteLLM, whose pass-through and
  default-provider routes would otherwise call providers with whatever keys sit in the environment;
- refuses bodies over MAX_REQUEST_BODY_MB with 413 (LiteLLM's own limit setting is enterprise-only);
- refuses malformed bodies of the served POST routes, client-side credentials, server-owned fields and
  models that are not configured with a 400 before LiteLLM sees them, and hands LiteLLM the body it parsed
  (where LiteLLM would parse it the same way) so that it is not parsed twice;
- rewrites every error response LiteLLM produces into {"error": {message, type, param, code}} with the
  same status (gzipped or not), without tracebacks or secret values (without `prisma` installed, LiteLLM
  answers some errors with a plain-text 500).
"""

from __future__ import annotations

import json
import logging
from typing import Awaitable, Callable

import orjson

# litellm is imported after adapter/__init__.py has handed it our environment.
from litellm.proxy import proxy_server
from litellm.proxy.auth.auth_utils import is_request_body_safe
from litellm.proxy.common_utils.http_parsing_utils import (
    _BINARY_CONTENT_TYPES,
    _is_form_content_type,
    _normalize_media_type,
)

import stack_settings

from . import hooks  # noqa: F401  (loads the backend files now: a bad one stops the proxy before it starts)
from . import lifespan, log_lines, model_kinds, routes
from .error_shape import database_missing_error, decoded, error_body, normalise_error, normalise_stream_errors
from .request_checks import RequestProblem, client_side_credentials, parse_body

log = logging.getLogger("adapter.gateway")

DRAIN_LIMIT = 64 * 1024 * 1024  # bytes past the limit we still read to answer an oversized upload cleanly
_BODY_HEADERS = frozenset({b"content-type", b"content-length", b"content-encoding", b"transfer-encoding"})
MAX_MODEL_IN_MESSAGE = 200
HEALTH_REPORT_STATUS = 503
NO_RETRY = (b"x-should-retry", b"false")
# A websocket refused before it is accepted: the client sees HTTP 403. 1008 is "policy violation".
WEBSOCKET_REFUSAL = {"type": "websocket.close", "code": 1008,
                     "reason": "this gateway serves no websocket routes (OpenAI realtime is not offered)"}

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


async def _send_json(send: Send, status: int, payload: dict, extra: tuple = ()) -> None:
    body = json.dumps(payload).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
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
    """Hand the body read at the door to the app once, then pass on to the real receive.

    The body is not kept after that: a stream lives for minutes, and a 20 KB prompt held here cost 17 KB per
    open stream (measured).
    """
    pending = [body]

    async def replay() -> dict:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replay


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def _parsed_as_litellm_would(scope: Scope, raw: bytes) -> dict | None:
    """The body exactly as LiteLLM's read_request_body parses it, or None where it would take another path.

    For a body that is neither a form nor binary (by content-type), LiteLLM parses with orjson.loads; what orjson
    refuses (NaN, lone surrogates, a BOM, UTF-16, 1e400) goes through its lenient fallback, which we leave to
    LiteLLM. The door's checks then see what LiteLLM sees (an integer past 64 bits is a float to both).
    """
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-type":
            media = value.decode("latin-1")
            if _is_form_content_type(media) or _normalize_media_type(media) in _BINARY_CONTENT_TYPES:
                return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _hand_over(scope: Scope, body: dict) -> None:
    """Give LiteLLM the parsed body: read_request_body reads its cache, scope["parsed_body"] = (keys, body), and
    hands every reader its own copy of the top level. The scope, and so the dict, belongs to this request only."""
    scope["parsed_body"] = (tuple(body.keys()), body)


def _declared_length(scope: Scope) -> int | None:
    value = _header(scope.get("headers", []), b"content-length")
    return int(value) if value is not None and value.isdigit() else None


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

    def __init__(self, send: Send, secrets: tuple[str, ...], kept_status: int | None = None):
        self.send, self.secrets, self.kept_status = send, secrets, kept_status
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
                message = {**message, "body": normalise_stream_errors(message.get("body", b""), self.secrets)}
            self.started = self.started or message["type"] == "http.response.start"
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            encoding = _header(self.start.get("headers", []), b"content-encoding") or b""
            raw = decoded(b"".join(self.chunks), encoding.decode("latin-1"))
            error = normalise_error(self.start["status"], raw, self.secrets)
            status = int(error["error"]["code"])
            payload = json.dumps(error).encode("utf-8")
            headers = _error_headers(self.start.get("headers", []), len(payload))
            self.started = True
            await self.send({"type": "http.response.start", "status": status, "headers": headers})
            await self.send({"type": "http.response.body", "body": payload})


class Gateway:
    def __init__(self, inner, max_body_bytes: int, secrets: tuple[str, ...], redis_url: str = ""):
        self.inner, self.max_body_bytes, self.secrets, self.redis_url = inner, max_body_bytes, secrets, redis_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            receive = lifespan.waiting_for_redis(lifespan.closing_sessions_on_shutdown(receive), self.redis_url)
            send = lifespan.tuning_gc_after_startup(send)
            await self.inner(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()  # the connect message
            await send(WEBSOCKET_REFUSAL)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.inner(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = routes.lookup(scope["method"], scope["path"])
        if route.status:
            await self._refuse(route, receive, send)
            return
        if route.passed_as:
            scope = {**scope, "path": route.passed_as, "raw_path": route.passed_as.encode()}
        declared = _declared_length(scope)
        if route.body_kind or (declared is not None and declared > self.max_body_bytes):
            receive = await self._checked_body(scope, route, receive, send)
            if receive is None:
                return
        # A health route's 503 is its report ("unhealthy" and why), which monitors read as LiteLLM wrote it.
        kept = HEALTH_REPORT_STATUS if route.monitoring else None
        await self._pass_on(scope, receive, ErrorNormalisingSend(send, self.secrets, kept))

    async def _checked_body(self, scope: Scope, route: routes.Route, receive: Receive, send: Send) -> Receive | None:
        """The body read, checked and ready to replay to LiteLLM (and handed over parsed when LiteLLM would parse
        it the same way); None when the door has answered instead."""
        try:
            body = await _read_body(receive, self.max_body_bytes)
        except BodyTooLarge:
            await _send_json(send, 413, self._too_large())
            return None
        if body is None:
            return None
        if route.body_kind:
            parsed = _parsed_as_litellm_would(scope, body)
            try:
                self._check(route.body_kind, body, parsed)
            except RequestProblem as problem:
                await _send_json(send, 400, error_body(400, problem.message, problem.param))
                return None
            if parsed is not None:
                _hand_over(scope, parsed)
        return _replay(body, receive)

    async def _pass_on(self, scope: Scope, receive: Receive, send: ErrorNormalisingSend) -> None:
        try:
            await self.inner(scope, receive, send)
        except Exception as exc:
            # LiteLLM's own error handler can fail (it imports `prisma`); uvicorn would then answer
            # with a plain-text 500. Answer in OpenAI shape instead, and keep the details in the log.
            no_database = database_missing_error(_exception_chain(exc))
            if no_database:
                log.warning("%s %s needs LiteLLM's database; answered 501", scope["method"], scope["path"])
            else:
                log.exception("unhandled error in the proxy for %s %s", scope["method"], scope["path"])
            if not send.started:
                error = no_database or error_body(500, "internal error in the proxy; see its log")
                await _send_json(send.send, int(error["error"]["code"]), error)

    async def _refuse(self, route: routes.Route, receive: Receive, send: Send) -> None:
        """Answer a route outside the allow-list; its body is read and dropped so the client can read the answer."""
        try:
            if await _read_body(receive, self.max_body_bytes) is None:
                return
        except BodyTooLarge:
            pass
        extra = ((b"allow", route.allow.encode()),) if route.allow else ()
        if route.status >= 500:
            # OpenAI's SDKs retry every 5xx unless told not to; asking again cannot make a route appear.
            extra += (NO_RETRY,)
        await _send_json(send, route.status, error_body(route.status, route.message), extra)

    @staticmethod
    def _check(kind: str, raw: bytes, parsed: dict | None = None) -> None:
        """Our shape checks, LiteLLM's own ban on client-side credentials and endpoints, then the model.

        LiteLLM runs the same ban inside its auth step, where a refusal becomes a 401 (or, without
        the prisma package, a plain-text 500); running it here first makes it the 400 it is.
        A model that is not configured never reaches LiteLLM: some of its routes would hand it to the
        provider the name implies (openai/…, gpt-4o) with the keys in the environment.
        `parsed` is `raw` already parsed, if it was.
        """
        body = parse_body(kind, raw, parsed)
        model, router = body["model"], proxy_server.llm_router
        try:
            is_request_body_safe(body, proxy_server.general_settings, router, model)
        except ValueError as error:
            raise client_side_credentials(str(error)) from None
        if router is None or not router.is_recognized_model(model):
            raise RequestProblem(f"model '{model[:MAX_MODEL_IN_MESSAGE]}' is not served here; "
                                 "GET /v1/models lists the models", "model")
        # Before LiteLLM: it would refuse e.g. the SDK's encoding_format on a chat model with a message about
        # parameters, where the mistake is the model.
        wanted, kind = model_kinds.KIND_FOR_BODY[kind], _model_kind(router, model)
        if kind != wanted:
            raise RequestProblem(model_kinds.wrong_kind_message(model, kind, wanted), "model")

    def _too_large(self) -> dict:
        limit_mb = self.max_body_bytes / (1024 * 1024)
        return error_body(413, f"request body is larger than {limit_mb:g} MB (MAX_REQUEST_BODY_MB)")


def _model_kind(router, model: str) -> str:
    """The kind of a configured model, from its deployments' model_info.mode (config.yaml)."""
    modes = {(d.get("model_info") or {}).get("mode") for d in router.model_list if d.get("model_name") == model}
    return model_kinds.kind_of(modes.pop() if len(modes) == 1 else None)


_settings = stack_settings.load()
log_lines.install(_settings.log_level)
app = Gateway(proxy_server.app, int(_settings.max_request_body_mb * 1024 * 1024), _settings.secrets,
              _settings.redis_url)
