"""The event loop's default executor, which runs LiteLLM's dispatch of a call to our own providers inline.

LiteLLM's `acompletion` (and `aembedding`, the Messages and Responses bridges, which call `acompletion`) hands its
synchronous twin to the loop's default thread pool:
`await loop.run_in_executor(None, partial(ctx.run, partial(completion, model=..., ...)))`. For a
custom provider that twin only prepares the call and returns the provider's coroutine (it reads no file and
opens no connection), so the hop to a thread buys nothing and costs a thread switch, a wake-up of the loop
and contention for the GIL on every request (docs/performance-notes.md, "The whole stack with everything on").
Here those calls run at once on the loop's thread; every other use of the default executor (LiteLLM's built-in
providers, whose set-up may block on credentials, image generation, `asyncio.to_thread`, …) still goes to the thread
pool.
"""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Callable


def dispatchers() -> tuple[Callable, ...]:
    """LiteLLM's synchronous twins that its async calls hand to the thread pool, for a provider of any kind."""
    from litellm.llms.anthropic.pass_through.messages.handler import anthropic_messages_handler
    from litellm.main import completion, embedding
    from litellm.responses.main import responses

    return completion, embedding, responses, anthropic_messages_handler


def provider_of(work: Callable, twins: tuple[Callable, ...]) -> str | None:
    """The provider of a LiteLLM call as `run_in_executor` receives it (`partial(ctx.run, partial(twin, model=…))`):
    its `custom_llm_provider`, else the first part of its `model`; None for any other work."""
    if not (isinstance(work, partial) and work.args
            and isinstance(getattr(work.func, "__self__", None), contextvars.Context)):
        return None
    call = work.args[0]
    if not isinstance(call, partial) or call.func not in twins:
        return None
    provider, model = call.keywords.get("custom_llm_provider"), call.keywords.get("model")
    if isinstance(provider, str) and provider:
        return provider
    return model.split("/", 1)[0] if isinstance(model, str) and "/" in model else None


class InlineDispatchExecutor(ThreadPoolExecutor):
    """A thread pool that runs LiteLLM's dispatch for the given providers on the caller's thread."""

    def __init__(self, providers: Callable[[], list[str]]):
        super().__init__(thread_name_prefix="asyncio")
        self.providers, self.twins = providers, dispatchers()

    def runs_inline(self, work: Callable) -> bool:
        provider = provider_of(work, self.twins)
        return provider is not None and provider in self.providers()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if args or kwargs or not self.runs_inline(fn):
            return super().submit(fn, *args, **kwargs)
        future: Future = Future()
        try:
            future.set_result(fn())
        except BaseException as error:  # noqa: BLE001  (handed to the awaiting caller, as the thread pool would)
            future.set_exception(error)
        return future


def install() -> None:
    """Make the running loop's default executor run our providers' dispatch inline."""
    import litellm

    asyncio.get_running_loop().set_default_executor(InlineDispatchExecutor(lambda: litellm._custom_providers))
