"""GET /v1/models/{model} for Anthropic's SDKs: LiteLLM's OpenAI model object rewritten into Anthropic's."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from .asgi import Send, header


def anthropic_model(model: dict) -> dict:
    """OpenAI's {"id", "object", "created", …} → Anthropic's model object (LiteLLM lists models in this shape when
    asked with anthropic-version, but answers a single model in OpenAI's)."""
    created = model.get("created")
    stamp = datetime.fromtimestamp(created if isinstance(created, int) else 0, tz=timezone.utc)
    return {"type": "model", "id": model.get("id"), "display_name": model.get("id"),
            "created_at": stamp.isoformat().replace("+00:00", "Z"), "max_input_tokens": None, "max_tokens": None}


class AnthropicModelObject:
    """Wraps `send`: a 200 JSON answer is buffered and rewritten; anything else (errors, encoded bodies) passes."""

    def __init__(self, send: Send):
        self.send, self.start, self.chunks = send, None, []

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
            payload = json.dumps(anthropic_model(json.loads(b"".join(self.chunks)))).encode("utf-8")
        except (ValueError, AttributeError):
            payload = b"".join(self.chunks)  # not a model object: as LiteLLM wrote it
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"]
        await self.send({**self.start, "headers": headers + [(b"content-length", str(len(payload)).encode())]})
        await self.send({"type": "http.response.body", "body": payload})
