"""POST /api/image and GET /api/image/files/<name>.png: deterministic PNGs of the requested size."""

from __future__ import annotations

import base64
import hashlib
import re
import time

from flask import Blueprint, Response, current_app, jsonify, request

from . import png, validation
from .errors import ApiError
from .faults import injected_fault, read_directives
from .security import require_secret

bp = Blueprint("image", __name__)

SIZES = ("256x256", "512x512", "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792")
DEFAULT_SIZE = "1024x1024"
RESPONSE_FORMATS = ("b64_json", "url")
MAX_IMAGES = 10
DIGEST_HEX_CHARS = 32
# The file name carries everything the picture is made from, so a GET can redraw it without any stored state.
FILE_NAME = re.compile(rf"([0-9a-f]{{{DIGEST_HEX_CHARS}}})_(\d+x\d+)")


def picture(digest: bytes, size: str) -> bytes:
    """A checkerboard of two colours and a tile size taken from `digest`, as a PNG of exactly `size`."""
    width, height = (int(side) for side in size.split("x"))
    first, second, tile = digest[0:3], digest[3:6], 16 + digest[6] % 112
    repeats = width // (2 * tile) + 1
    # Whole rows by bytes multiplication: a 1792x1024 image takes milliseconds, not a per-pixel loop.
    even = ((first * tile + second * tile) * repeats)[: 3 * width]
    odd = ((second * tile + first * tile) * repeats)[: 3 * width]
    return png.encode_rgb(width, [even if (y // tile) % 2 == 0 else odd for y in range(height)])


def image_digest(prompt: str, index: int) -> str:
    return hashlib.sha256(f"{prompt}\x00{index}".encode("utf-8")).hexdigest()[:DIGEST_HEX_CHARS]


def _parse(body: dict) -> dict:
    validation.string(body.get("model"), "model", allow_empty=False)
    n = body.get("n")
    size = body.get("size")
    response_format = body.get("response_format")
    return {
        "prompt": validation.string(body.get("prompt"), "prompt", allow_empty=False),
        "n": 1 if n is None else validation.integer(n, "n", 1, MAX_IMAGES),
        "size": DEFAULT_SIZE if size is None else validation.choice(size, SIZES, "size"),
        "response_format": RESPONSE_FORMATS[0] if response_format is None else validation.choice(
            response_format, RESPONSE_FORMATS, "response_format"),
    }


@bp.post("/api/image")
def generate():
    settings = current_app.config["SETTINGS"]
    require_secret(request.headers.get(settings.business_api_key_header), settings.business_api_key, "API key")
    parsed = _parse(validation.json_object(request))
    fault = injected_fault(read_directives(parsed["prompt"], "prompt"))
    if fault is not None:
        return fault
    images = []
    for index in range(parsed["n"]):
        digest = image_digest(parsed["prompt"], index)
        if parsed["response_format"] == "url":
            images.append({"url": f"{request.host_url}api/image/files/{digest}_{parsed['size']}.png"})
        else:
            data = picture(bytes.fromhex(digest), parsed["size"])
            images.append({"b64_json": base64.b64encode(data).decode("ascii")})
    return jsonify({"created": int(time.time()), "images": images})


@bp.get("/api/image/files/<name>.png")
def image_file(name: str):
    """No key: a URL handed to a client must work in a browser, like a provider's signed image link."""
    match = FILE_NAME.fullmatch(name)
    if match is None or match.group(2) not in SIZES:
        raise ApiError(404, f"no image named {name}.png")
    data = picture(bytes.fromhex(match.group(1)), match.group(2))
    # The same name always draws the same picture, so caches may keep it.
    return Response(data, mimetype="image/png", headers={"Cache-Control": "public, max-age=86400, immutable"})
