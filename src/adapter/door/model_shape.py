"""Answers LiteLLM writes its own way, rewritten into Anthropic's: GET /v1/models/{model} (an OpenAI model object)
and POST /v1/messages/count_tokens (LiteLLM adds its own fields)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone

from .asgi import Send, header


def anthropic_model(model: dict) -> dict:
    """OpenAI's {"id", "object", "created", …} → Anthropic's model object (LiteLLM lists models in this shape when
    asked with anthropic-version, but answers a single model in OpenAI's)."""
    created = model.get("created")
    stamp = datetime.fromtimestamp(created if isinstance(created, int) else 0, tz=timezone.utc)
    return {"type": "model", "id": model.get("id"), "display_name": model.get("id"),
            "created_at": stamp.isoformat().replace("+00:00", "Z"), "max_input_tokens": None, "max_tokens": None}


def anthropic_token_count(count: dict) -> dict:
    """LiteLLM's {"input_tokens": n, "litellm_count_source": …} → Anthropic's {"input_tokens": n}: its own fields
    (named litellm_…) go, any other field stays."""
    return {name: value for name, value in count.items() if not name.startswith("litellm_")}


class RewrittenJson:
    """Wraps `send`: a 200 JSON answer is buffered and rewritten; anything else (errors, encoded bodies) passes."""

    def __init__(self, send: Send, rewrite: Callable[[dict], dict]):
        self.send, self.rewrite, self.start, self.chunks = send, rewrite, None, []

    async def __call__(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers", [])
            if message["status"] == 200 and header(headers, b"content-encoding") is None:
                self.start = message
                return
        if self.start is None or message["type"] != "http.response.body":
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        try:
            payload = json.dumps(self.rewrite(json.loads(b"".join(self.chunks)))).encode("utf-8")
        except (ValueError, AttributeError):
            payload = b"".join(self.chunks)  # not the object expected: as LiteLLM wrote it
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"]
        await self.send({**self.start, "headers": headers + [(b"content-length", str(len(payload)).encode())]})
        await self.send({"type": "http.response.body", "body": payload})
