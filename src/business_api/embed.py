"""POST /api/embed: texts in, deterministic unit-length vectors and token usage out."""

from __future__ import annotations

import hashlib
import math
import struct

from flask import Blueprint, current_app, jsonify, request

from . import mock, validation
from .errors import ApiError
from .faults import injected_fault, read_directives
from .security import require_secret

bp = Blueprint("embed", __name__)

MAX_TEXTS = 2048
MAX_DIMENSIONS = 1536


def vector(model: str, text: str, dimensions: int) -> list[float]:
    """The same model and text give the same unit vector; fewer dimensions: the full vector cut, renormalised."""
    # SHAKE-256 yields as many bytes as asked and a shorter output is a prefix of a longer one, hence the cut.
    raw = hashlib.shake_256(f"{model}\x00{text}".encode("utf-8")).digest(2 * dimensions)
    values = struct.unpack(f"<{dimensions}h", raw)
    norm = math.sqrt(sum(value * value for value in values)) or 1.0
    return [value / norm for value in values]


def _texts(value) -> list[str]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_TEXTS:
        raise ApiError(400, f"'texts' must be a list of 1 to {MAX_TEXTS} strings", "texts")
    for index, text in enumerate(value):
        validation.string(text, f"texts[{index}]")
        if not text:
            raise ApiError(400, f"'texts[{index}]' must not be empty", f"texts[{index}]")
    return value


@bp.post("/api/embed")
def embed():
    settings = current_app.config["SETTINGS"]
    require_secret(request.headers.get(settings.business_api_key_header), settings.business_api_key, "API key")
    body = validation.json_object(request)
    model = validation.string(body.get("model"), "model", allow_empty=False)
    texts = _texts(body.get("texts"))
    dimensions = body.get("dimensions")
    if dimensions is None:
        dimensions = MAX_DIMENSIONS
    validation.integer(dimensions, "dimensions", 1, MAX_DIMENSIONS)
    fault = injected_fault(read_directives(texts[0], "texts[0]"))
    if fault is not None:
        return fault
    tokens = sum(mock.count_tokens(text) for text in texts)
    return jsonify({
        "model": model,
        "embeddings": [vector(model, text, dimensions) for text in texts],
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })
