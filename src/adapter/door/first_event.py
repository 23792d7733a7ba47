"""A Responses stream that fails before its first event answers as an HTTP error, which clients do not retry."""

from __future__ import annotations

import json
import re

from .asgi import Send
from .errors import error_body

# LiteLLM fetches the stream's first chunk before it starts the response, and its Responses bridge fetches the
# backend's first chunk before `response.created`; a failure there becomes a 200 stream whose first event is
# response.failed (proxy/common_utils/responses_stream_errors.py), which Codex reconnects to five times.
FAILED_FIRST = b"event: response.failed\n"
# response.failed carries LiteLLM's error code, not the status (_status_error_code there): back to the status.
CODE_STATUS = {
    "invalid_request_error": 400, "authentication_error": 401, "permission_error": 403, "not_found_error": 404,
    "request_timeout": 408, "rate_limit_exceeded": 429, "insufficient_quota": 429,
}
SERVER_ERROR = 500
# The event has no `param`; the policy's refusals (openai/params.py) start by naming it.
NAMED_PARAM = re.compile(r"^(?:parameter )?'([\w.\[\]-]+)'")


def failed_event_error(chunk: bytes) -> tuple[int, dict] | None:
    """(status, OpenAI error body) when `chunk`, a stream's first body, is a response.failed event; else None."""
    if not chunk.startswith(FAILED_FIRST):
        return None
    data = chunk[len(FAILED_FIRST):].split(b"\n", 1)[0]
    try:
        error = json.loads(data[len(b"data: "):])["response"]["error"]
        code, message = error.get("code"), error["message"]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    status, message = CODE_STATUS.get(code, SERVER_ERROR), str(message)
    named = NAMED_PARAM.match(message) if status < SERVER_ERROR else None
    return status, error_body(status, message, named.group(1) if named else None)


class FirstEventCheck:
    """Wraps `send` for a streamed Responses request: the 200 start is held until the first body, which LiteLLM
    sends right after it (the first chunk is already in hand), so holding it costs no time. When that body is a
    response.failed event, the client gets an HTTP error in OpenAI's shape instead; every later event passes."""

    def __init__(self, send: Send):
        self.send = send
        self.held: dict | None = None
        self.answered = False  # an HTTP error replaced the stream: drop what LiteLLM still sends

    async def __call__(self, message: dict) -> None:
        if self.answered:
            return
        if message["type"] == "http.response.start" and message["status"] == 200:
            self.held = message
            return
        if self.held is not None and message["type"] == "http.response.body":
            start, self.held = self.held, None
            failure = failed_event_error(message.get("body", b""))
            if failure is not None:
                await self._answer(start, *failure)
                return
            await self.send(start)
        await self.send(message)

    async def _answer(self, start: dict, status: int, error: dict) -> None:
        self.answered = True
        payload = json.dumps(error).encode("utf-8")
        kept = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"content-type", b"content-length")]
        headers = kept + [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": payload})
