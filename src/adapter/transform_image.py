"""Pure translation between OpenAI image-generation requests and the business API's /api/image contract."""

from __future__ import annotations

from typing import Any

from .errors import bad_answer, invalid_request

BACKEND = "the business API"
RESPONSE_FORMATS = ("b64_json", "url")
FORWARDED = ("n", "size", "response_format")
# OpenAI's other image parameters: accepted at the value every image model uses anyway, else refused. The body
# the proxy received also holds LiteLLM's own keys (litellm_call_id, metadata, …), which are not ours to judge.
HARMLESS = {"quality": ("auto", "standard"), "output_format": ("png",), "moderation": ("auto",), "stream": (False,),
            "style": (), "background": ("auto",), "output_compression": (100,), "partial_images": (0,),
            "input_fidelity": ()}


def _check_known(request: dict, drop_unknown: bool) -> None:
    for name, allowed in HARMLESS.items():
        value = request.get(name)
        if value is not None and value not in allowed and not drop_unknown:
            raise invalid_request(f"parameter '{name}'={value!r} is not supported by {BACKEND} for images", name)


def transform_request(model: str, prompt: Any, request: dict, drop_unknown: bool = False) -> dict:
    """The client's request (as the proxy received it) → the /api/image body. b64_json is the default format."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid_request("'prompt' must be a non-empty string", "prompt")
    _check_known(request, drop_unknown)
    n = 1 if request.get("n") is None else request["n"]
    if not (isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 10):
        raise invalid_request("'n' must be an integer from 1 to 10", "n")
    size = request.get("size") or "1024x1024"
    if not isinstance(size, str):
        raise invalid_request("'size' must be a string such as \"1024x1024\"", "size")
    response_format = request.get("response_format") or "b64_json"
    if response_format not in RESPONSE_FORMATS:
        raise invalid_request("'response_format' must be b64_json or url", "response_format")
    return {"model": model, "prompt": prompt, "n": n, "size": size, "response_format": response_format}


def transform_response(body: Any, count: int, response_format: str, created: int) -> dict:
    """/api/image answer → an OpenAI image response (plain data)."""
    images = body.get("images") if isinstance(body, dict) else None
    if not isinstance(images, list) or len(images) != count:
        raise bad_answer(BACKEND, f"'images' must be a list of {count} images")
    data = []
    for index, image in enumerate(images):
        value = image.get(response_format) if isinstance(image, dict) else None
        if not isinstance(value, str) or not value:
            raise bad_answer(BACKEND, f"'images[{index}].{response_format}' is missing")
        data.append({response_format: value})
    return {"created": body["created"] if isinstance(body.get("created"), int) else created, "data": data}
