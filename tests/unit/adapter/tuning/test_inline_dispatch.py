"""adapter.tuning.inline_dispatch: LiteLLM's dispatch to our own providers runs on the loop's thread, any other work
still in the thread pool."""

import asyncio
import contextvars
import threading
from functools import partial

import litellm
import litellm.main
import pytest

from adapter.tuning.inline_dispatch import InlineDispatchExecutor, dispatchers, provider_of

OURS = "adapter-test-provider"


@pytest.fixture()
def our_provider():
    """A provider registered as LiteLLM registers config.yaml's custom_provider_map."""
    litellm._custom_providers.append(OURS)
    litellm.provider_list.append(OURS)
    try:
        yield OURS
    finally:
        litellm._custom_providers.remove(OURS)
        litellm.provider_list.remove(OURS)


async def _threads_used(model: str) -> tuple[str, int]:
    """The answer of a real litellm.acompletion (mock_response) and how many pool threads the call started."""
    executor = InlineDispatchExecutor(lambda: litellm._custom_providers)
    asyncio.get_running_loop().set_default_executor(executor)
    try:
        response = await litellm.acompletion(model=model, messages=[{"role": "user", "content": "hi"}],
                                             mock_response="answered")
        return response.choices[0].message.content, len(executor._threads)
    finally:
        executor.shutdown()


def test_litellms_dispatch_for_our_provider_runs_on_the_loops_thread(our_provider):
    assert asyncio.run(_threads_used(f"{our_provider}/some-model")) == ("answered", 0)


def test_litellms_dispatch_for_its_own_providers_still_goes_to_the_thread_pool(our_provider):
    assert asyncio.run(_threads_used("openai/gpt-4o-mini")) == ("answered", 1)


@pytest.mark.parametrize("twin", dispatchers(), ids=lambda twin: twin.__name__)
def test_what_counts_as_litellms_dispatch(twin):
    ctx = contextvars.copy_context()
    twins = dispatchers()
    assert provider_of(partial(ctx.run, partial(twin, model="mapped/x")), twins) == "mapped"
    assert provider_of(partial(ctx.run, partial(twin, model="x", custom_llm_provider="laas")), twins) == "laas"
    assert provider_of(partial(twin, model="mapped/x"), twins) is None  # not run in a copied context
    assert provider_of(partial(ctx.run, partial(twin)), twins) is None  # no model
    assert provider_of(partial(ctx.run, partial(twin, model="gpt-4o")), twins) is None  # no provider named


def test_other_work_is_not_litellms_dispatch():
    ctx = contextvars.copy_context()
    assert provider_of(partial(ctx.run, partial(print, model="mapped/x")), dispatchers()) is None
    assert provider_of(print, dispatchers()) is None


def test_an_error_in_inline_work_reaches_the_awaiting_caller(our_provider):
    # LiteLLM's own completion, answering with the error its mock is told to raise
    work = partial(contextvars.copy_context().run, partial(
        litellm.main.completion, model=f"{our_provider}/m", messages=[{"role": "user", "content": "hi"}],
        mock_response="litellm.RateLimitError"))

    executor = InlineDispatchExecutor(lambda: litellm._custom_providers)

    async def run():
        loop = asyncio.get_running_loop()
        loop.set_default_executor(executor)
        return await loop.run_in_executor(None, work)

    with pytest.raises(litellm.RateLimitError):
        asyncio.run(run())
    assert len(executor._threads) == 0  # it ran inline


def test_other_work_keeps_running_in_a_thread():
    async def run():
        loop = asyncio.get_running_loop()
        loop.set_default_executor(InlineDispatchExecutor(lambda: ["mapped"]))
        return await asyncio.to_thread(threading.get_ident)

    assert asyncio.run(run()) != threading.get_ident()
