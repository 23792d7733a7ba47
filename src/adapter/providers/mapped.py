"""Provider `mapped`: chat, streams and embeddings for any JSON backend described by a file in src/backends/.

Thin glue: the request document and the expressions (mapping/) decide what is sent and what comes back; the
client (upstream/client.py) does the HTTP; this module picks the backend for a model and relays the stream.
"""

from __future__ import annotations

import json
import time
from typing import Any, AsyncIterator
from urllib.parse import urlsplit, urlunsplit

from litellm import ModelResponse
from litellm.types.utils import EmbeddingResponse

from stack_settings import Settings

from ..mapping import apply
from ..mapping.chat import chat_request
from ..mapping.embeddings import embedding_answer, embedding_request
from ..mapping.registry import Backend, split_model
from ..mapping.stream import MappedStream
from ..openai.shapes import coalesce, pseudo_stream
from ..openai.tokens import counted_usage
from ..upstream import client
from ..upstream.errors import AdapterError, invalid_request
from .base import Provider, drops_unknown, proxy_request
from .pacing import Pacer


def _requested_model(litellm_params: Any, model: str) -> str:
    """The document's `model`: the model group the router is serving (the fallback's, when it falls back), else
    the model the client's request named, else (in-process) the name the caller used."""
    metadata = litellm_params.get("metadata") if isinstance(litellm_params, dict) else None
    group = metadata.get("model_group") if isinstance(metadata, dict) else None
    if isinstance(group, str) and group:
        return group
    body = proxy_request(litellm_params)
    if body and isinstance(body.get("model"), str):
        return body["model"]
    return f"mapped/{model}"


def _with_user(optional_params: dict | None, litellm_params: Any) -> dict:
    """optional_params with the client's `user`, which LiteLLM drops for custom providers before a provider runs.

    Its OpenAI-like parameter mapping keeps `user` only for OpenAI's own models (OpenAIGPTConfig.
    get_supported_openai_params) and never refuses it either, so it vanishes silently. The proxy keeps the client's
    body: `user` is a plain option, never a secret or URL, and the backend's policy checks it like any other.
    """
    sent = optional_params or {}
    body = proxy_request(litellm_params)
    if sent.get("user") is not None or not body or body.get("user") is None:
        return sent
    return {**sent, "user": body["user"]}


def _with_base(url: str, api_base: str | None) -> str:
    """A deployment's own `api_base` (config.yaml) replaces the scheme and host of the file's URL: another instance
    of the same backend. A client cannot set it (the door refuses api_base in request bodies)."""
    if not api_base:
        return url
    base, target = urlsplit(api_base.rstrip("/")), urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, base.path + target.path, target.query, ""))


def _describer(backend: Backend) -> client.Describe:
    """An error body → its message by the file's `error` expression, else the body's own text."""
    fields = backend.mapping.response

    def describe(raw: bytes) -> str:
        try:
            answer = json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", errors="replace")
        return apply.error_message(fields, answer) or client.error_text(raw)

    return describe


class MappedProvider(Provider):
    provider, backend, kind = "mapped", "a mapped backend", "chat"

    def __init__(self, settings: Settings, backends: dict[str, Backend]):
        super().__init__(settings)
        self.backends = backends
        self._describers = {name: _describer(backend) for name, backend in backends.items()}
        self.pacer = Pacer(settings.stream_chunks_per_second)

    def _failed(self, model: str, error: AdapterError, requested: str | None = None) -> Exception:
        """As Provider._failed, naming the backend file and the model the client asked for in the log."""
        name = split_model(model)[0]
        label = self.backends[name].label if name in self.backends else f"the {name} backend"
        return super()._failed(model, error, label, requested or f"mapped/{model}")

    def _backend(self, model: str) -> tuple[Backend, str | None]:
        name, backend_model = split_model(model)
        backend = self.backends.get(name)
        if backend is None:  # only in-process: the proxy loads every file its models name before it starts
            raise invalid_request(f"no backend file is loaded for mapped/{name}", "model")
        return backend, backend_model

    def _call(self, backend: Backend, url: str, body: Any, api_base: str | None) -> client.BackendCall:
        timeout = backend.mapping.timeout or self.settings.business_api_timeout
        return client.BackendCall(backend.label, _with_base(url, api_base), backend.mapping.headers, body, timeout)

    async def _post(self, backend: Backend, call: client.BackendCall) -> Any:
        return await client.apost_json(call, describe=self._describers[backend.mapping.name])

    # chat -------------------------------------------------------------------------------------------------------

    def _chat_call(self, model: str, messages: Any, sent: dict, requested: str, api_base: str | None,
                   stream: bool) -> tuple[Backend, client.BackendCall]:
        backend, backend_model = self._backend(model)
        body = chat_request(backend, requested, backend_model, messages, sent, stream, drops_unknown(sent))
        mapping = backend.mapping
        url = mapping.stream.url or mapping.url if stream and mapping.stream is not None else mapping.url
        return backend, self._call(backend, url, body, api_base)

    def _answer(self, backend: Backend, answer: Any, model: str, messages: list | None = None) -> dict:
        """The OpenAI completion; given the request's `messages`, usage the backend does not report is counted.

        (A stream's usage is counted by LiteLLM itself when the client asks for it; a whole answer's is not.)
        """
        completion = apply.completion(backend.mapping, answer, model, int(time.time()))
        if completion["usage"] is None and messages is not None:
            completion["usage"] = counted_usage(messages, completion["choices"][0]["message"])
        return completion

    async def acompletion(self, model: str, messages: list, optional_params: dict | None = None,
                          litellm_params: Any = None, api_base: str | None = None, **_: Any) -> ModelResponse:
        requested = _requested_model(litellm_params, model)
        try:
            sent = _with_user(optional_params, litellm_params)
            backend, call = self._chat_call(model, messages, sent, requested, api_base, False)
            return ModelResponse(**self._answer(backend, await self._post(backend, call), requested, messages))
        except AdapterError as error:
            raise self._failed(model, error, requested) from error

    async def astreaming(self, model: str, messages: list, optional_params: dict | None = None,
                         litellm_params: Any = None, api_base: str | None = None, **_: Any):
        # An async generator, as the proxy needs: nothing runs until the first chunk is asked for, so request
        # errors and backend errors before the first chunk still become HTTP errors.
        requested = _requested_model(litellm_params, model)
        try:
            sent = _with_user(optional_params, litellm_params)
            backend, call = self._chat_call(model, messages, sent, requested, api_base, True)
            async for chunk in self._relay(backend, call, requested):
                yield chunk
        except AdapterError as error:
            raise self._failed(model, error, requested) from error

    async def _relay(self, backend: Backend, call: client.BackendCall, requested: str) -> AsyncIterator[dict]:
        spec = backend.mapping.stream
        if spec is None:  # no stream in the backend: the whole answer, as one chunk the moment it is there
            for chunk in pseudo_stream(self._answer(backend, await self._post(backend, call), requested)):
                yield chunk
            return
        stream = MappedStream(spec, backend.label)
        describe = self._describers[backend.mapping.name]
        # What one read brings goes out merged (openai/shapes.py, coalesce): one chunk per event when the proxy
        # keeps up; under load the pace (pacing.py) lets pieces wait and merge before the next read.
        with self.pacer.stream() as pace:
            async for data in client.astream_reads(call, event_stream=spec.format == "sse", describe=describe):
                chunks = stream.feed(data)
                if stream.ended:  # the end rides with this read's pieces, as one merged chunk
                    break
                for chunk in coalesce(chunks):
                    yield chunk
                if chunks:
                    pace.sent()
                await pace.wait()
            else:
                chunks = []
        for chunk in coalesce(chunks + stream.close()):
            yield chunk
        if stream.error is not None:
            raise stream.error

    # embeddings -------------------------------------------------------------------------------------------------

    async def aembedding(self, model: str, input: Any = None, optional_params: dict | None = None,
                         litellm_params: Any = None, api_base: str | None = None, **_: Any) -> EmbeddingResponse:
        requested = _requested_model(litellm_params, model)
        try:
            backend, _ = self._backend(model)
            # LiteLLM drops encoding_format and dimensions for custom providers: read them from the client's body.
            options = proxy_request(litellm_params) or optional_params or {}
            request = embedding_request(backend, requested, input, options)
            call = self._call(backend, backend.mapping.embeddings.url, request.body, api_base)
            answer = await self._post(backend, call)
            return EmbeddingResponse(**embedding_answer(backend, answer, request, requested))
        except AdapterError as error:
            raise self._failed(model, error, requested) from error
