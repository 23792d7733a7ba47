"""Provider `business-image`: OpenAI image generation → the business API's POST /api/image, and the answer back.

The translation is plain data in, plain data out; the provider is thin glue around it and the HTTP client.
"""

from __future__ import annotations

import time
from typing import Any

from litellm.types.utils import ImageResponse

from ..openai.params import IMAGE_FORMATS, MAX_IMAGES
from ..upstream import client
from ..upstream.errors import AdapterError, bad_answer, invalid_request
from .base import Provider, drops_unknown, proxy_request

BACKEND = "the business API"
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
    if not (isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_IMAGES):
        raise invalid_request(f"'n' must be an integer from 1 to {MAX_IMAGES}", "n")
    size = request.get("size") or "1024x1024"
    if not isinstance(size, str):
        raise invalid_request("'size' must be a string such as \"1024x1024\"", "size")
    response_format = request.get("response_format") or "b64_json"
    if response_format not in IMAGE_FORMATS:
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


class ImageProvider(Provider):
    provider, backend, kind = "business-image", BACKEND, "image"

    def _call(self, model: str, prompt: Any, optional_params: dict | None, logging_obj: Any,
              api_base: str | None) -> client.BackendCall:
        request = proxy_request(logging_obj=logging_obj) or optional_params or {}
        options = {key: value for key, value in request.items() if key != "drop_params"}
        body = transform_request(model, prompt, options, drops_unknown(request))
        base = (api_base or self.settings.business_api_base).rstrip("/")
        headers = {self.settings.business_api_key_header: self.settings.business_api_key}
        return client.BackendCall(BACKEND, f"{base}/api/image", headers, body, self.settings.business_api_timeout)

    async def aimage_generation(self, model: str, prompt: Any = None, optional_params: dict | None = None,
                                logging_obj: Any = None, api_base: str | None = None, **_: Any) -> ImageResponse:
        try:
            call = self._call(model, prompt, optional_params, logging_obj, api_base)
            answer = await client.apost_json(call)
            return ImageResponse(**transform_response(answer, call.body["n"], call.body["response_format"],
                                                      int(time.time())))
        except AdapterError as error:
            raise self._failed(model, error) from error
