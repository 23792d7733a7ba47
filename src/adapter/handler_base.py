"""The base of every CustomLLM handler here: errors leave as LiteLLM's own types, and each model serves one kind.

A handler overrides the entry points of the kind it serves (chat, embeddings or images); every other entry point
answers 400 saying what the model is for, instead of LiteLLM's "Not implemented yet!" 500.
"""

from __future__ import annotations

import logging
from typing import Any

from litellm import CustomLLM

from stack_settings import Settings

from .errors import AdapterError, as_litellm_error, invalid_request
from .model_kinds import wrong_kind_message

log = logging.getLogger("adapter")


class AdapterHandler(CustomLLM):
    provider: str  # the provider name in config.yaml, for LiteLLM's error bookkeeping
    backend: str   # who answers, for log lines
    kind: str      # "chat", "embedding" or "image"

    def __init__(self, settings: Settings):
        super().__init__()
        self.settings = settings

    def _failed(self, model: str, error: AdapterError, backend: str | None = None,
                logged_model: str | None = None) -> Exception:
        """Log the failure once and hand it to LiteLLM as its own exception type (keeps status and param)."""
        log.warning("%s call for model %s failed: %s %s", backend or self.backend, logged_model or model,
                    error.status_code, error.message)
        return as_litellm_error(error, model, self.provider)

    def _wrong_kind(self, model: str, wanted: str) -> Exception:
        return self._failed(model, invalid_request(wrong_kind_message(model, self.kind, wanted), "model"))

    async def acompletion(self, model: str, *_: Any, **__: Any):
        raise self._wrong_kind(model, "chat")

    def completion(self, model: str, *_: Any, **__: Any):
        raise self._wrong_kind(model, "chat")

    async def astreaming(self, model: str, *_: Any, **__: Any):
        raise self._wrong_kind(model, "chat")
        yield  # an async generator, as the proxy expects

    def streaming(self, model: str, *_: Any, **__: Any):
        raise self._wrong_kind(model, "chat")
        yield

    async def aembedding(self, model: str, *_: Any, **__: Any):
        raise self._wrong_kind(model, "embedding")

    def embedding(self, model: str, *_: Any, **__: Any):
        raise self._wrong_kind(model, "embedding")

    async def aimage_generation(self, model: str, *_: Any, **__: Any):
        raise self._wrong_kind(model, "image")

    def image_generation(self, model: str, *_: Any, **__: Any):
        raise self._wrong_kind(model, "image")


def proxy_request(litellm_params: Any = None, logging_obj: Any = None) -> dict | None:
    """The client's request body as the proxy received it, or None outside the proxy.

    LiteLLM drops OpenAI parameters it does not map for custom providers (image size/n/response_format,
    embedding encoding_format/dimensions) before a handler runs; the proxy keeps the original body. Only
    plain options are read from it, never secrets or URLs (the door refuses those anyway).
    """
    params = litellm_params
    if not isinstance(params, dict):
        details = getattr(logging_obj, "model_call_details", None)
        params = details.get("litellm_params") if isinstance(details, dict) else None
    request = params.get("proxy_server_request") if isinstance(params, dict) else None
    body = request.get("body") if isinstance(request, dict) else None
    return body if isinstance(body, dict) and body else None
