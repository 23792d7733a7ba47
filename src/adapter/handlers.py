"""LiteLLM CustomLLM handlers: thin glue between the pure transforms and the HTTP client."""

from __future__ import annotations

import logging
import time
from types import ModuleType
from typing import Any

import litellm
from litellm import CustomLLM, ModelResponse

from stack_settings import Settings

from . import client, transform_business, transform_laas
from .errors import AdapterError

log = logging.getLogger("adapter")


class _JsonBackendHandler(CustomLLM):
    """One POST of JSON per chat completion; subclasses say where to and how to translate."""

    transform: ModuleType  # a transform_* module: BACKEND, transform_request, transform_response

    def __init__(self, settings: Settings):
        super().__init__()
        self.settings = settings

    def _prepare(self, model: str, messages: list, params: dict, drop_unknown: bool) -> tuple[str, dict, dict]:
        """(url, headers, body) for one backend call."""
        raise NotImplementedError

    def _call_args(self, model: str, messages: list, optional_params: dict | None) -> tuple:
        params = optional_params or {}
        drop_unknown = bool(litellm.drop_params or params.get("drop_params"))
        url, headers, body = self._prepare(model, messages, params, drop_unknown)
        return self.transform.BACKEND, url, headers, body, self.settings.business_api_timeout

    def _answer(self, answer: Any, model: str) -> ModelResponse:
        return ModelResponse(**self.transform.transform_response(answer, model, int(time.time())))

    def _logged(self, model: str, error: AdapterError) -> AdapterError:
        log.warning("%s call for model %s failed: %s %s", self.transform.BACKEND, model, error.status_code, error.message)
        return error

    async def acompletion(self, model: str, messages: list, optional_params: dict | None = None, **_: Any) -> ModelResponse:
        args = self._call_args(model, messages, optional_params)
        try:
            return self._answer(await client.apost_json(*args), model)
        except AdapterError as error:
            raise self._logged(model, error)

    def completion(self, model: str, messages: list, optional_params: dict | None = None, **_: Any) -> ModelResponse:
        args = self._call_args(model, messages, optional_params)
        try:
            return self._answer(client.post_json(*args), model)
        except AdapterError as error:
            raise self._logged(model, error)

    # Refuse streaming up front (a clear 400) instead of LiteLLM's default "Not implemented yet!" 500.
    def streaming(self, *args: Any, **kwargs: Any):
        raise _streaming_not_supported()

    def astreaming(self, *args: Any, **kwargs: Any):
        raise _streaming_not_supported()


def _streaming_not_supported() -> AdapterError:
    return AdapterError(400, "stream=true is not supported by this adapter yet; send the request without streaming", "stream")


class BusinessHandler(_JsonBackendHandler):
    """Provider `my-custom-llm`: OpenAI chat → POST {BUSINESS_API_BASE}/api/process."""

    transform = transform_business

    def _prepare(self, model: str, messages: list, params: dict, drop_unknown: bool) -> tuple[str, dict, dict]:
        body = transform_business.transform_request(model, messages, params, drop_unknown)
        headers = {self.settings.business_api_key_header: self.settings.business_api_key}
        return f"{self.settings.business_api_base}/api/process", headers, body


class LaasHandler(_JsonBackendHandler):
    """Provider `laas`: OpenAI chat → POST {LAAS_API_BASE}/chat/completions with project/apiKey/hash."""

    transform = transform_laas

    def _prepare(self, model: str, messages: list, params: dict, drop_unknown: bool) -> tuple[str, dict, dict]:
        body = transform_laas.transform_request(messages, params, self.settings.laas_preset_hash, drop_unknown)
        headers = {"project": self.settings.laas_project_code, "apiKey": self.settings.laas_api_key}
        return f"{self.settings.laas_api_base}/chat/completions", headers, body
