"""What every provider shares: a named backend call, errors handed to LiteLLM as its own types, one kind per model.

A provider overrides the async entry points of the kind it serves (chat, embeddings or images), the ones LiteLLM's
proxy calls; every other entry point answers 400 saying what the model is for, instead of LiteLLM's "Not implemented
yet!" 500. The synchronous entry points (in-process `litellm.completion` & co.) answer that the provider is async.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import litellm
from litellm import CustomLLM

from stack_settings import Settings

from ..openai.kinds import wrong_kind_message
from ..upstream.errors import AdapterError, invalid_request

log = logging.getLogger("adapter")

SYNC_REFUSED = ("the {provider} provider serves async calls only (the proxy's); in-process, call "
                "litellm.acompletion, litellm.aembedding or litellm.aimage_generation")

# LiteLLM's exception class per status, as its own mapping picks them: the router's retry policy and fallbacks
# key on these classes (ServiceUnavailableError is retried, BadRequestError never falls back).
LITELLM_ERROR_CLASSES = {
    400: litellm.BadRequestError,
    401: litellm.AuthenticationError,
    403: litellm.PermissionDeniedError,
    404: litellm.NotFoundError,
    429: litellm.RateLimitError,
    500: litellm.InternalServerError,
    502: litellm.BadGatewayError,
    503: litellm.ServiceUnavailableError,
    504: litellm.Timeout,
}


def as_litellm_error(error: AdapterError, model: str, provider: str) -> Exception:
    """`error` as the LiteLLM exception for its status, keeping `param`, the exact status and the backend's headers.

    LiteLLM passes its own exception types through unchanged, and the proxy reads `param` and `status_code`
    from them; any other exception would be re-mapped and lose its `param`.
    """
    status = error.status_code
    kind = LITELLM_ERROR_CLASSES.get(status) or (litellm.BadRequestError if status < 500 else litellm.InternalServerError)
    response = httpx.Response(status, headers=error.headers, request=httpx.Request("POST", f"http://{provider}"))
    options = {"message": error.message, "model": model, "llm_provider": provider}
    if kind is not litellm.Timeout:
        options["response"] = response
    converted = kind(**options)
    converted.status_code = status  # e.g. 413 stays 413 under BadRequestError
    converted.param = error.param
    converted.litellm_response_headers = response.headers
    return converted


class Provider(CustomLLM):
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

    def _sync_refused(self, model: str) -> Exception:
        return as_litellm_error(invalid_request(SYNC_REFUSED.format(provider=self.provider)), model, self.provider)

    async def acompletion(self, model: str, *_: Any, **__: Any):
        raise self._wrong_kind(model, "chat")

    async def astreaming(self, model: str, *_: Any, **__: Any):
        raise self._wrong_kind(model, "chat")
        yield  # an async generator, as the proxy expects

    async def aembedding(self, model: str, *_: Any, **__: Any):
        raise self._wrong_kind(model, "embedding")

    async def aimage_generation(self, model: str, *_: Any, **__: Any):
        raise self._wrong_kind(model, "image")

    def completion(self, model: str, *_: Any, **__: Any):
        raise self._sync_refused(model)

    def streaming(self, model: str, *_: Any, **__: Any):
        raise self._sync_refused(model)

    def embedding(self, model: str, *_: Any, **__: Any):
        raise self._sync_refused(model)

    def image_generation(self, model: str, *_: Any, **__: Any):
        raise self._sync_refused(model)


def drops_unknown(sent: dict) -> bool:
    """Whether unsupported parameters are dropped instead of refused (litellm_settings or the request)."""
    return bool(litellm.drop_params or sent.get("drop_params"))


def proxy_request(litellm_params: Any = None, logging_obj: Any = None) -> dict | None:
    """The client's request body as the proxy received it, or None outside the proxy.

    LiteLLM drops OpenAI parameters it does not map for custom providers (image size/n/response_format,
    embedding encoding_format/dimensions) before a provider runs; the proxy keeps the original body. Only
    plain options are read from it, never secrets or URLs (the door refuses those anyway).
    """
    params = litellm_params
    if not isinstance(params, dict):
        details = getattr(logging_obj, "model_call_details", None)
        params = details.get("litellm_params") if isinstance(details, dict) else None
    request = params.get("proxy_server_request") if isinstance(params, dict) else None
    body = request.get("body") if isinstance(request, dict) else None
    return body if isinstance(body, dict) and body else None
