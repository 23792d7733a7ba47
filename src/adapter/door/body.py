"""The request body at the door: read whole within a size limit, replayed to LiteLLM, handed over parsed once."""

from __future__ import annotations

import json

import orjson
from litellm.proxy.common_utils.http_parsing_utils import (
    _BINARY_CONTENT_TYPES,
    _is_form_content_type,
    _normalize_media_type,
)

from .asgi import Receive, Scope, header

DRAIN_LIMIT = 64 * 1024 * 1024  # bytes past the limit we still read to answer an oversized upload cleanly

class BodyTooLarge(Exception):
    pass


def declared_length(scope: Scope) -> int | None:
    value = header(scope.get("headers", []), b"content-length")
    return int(value) if value is not None and value.isdigit() else None


async def read_body(receive: Receive, limit: int) -> bytes | None:
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


def replay(body: bytes, receive: Receive) -> Receive:
    """Hand the body read at the door to the app once, then pass on to the real receive.

    The body is not kept after that: a stream lives for minutes, and a 20 KB prompt held here cost 17 KB per
    open stream (measured).
    """
    pending = [body]

    async def replayed() -> dict:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replayed


def parsed_as_litellm_would(scope: Scope, raw: bytes) -> dict | None:
    """The body exactly as LiteLLM's read_request_body parses it, or None where it would take another path.

    For a body that is neither a form nor binary (by content-type), LiteLLM parses with orjson.loads; what orjson
    refuses (NaN, lone surrogates, a BOM, UTF-16, 1e400) goes through its lenient fallback, which we leave to
    LiteLLM. The door's checks then see what LiteLLM sees (an integer past 64 bits is a float to both).
    """
    media = header(scope.get("headers", []), b"content-type")
    if media is not None:
        media_type = media.decode("latin-1")
        if _is_form_content_type(media_type) or _normalize_media_type(media_type) in _BINARY_CONTENT_TYPES:
            return None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def hand_over(scope: Scope, body: dict) -> None:
    """Give LiteLLM the parsed body: read_request_body reads its cache, scope["parsed_body"] = (keys, body), and
    hands every reader its own copy of the top level. The scope, and so the dict, belongs to this request only."""
    scope["parsed_body"] = (tuple(body.keys()), body)


def rewritten(scope: Scope, body: dict) -> bytes:
    """Hand LiteLLM `body`, changed at the door, and return its bytes to replay (the content-length follows)."""
    raw = json.dumps(body).encode("utf-8")
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
    scope["headers"] = headers + [(b"content-length", str(len(raw)).encode())]
    hand_over(scope, body)
    return raw
