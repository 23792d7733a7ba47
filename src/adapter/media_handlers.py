"""The image handler: business API POST /api/image, thin glue around the transform."""

from __future__ import annotations

import time
from typing import Any

import litellm
from litellm.types.utils import ImageResponse

from . import client, transform_image
from .errors import AdapterError
from .handler_base import AdapterHandler, proxy_request

class _BusinessMediaHandler(AdapterHandler):
    backend = transform_image.BACKEND

    def _post_args(self, path: str, body: dict, api_base: str | None) -> tuple:
        base = (api_base or self.settings.business_api_base).rstrip("/")
        headers = {self.settings.business_api_key_header: self.settings.business_api_key}
        return self.backend, f"{base}{path}", headers, body, self.settings.business_api_timeout


class ImageHandler(_BusinessMediaHandler):
    """Provider `business-image`: OpenAI image generation → POST {BUSINESS_API_BASE}/api/image."""

    provider, kind = "business-image", "image"

    def _prepare(self, model: str, prompt: Any, optional_params: dict | None, logging_obj: Any, api_base: str | None):
        request = proxy_request(logging_obj=logging_obj) or optional_params or {}
        drop_unknown = bool(litellm.drop_params or request.get("drop_params"))
        body = transform_image.transform_request(model, prompt, {k: v for k, v in request.items() if k != "drop_params"},
                                                 drop_unknown)
        return self._post_args("/api/image", body, api_base), body

    def _answer(self, answer: Any, body: dict) -> ImageResponse:
        return ImageResponse(**transform_image.transform_response(answer, body["n"], body["response_format"],
                                                                  int(time.time())))

    async def aimage_generation(self, model: str, prompt: Any = None, optional_params: dict | None = None,
                                logging_obj: Any = None, api_base: str | None = None, **_: Any) -> ImageResponse:
        try:
            args, body = self._prepare(model, prompt, optional_params, logging_obj, api_base)
            return self._answer(await client.apost_json(*args), body)
        except AdapterError as error:
            raise self._failed(model, error) from error

    def image_generation(self, model: str, prompt: Any = None, optional_params: dict | None = None,
                         logging_obj: Any = None, api_base: str | None = None, **_: Any) -> ImageResponse:
        try:
            args, body = self._prepare(model, prompt, optional_params, logging_obj, api_base)
            return self._answer(client.post_json(*args), body)
        except AdapterError as error:
            raise self._failed(model, error) from error
