"""LiteLLM's record of what a stream served, kept as text instead of every chunk while no hook can change a chunk.

Once any callback overrides the whole-stream hook, LiteLLM's proxy runs every stream through its hook chain and keeps
every chunk it served until the stream ends, only to join their texts for the logged response (`served_chunks` in
`ProxyLogging.async_post_call_streaming_iterator_hook`): ~2-3 KB of pydantic objects per relayed chunk for as long as
the stream is open. LiteLLM's own `ResponsesIDSecurity` overrides that hook and is always registered, but it changes
chunks only on the Responses API's create routes; elsewhere it hands every chunk on as it came. When it is the only
such callback and the route is not one of those, streams are relayed here as LiteLLM's chain would relay them, the
served text kept as it grows. Any other case (a guardrail, a callback of ours, a post-call pipeline, the Responses
API) runs LiteLLM's own code, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from litellm.litellm_core_utils.litellm_logging import Logging
from litellm.litellm_core_utils.served_output_texts import record_served_output_texts, served_stream_output_texts
from litellm.proxy._types import UserAPIKeyAuth
from litellm.proxy.hooks.responses_id_security import ResponsesIDSecurity, _is_responses_api_create_route
from litellm.proxy.utils import ProxyLogging, _streamable_post_call_pipelines, check_and_merge_model_level_guardrails
from litellm.types.utils import ModelResponseStream

ORIGINAL = ProxyLogging.async_post_call_streaming_iterator_hook


class ServedTexts:
    """The texts of the chunks served so far, per choice, as LiteLLM's `served_stream_output_texts` reads them."""

    __slots__ = ("parts", "choices", "others", "seen")

    def __init__(self) -> None:
        self.parts: dict[int, list[str]] = {}
        self.choices = 0
        self.others: list = []  # chunks that are not chat chunks (LiteLLM then reads only these: raw SSE frames)
        self.seen = False

    def add(self, chunk: object) -> None:
        self.seen = True
        if not isinstance(chunk, ModelResponseStream):
            self.others.append(chunk)
            return
        for choice in chunk.choices:
            index, content = choice.index, choice.delta.content
            if index >= self.choices:
                self.choices = index + 1
            if isinstance(content, str):
                self.parts.setdefault(index, []).append(content)

    def texts(self) -> tuple | None:
        if not self.seen or self.others:
            return served_stream_output_texts(self.others)
        texts = tuple("".join(self.parts[index]) if index in self.parts else None for index in range(self.choices))
        return texts if any(text is not None for text in texts) else None


def passes_through(user_api_key_dict: UserAPIKeyAuth, request_data: dict) -> bool:
    """Whether LiteLLM's hook chain would hand this stream's chunks on unchanged (only ResponsesIDSecurity, off its
    routes, and no post-call pipeline)."""
    overrides = ProxyLogging.callback_capabilities().iterator_overrides
    if not overrides or _is_responses_api_create_route(user_api_key_dict.request_route):
        return False
    if any(kind != "override" or type(callback) is not ResponsesIDSecurity for callback, kind in overrides):
        return False
    return not _streamable_post_call_pipelines(request_data, user_api_key_dict)


def record(request_data: dict, served: ServedTexts) -> None:
    logging_obj = request_data.get("litellm_logging_obj")
    if isinstance(logging_obj, Logging):
        record_served_output_texts(logging_obj.model_call_details, served.texts())


async def relaying(response: AsyncIterator, request_data: dict):
    """LiteLLM's chain for a stream no hook changes: the chunks as they come, the served text recorded, the deferred
    success logging fired (or a failure's discarded) at the same points."""
    from litellm.proxy.proxy_server import llm_router

    request_data = check_and_merge_model_level_guardrails(data=request_data, llm_router=llm_router)
    served = ServedTexts()
    try:
        async for chunk in response:
            served.add(chunk)
            yield chunk
    except (GeneratorExit, asyncio.CancelledError):
        record(request_data, served)
        raise
    except Exception as error:
        record(request_data, served)
        if not ProxyLogging._discard_deferred_stream_logging_for_failure(request_data, error):
            ProxyLogging.fire_deferred_stream_logging(request_data)
        raise
    record(request_data, served)
    ProxyLogging.fire_deferred_stream_logging(request_data)


def async_post_call_streaming_iterator_hook(self: ProxyLogging, response, user_api_key_dict: UserAPIKeyAuth,
                                            request_data: dict):
    if passes_through(user_api_key_dict, request_data):
        return relaying(response, request_data)
    return ORIGINAL(self, response=response, user_api_key_dict=user_api_key_dict, request_data=request_data)


def install() -> None:
    """Relay streams no hook changes without keeping their chunks (once per process)."""
    ProxyLogging.async_post_call_streaming_iterator_hook = async_post_call_streaming_iterator_hook
