"""The proxy's ASGI app: LiteLLM's app behind the door (door/), which serves an allow-list of routes, checks request
bodies and keeps every error in the caller's shape.

Run with `uvicorn adapter.gateway:app` (see start_services.sh). The door:
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
- rewrites every error response LiteLLM produces into {"error": {message, type, param, code}} with the
  same status (gzipped or not), without tracebacks or secret values (door/errors.py).
"""

from __future__ import annotations

import logging

import adapter

# Before LiteLLM is imported: it reads part of its configuration from the environment at import time.
_settings = adapter.settings()

from litellm.proxy import proxy_server  # noqa: E402

from . import hooks  # noqa: E402,F401  (loads the backend files now: a bad one stops the proxy before it starts)
from .door import body, lifespan, log_lines, routes  # noqa: E402
from .door.asgi import Receive, Scope, Send, send_json, with_headers  # noqa: E402
from .door.checks import Checked, RequestProblem, check_request  # noqa: E402
from .door.errors import ErrorNormalisingSend, database_missing_error, error_body, exception_chain  # noqa: E402
from .door.first_event import FirstEventCheck  # noqa: E402

log = logging.getLogger("adapter.gateway")

HEALTH_REPORT_STATUS = 503
NO_RETRY = (b"x-should-retry", b"false")
DROPPED_TOOLS_HEADER = b"x-adapter-dropped-tools"
# A websocket refused before it is accepted: the client sees HTTP 403. 1008 is "policy violation".
WEBSOCKET_REFUSAL = {"type": "websocket.close", "code": 1008,
                     "reason": "this gateway serves no websocket routes (OpenAI realtime is not offered)"}


class Gateway:
    """The door in front of `inner` (LiteLLM's app): one ASGI callable, its layers in door/."""

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
        declared = body.declared_length(scope)
        if route.body_kind or (declared is not None and declared > self.max_body_bytes):
            checked = await self._checked_body(scope, route, receive, send)
            if checked is None:
                return
            receive, send = checked
        # A health route's 503 is its report ("unhealthy" and why), which monitors read as LiteLLM wrote it.
        kept = HEALTH_REPORT_STATUS if route.monitoring else None
        await self._pass_on(scope, receive, ErrorNormalisingSend(send, self.secrets, kept))

    async def _checked_body(self, scope: Scope, route: routes.Route, receive: Receive,
                            send: Send) -> tuple[Receive, Send] | None:
        """The body read, checked and ready to replay to LiteLLM (and handed over parsed when LiteLLM would parse
        it the same way), with the `send` its answer goes through; None when the door has answered instead."""
        try:
            raw = await body.read_body(receive, self.max_body_bytes)
        except body.BodyTooLarge:
            await send_json(send, 413, self._too_large())
            return None
        if raw is None:
            return None
        if route.body_kind:
            parsed = body.parsed_as_litellm_would(scope, raw)
            try:
                checked = check_request(route.body_kind, raw, parsed, proxy_server.llm_router,
                                        proxy_server.general_settings)
            except RequestProblem as problem:
                await send_json(send, 400, error_body(400, problem.message, problem.param))
                return None
            if checked.dropped:  # LiteLLM gets the door's parse of the changed body, even where it parses its own way
                raw = body.rewritten(scope, checked.body)
                send = self._dropped(scope, checked, send)
            elif parsed is not None:
                body.hand_over(scope, parsed)
            if route.body_kind == "responses" and checked.body.get("stream") is True:
                send = FirstEventCheck(send)
        return body.replay(raw, receive), send

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
                await send_json(send.send, int(error["error"]["code"]), error)

    async def _refuse(self, route: routes.Route, receive: Receive, send: Send) -> None:
        """Answer a route outside the allow-list; its body is read and dropped so the client can read the answer."""
        try:
            if await body.read_body(receive, self.max_body_bytes) is None:
                return
        except body.BodyTooLarge:
            pass
        extra = ((b"allow", route.allow.encode()),) if route.allow else ()
        if route.status >= 500:
            # OpenAI's SDKs retry every 5xx unless told not to; asking again cannot make a route appear.
            extra += (NO_RETRY,)
        await send_json(send, route.status, error_body(route.status, route.message), extra)

    def _too_large(self) -> dict:
        limit_mb = self.max_body_bytes / (1024 * 1024)
        return error_body(413, f"request body is larger than {limit_mb:g} MB (MAX_REQUEST_BODY_MB)")


log_lines.install(_settings.log_level)
app = Gateway(proxy_server.app, int(_settings.max_request_body_mb * 1024 * 1024), _settings.secrets,
              _settings.redis_url)
