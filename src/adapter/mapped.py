"""Provider `mapped`: chat, streams and embeddings for any JSON backend described by a file in src/backends/.

Thin glue: the request document and the expressions (mapping/) decide what is sent and what comes back; the
client (client.py) does the HTTP; this module picks the backend for a model and relays the stream.
"""

from __future__ import annotations

import json
import time
from typing import Any, AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import litellm
from litellm import ModelResponse
from litellm.types.utils import EmbeddingResponse

from stack_settings import Settings

from . import client, transform_embed
from .coalesce import coalesce
from .errors import AdapterError, bad_answer, invalid_request
from .handler_base import AdapterHandler, proxy_request
from .mapping import apply
from .mapping.chat import chat_request
from .mapping.document import embedding_document
from .mapping.registry import Backend, split_model
from .mapping.stream import MappedStream
from .transform_common import pseudo_stream

TOKENIZER_MODEL = "gpt-3.5-turbo"  # cl100k_base, the encoding the OpenAI SDK and LangChain tokenize with


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
    """optional_params with the client's `user`, which LiteLLM drops for custom providers before a handler runs.

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


class MappedHandler(AdapterHandler):
    provider, backend, kind = "mapped", "a mapped backend", "chat"

    def __init__(self, settings: Settings, backends: dict[str, Backend]):
        super().__init__(settings)
        self.backends = backends
        self._describers = {name: _describer(backend) for name, backend in backends.items()}

    def _failed(self, model: str, error: AdapterError, requested: str | None = None) -> Exception:
        """As AdapterHandler._failed, naming the backend file and the model the client asked for in the log."""
        name = split_model(model)[0]
        label = self.backends[name].label if name in self.backends else f"the {name} backend"
        return super()._failed(model, error, label, requested or f"mapped/{model}")

    def _backend(self, model: str) -> tuple[Backend, str | None]:
        name, backend_model = split_model(model)
        backend = self.backends.get(name)
        if backend is None:  # only in-process: the proxy loads every file its models name before it starts
            raise invalid_request(f"no backend file is loaded for mapped/{name}", "model")
        return backend, backend_model

    def _post_args(self, backend: Backend, url: str, body: Any, api_base: str | None) -> tuple:
        timeout = backend.mapping.timeout or self.settings.business_api_timeout
        return backend.label, _with_base(url, api_base), backend.mapping.headers, body, timeout

    # chat -------------------------------------------------------------------------------------------------------

    def _chat_call(self, model: str, messages: Any, optional_params: dict | None, litellm_params: Any,
                   api_base: str | None, stream: bool) -> tuple[Backend, tuple, str]:
        """(backend, client args, the client's model name) for one chat call."""
        backend, backend_model = self._backend(model)
        sent = _with_user(optional_params, litellm_params)
        drop_unknown = bool(litellm.drop_params or sent.get("drop_params"))
        requested = _requested_model(litellm_params, model)
        body = chat_request(backend, requested, backend_model, messages, sent, stream, drop_unknown)
        mapping = backend.mapping
        url = mapping.stream.url or mapping.url if stream and mapping.stream is not None else mapping.url
        return backend, self._post_args(backend, url, body, api_base), requested

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
        try:
            backend, args, requested = self._chat_call(model, messages, optional_params, litellm_params, api_base,
                                                       False)
            answer = await client.apost_json(*args, describe=self._describers[backend.mapping.name])
            return ModelResponse(**self._answer(backend, answer, requested, messages))
        except AdapterError as error:
            raise self._failed(model, error, _requested_model(litellm_params, model)) from error

    def completion(self, model: str, messages: list, optional_params: dict | None = None,
                   litellm_params: Any = None, api_base: str | None = None, **_: Any) -> ModelResponse:
        try:
            backend, args, requested = self._chat_call(model, messages, optional_params, litellm_params, api_base,
                                                       False)
            answer = client.post_json(*args, describe=self._describers[backend.mapping.name])
            return ModelResponse(**self._answer(backend, answer, requested, messages))
        except AdapterError as error:
            raise self._failed(model, error, _requested_model(litellm_params, model)) from error

    async def astreaming(self, model: str, messages: list, optional_params: dict | None = None,
                         litellm_params: Any = None, api_base: str | None = None, **_: Any):
        # An async generator, as the proxy needs: nothing runs until the first chunk is asked for, so request
        # errors and backend errors before the first chunk still become HTTP errors.
        try:
            backend, args, requested = self._chat_call(model, messages, optional_params, litellm_params, api_base,
                                                       True)
            async for chunk in self._arelay(backend, args, requested):
                yield chunk
        except AdapterError as error:
            raise self._failed(model, error, _requested_model(litellm_params, model)) from error

    def streaming(self, model: str, messages: list, optional_params: dict | None = None,
                  litellm_params: Any = None, api_base: str | None = None, **_: Any):
        try:
            backend, args, requested = self._chat_call(model, messages, optional_params, litellm_params, api_base,
                                                       True)
            yield from self._relay(backend, args, requested)
        except AdapterError as error:
            raise self._failed(model, error, _requested_model(litellm_params, model)) from error

    async def _arelay(self, backend: Backend, args: tuple, requested: str) -> AsyncIterator[dict]:
        describe, spec = self._describers[backend.mapping.name], backend.mapping.stream
        if spec is None:  # no stream in the backend: the whole answer, as one chunk the moment it is there
            for chunk in pseudo_stream(self._answer(backend, await client.apost_json(*args, describe=describe),
                                                    requested)):
                yield chunk
            return
        stream = MappedStream(spec, backend.label)
        # What one read brings goes out merged (coalesce.py): one event per chunk when the proxy keeps up.
        async for data in client.astream_reads(*args, event_stream=spec.format == "sse", describe=describe):
            chunks = stream.feed(data)
            if stream.ended:  # the end rides with this read's pieces, as one merged chunk
                break
            for chunk in coalesce(chunks):
                yield chunk
        else:
            chunks = []
        for chunk in coalesce(chunks + stream.close()):
            yield chunk
        if stream.error is not None:
            raise stream.error

    def _relay(self, backend: Backend, args: tuple, requested: str) -> Iterator[dict]:
        describe, spec = self._describers[backend.mapping.name], backend.mapping.stream
        if spec is None:
            yield from pseudo_stream(self._answer(backend, client.post_json(*args, describe=describe), requested))
            return
        stream = MappedStream(spec, backend.label)
        chunks: list[dict] = []
        for data in client.stream_reads(*args, event_stream=spec.format == "sse", describe=describe):
            chunks = stream.feed(data)
            if stream.ended:
                break
            yield from coalesce(chunks)
            chunks = []
        yield from coalesce(chunks + stream.close())
        if stream.error is not None:
            raise stream.error

    # embeddings -------------------------------------------------------------------------------------------------

    def _embedding_call(self, model: str, input: Any, optional_params: dict | None, litellm_params: Any,
                        api_base: str | None) -> tuple[Backend, tuple, list[str], str, str]:
        backend, _ = self._backend(model)
        spec = backend.mapping.embeddings
        if spec is None:
            raise invalid_request(f"{backend.label} serves chat only (its file has no embeddings: section)", "model")
        request = proxy_request(litellm_params) or optional_params or {}
        encoding, dimensions = transform_embed.options_of(request)
        if dimensions is not None and not backend.reads_dimensions:
            raise invalid_request(f"'dimensions' is not supported by {backend.label}", "dimensions")
        texts = transform_embed.texts_of(input, decode_tokens)
        requested = _requested_model(litellm_params, model)
        body = apply.embedding_body(backend.mapping, embedding_document(requested, texts, dimensions))
        return backend, self._post_args(backend, spec.url, body, api_base), texts, encoding, requested

    def _embedding_answer(self, backend: Backend, answer: Any, texts: list[str], encoding: str,
                          requested: str) -> EmbeddingResponse:
        vectors, prompt_tokens = apply.embeddings(backend.mapping.embeddings, answer, backend.label)
        if len(vectors) != len(texts):
            raise bad_answer(backend.label, f"{len(vectors)} vectors for {len(texts)} input texts")
        if prompt_tokens is None:  # the backend does not say: count as OpenAI would
            prompt_tokens = sum(litellm.token_counter(model=TOKENIZER_MODEL, text=text) for text in texts)
        return EmbeddingResponse(**transform_embed.embedding_list(vectors, requested, prompt_tokens, encoding))

    async def aembedding(self, model: str, input: Any = None, optional_params: dict | None = None,
                         litellm_params: Any = None, api_base: str | None = None, **_: Any) -> EmbeddingResponse:
        try:
            backend, args, texts, encoding, requested = self._embedding_call(model, input, optional_params,
                                                                             litellm_params, api_base)
            answer = await client.apost_json(*args, describe=self._describers[backend.mapping.name])
            return self._embedding_answer(backend, answer, texts, encoding, requested)
        except AdapterError as error:
            raise self._failed(model, error, _requested_model(litellm_params, model)) from error

    def embedding(self, model: str, input: Any = None, optional_params: dict | None = None,
                  litellm_params: Any = None, api_base: str | None = None, **_: Any) -> EmbeddingResponse:
        try:
            backend, args, texts, encoding, requested = self._embedding_call(model, input, optional_params,
                                                                             litellm_params, api_base)
            answer = client.post_json(*args, describe=self._describers[backend.mapping.name])
            return self._embedding_answer(backend, answer, texts, encoding, requested)
        except AdapterError as error:
            raise self._failed(model, error, _requested_model(litellm_params, model)) from error


def counted_usage(messages: list, message: dict) -> dict:
    """Token usage as OpenAI would count it (cl100k_base): the request's messages, the answer's text and calls."""
    prompt = litellm.token_counter(model=TOKENIZER_MODEL, messages=messages)
    answer = (message.get("content") or "") + "".join(
        call["function"]["name"] + call["function"]["arguments"] for call in message.get("tool_calls") or [])
    completion = litellm.token_counter(model=TOKENIZER_MODEL, text=answer, count_response_tokens=True) if answer else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def decode_tokens(tokens: list[int]) -> str:
    return litellm.decode(model=TOKENIZER_MODEL, tokens=tokens)
