"""The proxy's ASGI app: LiteLLM's app behind the door (door/), which serves an allow-list of routes, checks request
bodies and keeps every error in the caller's shape.

Run with `uvicorn adapter.gateway:app` (see start_services.sh). The door:
- checks the API key of every API route first (keys/ decides, through hooks.key_check): a request without a valid
  key gets 401 before its body or model is looked at, and a key not allowed the body's model 403 before any
  other check, so that nobody without a key can probe which models exist or how bodies are checked. The closed
  routes' 404/501/405 are answered without a key: they say only what the public route table says;
- answers every route outside the allow-list (door/routes.py) itself: 501 for OpenAI routes this stack does not
  offer and for LiteLLM's admin routes that need its database, 404 for any other path, 405 for a served path
  with the wrong method; websockets are refused. Nothing else reaches LiteLLM, whose pass-through and
  default-provider routes would otherwise call providers with whatever keys sit in the environment;
- refuses bodies over MAX_REQUEST_BODY_MB with 413 (LiteLLM's own limit setting is enterprise-only; door/body.py);
- refuses malformed bodies of the served POST routes, client-side credentials, server-owned fields and
  models that are not configured with a 400 before LiteLLM sees them (door/checks/), and hands LiteLLM the body it
  parsed (where LiteLLM would parse it the same way) so that it is not parsed twice;
- drops the hosted tools no backend can run (web_search, …; a forced one is a 400) and names them in the
  x-adapter-dropped-tools header and the log (door/checks/hosted.py);
- answers a streamed Responses request that fails before its first event with an HTTP error (door/first_event.py);
- rewrites every error response LiteLLM produces into the caller's shape (OpenAI's, or Anthropic's on
  /v1/messages) with the same status (gzipped or not), without tracebacks or secret values (door/errors.py);
- serves GET /metrics itself (the series of metering/metrics.py, every worker's), to the master key only, unless
  config.yaml still lists LiteLLM's own "prometheus" callback, which then serves it as before.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

import adapter

# Before LiteLLM is imported: it reads part of its configuration from the environment at import time.
_settings = adapter.settings()

from litellm.proxy import proxy_server  # noqa: E402

from . import hooks  # noqa: E402,F401  (loads the backend files now: a bad one stops the proxy before it starts)
from .door import body, lifespan, log_lines, routes  # noqa: E402
from .door.asgi import Receive, Scope, Send, header, send_json, with_headers  # noqa: E402
from .door.checks import Checked, RequestProblem, check_request  # noqa: E402
from .door.credentials import presented_key  # noqa: E402
from .door.errors import (  # noqa: E402
    ANTHROPIC,
    ErrorNormalisingSend,
    budget_body,
    database_missing_error,
    error_body,
    exception_chain,
    family_body,
    in_family,
)
from .door.first_event import FirstEventCheck  # noqa: E402
from .door.model_shape import RewrittenJson, anthropic_model, anthropic_token_count  # noqa: E402

log = logging.getLogger("adapter.gateway")

HEALTH_REPORT_STATUS = 503
NO_RETRY = (b"x-should-retry", b"false")
DROPPED_TOOLS_HEADER = b"x-adapter-dropped-tools"
# The SDKs wait out a Retry-After of up to a minute and retry; a budget that resets later (or never) is not retried.
LONGEST_RETRIED_WAIT = 60
# A websocket refused before it is accepted: the client sees HTTP 403. 1008 is "policy violation".
WEBSOCKET_REFUSAL = {"type": "websocket.close", "code": 1008,
                     "reason": "this gateway serves no websocket routes (OpenAI realtime is not offered)"}


KeyCheck = Callable[..., "tuple[int, str, str] | None"]
BudgetCheck = Callable[[str], Awaitable[Any]]  # key → None, or why it is over budget (keys/budget.py's OverBudget)
OnRefusal = Callable[..., None]  # (status, model or None, key alias or None)
MetricsPage = Callable[[], "tuple[bytes, str]"]  # → the Prometheus text and its content type
# What LiteLLM's /metrics guard said before its reason (door/errors.py drops the operator advice it added after).
METRICS_REFUSED = "Unauthorized access to metrics endpoint: "


class Gateway:
    """The door in front of `inner` (LiteLLM's app): one ASGI callable, its layers in door/."""

    def __init__(self, inner, max_body_bytes: int, secrets: tuple[str, ...], redis_url: str = "",
                 key_check: KeyCheck | None = None, on_refusal: OnRefusal | None = None,
                 budget_check: BudgetCheck | None = None, metrics_page: MetricsPage | None = None):
        self.inner, self.max_body_bytes, self.secrets, self.redis_url = inner, max_body_bytes, secrets, redis_url
        # (key, path, model or None) → None when the key may, else (status, error type, message): keys/ decides.
        self.key_check = key_check or (lambda key, path, model=None: None)
        # Told of each request the door refuses for its key (the usage log's 401/403 lines, which LiteLLM's
        # callbacks would have written had the request reached it).
        self.on_refusal = on_refusal or (lambda status, model, alias=None: None)
        # (key) → None when the key's money budget allows a call, else why not: keys/ decides (keys/budget.py).
        self.budget_check = budget_check
        # GET /metrics answered by the door (None: passed on to LiteLLM's prometheus callback, which serves it).
        self.metrics_page = metrics_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            receive = lifespan.waiting_for_redis(lifespan.closing_sessions_on_shutdown(receive), self.redis_url)
            send = lifespan.tuning_after_startup(send)
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
        versioned = header(scope.get("headers", []), b"anthropic-version") is not None
        route = routes.as_asked(route, scope["path"], versioned)
        if route.status:
            await self._refuse(route, receive, send)
            return
        if route.passed_as == routes.METRICS_MOUNTED and self.metrics_page is not None:
            await self._metrics(scope, receive, send)
            return
        key = presented_key(scope, proxy_server.general_settings.get("litellm_key_header_name")) if route.keyed else ""
        if route.keyed and await self._refused_key(scope, route, key, None, receive, send):
            return
        if route.passed_as:
            scope = {**scope, "path": route.passed_as, "raw_path": route.passed_as.encode()}
        declared = body.declared_length(scope)
        if route.body_kind or (declared is not None and declared > self.max_body_bytes):
            checked = await self._checked_body(scope, route, key, receive, send)
            if checked is None:
                return
            receive, send = checked
        # A health route's 503 is its report ("unhealthy" and why), which monitors read as LiteLLM wrote it.
        kept = HEALTH_REPORT_STATUS if route.monitoring else None
        if versioned and route.family == ANTHROPIC and scope["path"].startswith(routes.MODEL_RETRIEVE_V1):
            send = RewrittenJson(send, anthropic_model)
        elif route.body_kind == "count_tokens":
            send = RewrittenJson(send, anthropic_token_count)
        await self._pass_on(scope, receive, ErrorNormalisingSend(send, self.secrets, kept, route.family))

    async def _refused_key(self, scope: Scope, route: routes.Route, key: str, model: str | None,
                           receive: Receive | None, send: Send) -> bool:
        """Whether the door answered 401/403 for this key (for `model`, once the body named one)."""
        refusal = self.key_check(key, scope["path"], model)
        if refusal is None:
            return False
        status, _, message = refusal
        self.on_refusal(status, model)
        if receive is not None:
            await self._drain(receive)
        await send_json(send, status, family_body(route.family, status, message, "api_key"))
        return True

    async def _checked_body(self, scope: Scope, route: routes.Route, key: str, receive: Receive,
                            send: Send) -> tuple[Receive, Send] | None:
        """The body read, checked and ready to replay to LiteLLM (and handed over parsed when LiteLLM would parse
        it the same way), with the `send` its answer goes through; None when the door has answered instead."""
        try:
            raw = await body.read_body(receive, self.max_body_bytes)
        except body.BodyTooLarge:
            await send_json(send, 413, self._too_large(route.family))
            return None
        if raw is None:
            return None
        if route.body_kind:
            parsed = body.parsed_as_litellm_would(scope, raw)
            model = parsed.get("model") if parsed is not None else None
            # A key limited to some models learns only that this one is not among them, before any body check.
            if isinstance(model, str) and await self._refused_key(scope, route, key, model, None, send):
                return None
            try:
                checked = check_request(route.body_kind, raw, parsed, proxy_server.llm_router,
                                        proxy_server.general_settings)
            except RequestProblem as problem:
                await send_json(send, problem.status,
                                family_body(route.family, problem.status, problem.message, problem.param))
                return None
            if route.body_kind in routes.COSTING and await self._over_budget(route, key, checked.body, send):
                return None
            if checked.dropped:  # LiteLLM gets the door's parse of the changed body, even where it parses its own way
                raw = body.rewritten(scope, checked.body)
                send = self._dropped(scope, checked, send)
            elif parsed is not None:
                body.hand_over(scope, parsed)
            if route.body_kind == "responses" and checked.body.get("stream") is True:
                send = FirstEventCheck(send)
        return body.replay(raw, receive), send

    async def _over_budget(self, route: routes.Route, key: str, checked: dict, send: Send) -> bool:
        """Whether the door answered 429 because the key's spend reached its budget (before the backend is called)."""
        if self.budget_check is None:
            return False
        over = await self.budget_check(key)
        if over is None:
            return False
        model = checked.get("model")
        self.on_refusal(429, model if isinstance(model, str) else None, over.alias)
        extra: tuple = ((b"retry-after", str(over.retry_after).encode()),) if over.retry_after else ()
        if not 0 < over.retry_after <= LONGEST_RETRIED_WAIT:
            extra += (NO_RETRY,)
        await send_json(send, 429, budget_body(route.family, over.message), extra)
        return True

    @staticmethod
    def _dropped(scope: Scope, checked: Checked, send: Send) -> Send:
        names = ", ".join(checked.dropped)
        # WARNING: the level the proxy logs at by default; the client asked for a tool it does not get.
        log.warning("%s %s for model %s: dropped hosted tools %s (no backend here runs them)", scope["method"],
                    scope["path"], checked.body["model"][:200], names)
        return with_headers(send, [(DROPPED_TOOLS_HEADER, names.encode("ascii"))])

    async def _pass_on(self, scope: Scope, receive: Receive, send: ErrorNormalisingSend) -> None:
        try:
            await self.inner(scope, receive, send)
        except Exception as exc:
            # LiteLLM's own error handler can fail (it imports `prisma`); uvicorn would then answer
            # with a plain-text 500. Answer in OpenAI shape instead, and keep the details in the log.
            no_database = database_missing_error(exception_chain(exc))
            if no_database:
                log.warning("%s %s needs LiteLLM's database; answered 501", scope["method"], scope["path"])
            else:
                log.exception("unhandled error in the proxy for %s %s", scope["method"], scope["path"])
            if not send.started:
                error = no_database or error_body(500, "internal error in the proxy; see its log")
                await send_json(send.send, int(error["error"]["code"]), in_family(send.family, error))

    async def _drain(self, receive: Receive) -> bool:
        """Read and drop the body, so that a client still uploading reads the answer; False if it went away."""
        try:
            return await body.read_body(receive, self.max_body_bytes) is not None
        except body.BodyTooLarge:
            return True

    async def _metrics(self, scope: Scope, receive: Receive, send: Send) -> None:
        """GET /metrics from the door: the master key only (keys/auth.py), the 401 LiteLLM's guard gave."""
        if not await self._drain(receive):
            return
        key = presented_key(scope, proxy_server.general_settings.get("litellm_key_header_name"))
        refusal = self.key_check(key, routes.METRICS_ROUTE)
        if refusal is not None:
            await send_json(send, 401, error_body(401, METRICS_REFUSED + refusal[2]))
            return
        text, content_type = await asyncio.to_thread(self.metrics_page)
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(text)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else text})

    async def _refuse(self, route: routes.Route, receive: Receive, send: Send) -> None:
        """Answer a route outside the allow-list; its body is read and dropped so the client can read the answer."""
        if not await self._drain(receive):
            return
        extra = ((b"allow", route.allow.encode()),) if route.allow else ()
        if route.status >= 500:
            # OpenAI's SDKs retry every 5xx unless told not to; asking again cannot make a route appear.
            extra += (NO_RETRY,)
        await send_json(send, route.status, family_body(route.family, route.status, route.message), extra)

    def _too_large(self, family: str) -> dict:
        limit_mb = self.max_body_bytes / (1024 * 1024)
        return family_body(family, 413, f"request body is larger than {limit_mb:g} MB (MAX_REQUEST_BODY_MB)")


log_lines.install(_settings.log_level)
app = Gateway(proxy_server.app, int(_settings.max_request_body_mb * 1024 * 1024), _settings.secrets,
              _settings.redis_url, hooks.key_check, hooks.usage_log.refused, hooks.budget_check, hooks.metrics_page)
