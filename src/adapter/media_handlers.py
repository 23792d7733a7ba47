"""The embedding and image handlers: business API POST /api/embed and POST /api/image, thin glue around the transforms."""

from __future__ import annotations

import time
from typing import Any

import litellm
from litellm.types.utils import EmbeddingResponse, ImageResponse

from . import client, transform_embed, transform_image
from .errors import AdapterError
from .handler_base import AdapterHandler, proxy_request

TOKENIZER_MODEL = "gpt-3.5-turbo"  # cl100k_base, the encoding the OpenAI SDK and LangChain tokenize with


def _decode_tokens(tokens: list[int]) -> str:
    return litellm.decode(model=TOKENIZER_MODEL, tokens=tokens)


class _BusinessMediaHandler(AdapterHandler):
    backend = transform_embed.BACKEND

    def _post_args(self, path: str, body: dict, api_base: str | None) -> tuple:
        base = (api_base or self.settings.business_api_base).rstrip("/")
        headers = {self.settings.business_api_key_header: self.settings.business_api_key}
        return self.backend, f"{base}{path}", headers, body, self.settings.business_api_timeout


class EmbeddingHandler(_BusinessMediaHandler):
    """Provider `business-embedding`: OpenAI embeddings → POST {BUSINESS_API_BASE}/api/embed."""

    provider, kind = "business-embedding", "embedding"

    def _prepare(self, model: str, input: Any, optional_params: dict | None, litellm_params: Any, api_base: str | None):
        request = proxy_request(litellm_params) or optional_params or {}
        encoding, dimensions = transform_embed.options_of(request)
        texts = transform_embed.texts_of(input, _decode_tokens)
        return self._post_args("/api/embed", transform_embed.transform_request(model, texts, dimensions), api_base), \
            len(texts), encoding

    async def aembedding(self, model: str, input: Any = None, optional_params: dict | None = None,
                         litellm_params: Any = None, api_base: str | None = None, **_: Any) -> EmbeddingResponse:
        try:
            args, count, encoding = self._prepare(model, input, optional_params, litellm_params, api_base)
            answer = await client.apost_json(*args)
            return EmbeddingResponse(**transform_embed.transform_response(answer, model, count, encoding))
        except AdapterError as error:
            raise self._failed(model, error) from error

    def embedding(self, model: str, input: Any = None, optional_params: dict | None = None,
                  litellm_params: Any = None, api_base: str | None = None, **_: Any) -> EmbeddingResponse:
        try:
            args, count, encoding = self._prepare(model, input, optional_params, litellm_params, api_base)
            answer = client.post_json(*args)
            return EmbeddingResponse(**transform_embed.transform_response(answer, model, count, encoding))
        except AdapterError as error:
            raise self._failed(model, error) from error


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
