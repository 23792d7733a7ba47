"""The ASGI vocabulary the door's layers share: its callable types, a header lookup, a JSON answer of its own."""

from __future__ import annotations

import json
from typing import Awaitable, Callable

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


def header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The first value of header `name` (lower-case) in an ASGI header list, or None."""
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


async def send_json(send: Send, status: int, payload: dict, extra: tuple = ()) -> None:
    """Answer with `payload` as JSON, from the door itself."""
    body = json.dumps(payload).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    """`send` that adds `extra` to the response's headers, whatever its status."""

    async def sending(message: dict) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending
