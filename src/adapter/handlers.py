"""LiteLLM CustomLLM handlers: thin glue between the pure transforms and the HTTP client."""

from __future__ import annotations

import logging
import time
from typing import Any

import litellm
from litellm import CustomLLM, ModelResponse

from stack_settings import Settings

from . import client, transform_business, transform_laas
from .errors import AdapterError

log = logging.getLogger("adapter")


def _drop_unknown(optional_params: dict) -> bool:
    return bool(litellm.drop_params or optional_params.get("drop_params"))


def _streaming_not_supported() -> AdapterError:
    return AdapterError(400, "stream=true is not supported by this adapter yet; send the request without streaming", "stream")


def _logged(backend: str, model: str, error: AdapterError) -> AdapterError:
    log.warning("%s call for model %s failed: %s %s", backend, model, error.status_code, error.message)
    return error


class _NoStreaming:
    """Refuse streaming up front (a clear 400) instead of LiteLLM's default 'Not implemented yet!' 500."""

    def streaming(self, *args: Any, **kwargs: Any):
        raise _streaming_not_supported()

    def astreaming(self, *args: Any, **kwargs: Any):
        raise _streaming_not_supported()


class BusinessHandler(_NoStreaming, CustomLLM):
    """Provider `my-custom-llm`: OpenAI chat → POST {BUSINESS_API_BASE}/api/process."""

    def __init__(self, settings: Settings):
        super().__init__()
        self.settings = settings
        self.url = f"{settings.business_api_base}/api/process"

    def _prepare(self, model: str, messages: list, optional_params: dict | None) -> tuple[dict, dict]:
        params = optional_params or {}
        body = transform_business.transform_request(model, messages, params, _drop_unknown(params))
        headers = {self.settings.business_api_key_header: self.settings.business_api_key}
        return body, headers

    async def acompletion(self, model: str, messages: list, optional_params: dict | None = None, **_: Any) -> ModelResponse:
        body, headers = self._prepare(model, messages, optional_params)
        try:
            answer = await client.apost_json(
                transform_business.BACKEND, self.url, headers, body, self.settings.business_api_timeout
            )
            return ModelResponse(**transform_business.transform_response(answer, model, int(time.time())))
        except AdapterError as error:
            raise _logged("business API", model, error)

    def completion(self, model: str, messages: list, optional_params: dict | None = None, **_: Any) -> ModelResponse:
        body, headers = self._prepare(model, messages, optional_params)
        try:
            answer = client.post_json(transform_business.BACKEND, self.url, headers, body, self.settings.business_api_timeout)
            return ModelResponse(**transform_business.transform_response(answer, model, int(time.time())))
        except AdapterError as error:
            raise _logged("business API", model, error)


class LaasHandler(_NoStreaming, CustomLLM):
    """Provider `laas`: OpenAI chat → POST {LAAS_API_BASE}/chat/completions with project/apiKey/hash."""

    def __init__(self, settings: Settings):
        super().__init__()
        self.settings = settings
        self.url = f"{settings.laas_api_base}/chat/completions"

    def _prepare(self, messages: list, optional_params: dict | None) -> tuple[dict, dict]:
        params = optional_params or {}
        body = transform_laas.transform_request(messages, params, self.settings.laas_preset_hash, _drop_unknown(params))
        headers = {"project": self.settings.laas_project_code, "apiKey": self.settings.laas_api_key}
        return body, headers

    async def acompletion(self, model: str, messages: list, optional_params: dict | None = None, **_: Any) -> ModelResponse:
        body, headers = self._prepare(messages, optional_params)
        try:
            answer = await client.apost_json(transform_laas.BACKEND, self.url, headers, body, self.settings.business_api_timeout)
            return ModelResponse(**transform_laas.transform_response(answer, model, int(time.time())))
        except AdapterError as error:
            raise _logged("LaaS", model, error)

    def completion(self, model: str, messages: list, optional_params: dict | None = None, **_: Any) -> ModelResponse:
        body, headers = self._prepare(messages, optional_params)
        try:
            answer = client.post_json(transform_laas.BACKEND, self.url, headers, body, self.settings.business_api_timeout)
            return ModelResponse(**transform_laas.transform_response(answer, model, int(time.time())))
        except AdapterError as error:
            raise _logged("LaaS", model, error)
