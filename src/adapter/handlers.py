"""The LaaS chat handler: thin glue between the pure transform and the HTTP client (it checks images and PDFs,
which a mapping file cannot)."""

from __future__ import annotations

import asyncio
import time
from types import ModuleType
from typing import Any, AsyncIterator, Iterator

import litellm
from litellm import ModelResponse

from . import client, transform_laas
from .errors import AdapterError
from .handler_base import AdapterHandler
from .transform_common import has_attachments, pseudo_stream


class _JsonBackendHandler(AdapterHandler):
    """One POST of JSON per chat completion; subclasses say where to and how to translate."""

    kind = "chat"
    transform: ModuleType  # a transform_* module: BACKEND, transform_request, transform_response

    def _prepare(
        self, model: str, messages: list, params: dict, drop_unknown: bool, stream: bool, api_base: str | None
    ) -> tuple[str, dict, dict]:
        """(url, headers, body) for one backend call; `api_base` is a deployment's own, from config.yaml."""
        raise NotImplementedError

    def _achunks(self, args: tuple, model: str) -> AsyncIterator[dict]:
        """Stream chunks (GenericStreamingChunk) for one call made with `args`."""
        raise NotImplementedError

    def _chunks(self, args: tuple, model: str) -> Iterator[dict]:
        raise NotImplementedError

    def _call_args(
        self, model: str, messages: list, optional_params: dict | None, stream: bool = False, api_base: str | None = None
    ) -> tuple:
        params = optional_params or {}
        drop_unknown = bool(litellm.drop_params or params.get("drop_params"))
        url, headers, body = self._prepare(model, messages, params, drop_unknown, stream, api_base)
        return self.transform.BACKEND, url, headers, body, self.settings.business_api_timeout

    async def _acall_args(self, *args: Any) -> tuple:
        """_call_args off the event loop when images or PDFs must be decoded and checked."""
        if has_attachments(args[1]):
            return await asyncio.to_thread(self._call_args, *args)
        return self._call_args(*args)

    def _completion(self, answer: Any, model: str) -> dict:
        return self.transform.transform_response(answer, model, int(time.time()))

    def _answer(self, answer: Any, model: str) -> ModelResponse:
        return ModelResponse(**self._completion(answer, model))

    # LiteLLM passes `api_base` from the deployment's litellm_params; a client cannot set it (the proxy
    # refuses it in request bodies), so a deployment may point at another backend instance.
    async def acompletion(
        self, model: str, messages: list, optional_params: dict | None = None, api_base: str | None = None, **_: Any
    ) -> ModelResponse:
        try:
            args = await self._acall_args(model, messages, optional_params, False, api_base)
            return self._answer(await client.apost_json(*args), model)
        except AdapterError as error:
            raise self._failed(model, error) from error

    def completion(
        self, model: str, messages: list, optional_params: dict | None = None, api_base: str | None = None, **_: Any
    ) -> ModelResponse:
        try:
            args = self._call_args(model, messages, optional_params, False, api_base)
            return self._answer(client.post_json(*args), model)
        except AdapterError as error:
            raise self._failed(model, error) from error

    async def astreaming(
        self, model: str, messages: list, optional_params: dict | None = None, api_base: str | None = None, **_: Any
    ):
        # An async generator, as the proxy needs: nothing runs until the first chunk is asked for, so
        # request errors and backend errors before the first chunk still become HTTP errors.
        try:
            args = await self._acall_args(model, messages, optional_params, True, api_base)
            async for chunk in self._achunks(args, model):
                yield chunk
        except AdapterError as error:
            raise self._failed(model, error) from error

    def streaming(
        self, model: str, messages: list, optional_params: dict | None = None, api_base: str | None = None, **_: Any
    ):
        try:
            args = self._call_args(model, messages, optional_params, True, api_base)
            yield from self._chunks(args, model)
        except AdapterError as error:
            raise self._failed(model, error) from error


class LaasHandler(_JsonBackendHandler):
    """Provider `laas`: OpenAI chat → POST {LAAS_API_BASE}/chat/completions with project/apiKey/hash."""

    transform = transform_laas
    provider, backend = "laas", transform_laas.BACKEND

    def _prepare(
        self, model: str, messages: list, params: dict, drop_unknown: bool, stream: bool, api_base: str | None
    ) -> tuple[str, dict, dict]:
        body = transform_laas.transform_request(messages, params, self.settings.laas_preset_hash, drop_unknown)
        headers = {"project": self.settings.laas_project_code, "apiKey": self.settings.laas_api_key}
        base = (api_base or self.settings.laas_api_base).rstrip("/")
        return f"{base}/chat/completions", headers, body

    # LaaS cannot stream: fetch the whole answer, then hand it out in pieces, with no artificial delay.
    async def _achunks(self, args: tuple, model: str) -> AsyncIterator[dict]:
        for chunk in pseudo_stream(self._completion(await client.apost_json(*args), model)):
            yield chunk

    def _chunks(self, args: tuple, model: str) -> Iterator[dict]:
        yield from pseudo_stream(self._completion(client.post_json(*args), model))
