"""OpenAI embedding requests and answers as plain data: inputs read, options checked, vectors encoded."""

from __future__ import annotations

import base64
import struct
from typing import Any, Callable

from ..upstream.errors import invalid_request
from .params import EMBEDDING_FORMATS


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def texts_of(value: Any, decode: Callable[[list[int]], str]) -> list[str]:
    """OpenAI `input` → texts: a string, a list of strings, one token array, or a list of token arrays.

    Token ids (LangChain's OpenAIEmbeddings sends them by default) are decoded with `decode` (cl100k_base).
    """
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(_is_int(token) for token in value):
        return [decode(value)]
    if not isinstance(value, list) or not value:
        raise invalid_request("'input' must be a string, a list of strings or a list of token arrays", "input")
    texts = []
    for index, item in enumerate(value):
        if isinstance(item, list) and item and all(_is_int(token) for token in item):
            texts.append(decode(item))
        elif isinstance(item, str):
            texts.append(item)
        else:
            raise invalid_request(f"'input[{index}]' must be a string or a non-empty list of token ids", f"input[{index}]")
    return texts


def options_of(request: dict) -> tuple[str, int | None]:
    """(encoding_format, dimensions) from the client's request, checked."""
    encoding = request.get("encoding_format") or "float"
    if encoding not in EMBEDDING_FORMATS:
        raise invalid_request("'encoding_format' must be float or base64", "encoding_format")
    dimensions = request.get("dimensions")
    if dimensions is not None and not (_is_int(dimensions) and dimensions >= 1):
        raise invalid_request("'dimensions' must be a positive integer", "dimensions")
    return encoding, dimensions


def encode_base64(vector: list[float]) -> str:
    """OpenAI's base64 encoding: the vector as little-endian float32, base64-encoded."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def embedding_list(vectors: list[list[float]], model: str, prompt_tokens: int, encoding: str) -> dict:
    """Vectors → an OpenAI embedding list (plain data), in the encoding the client asked for."""
    encode = encode_base64 if encoding == "base64" else (lambda vector: [float(x) for x in vector])
    return {
        "object": "list",
        "model": model,
        "data": [{"object": "embedding", "index": i, "embedding": encode(v)} for i, v in enumerate(vectors)],
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
