"""The providers used in-process with litellm.acompletion (no proxy), against the real mock.

The providers are async only (the proxy calls the async entry points); the synchronous ones answer with a clear
error instead of a second, untested HTTP path.
"""

import asyncio
import dataclasses

import litellm
import pytest

import stack_settings
from adapter.upstream import client
from adapter.upstream.errors import AdapterError
from adapter.providers.laas import LaasProvider
from adapter.providers.mapped import MappedProvider
from adapter.mapping.registry import load_backends
from tests.support.registration import registered_providers

from .conftest import free_port


def mapped_handler(environ: dict) -> MappedProvider:
    """The mapped provider as the proxy builds it: the backend files the stack's config names."""
    settings = stack_settings.load(environ)
    return MappedProvider(settings, load_backends(settings.config_file, settings.backends_dir,
                                                 stack_settings.variables(environ)))


@pytest.fixture()
def registered(stack):
    with registered_providers({"mapped": mapped_handler(stack.env), "laas": LaasProvider(stack.settings)}):
        yield


@pytest.mark.parametrize(
    "model, expected",
    [("mapped/business", "Mock answer from mapped/business: async"),
     ("laas/claude-3.5-sonnet", "Mock answer from laas-preset: async")],
)
def test_async_completion(registered, model, expected):
    async def ask():
        try:
            return await litellm.acompletion(model=model, messages=[{"role": "user", "content": "async"}])
        finally:
            await client.aclose()

    response = asyncio.run(ask())
    assert response.choices[0].message.content == expected
    assert response.usage.total_tokens == response.usage.prompt_tokens + response.usage.completion_tokens


@pytest.mark.parametrize("model", ["mapped/business", "laas/claude-3.5-sonnet"])
def test_sync_calls_say_to_use_the_async_ones(registered, model):
    with pytest.raises(litellm.BadRequestError) as caught:
        litellm.completion(model=model, messages=[{"role": "user", "content": "sync"}])
    assert "serves async calls only" in str(caught.value) and "litellm.acompletion" in str(caught.value)


def test_async_completion_across_event_loops(registered):
    async def ask(text):
        try:
            response = await litellm.acompletion(
                model="mapped/business", messages=[{"role": "user", "content": text}]
            )
            return response.choices[0].message.content
        finally:
            await client.aclose()

    # Two asyncio.run calls: the pooled client must not reuse connections from a closed loop.
    assert asyncio.run(ask("first")) == "Mock answer from mapped/business: first"
    assert asyncio.run(ask("second")) == "Mock answer from mapped/business: second"


def test_handler_reports_unreachable_backend_as_503(stack):
    handler = mapped_handler({**stack.env, "BUSINESS_API_BASE": f"http://127.0.0.1:{free_port()}"})

    async def ask():
        try:
            await handler.acompletion(model="business", messages=[{"role": "user", "content": "x"}])
        finally:
            await client.aclose()

    with pytest.raises(litellm.ServiceUnavailableError) as caught:  # the class the router's retry policy retries
        asyncio.run(ask())
    assert caught.value.status_code == 503
    assert isinstance(caught.value.__cause__, AdapterError)


def test_provider_enforces_the_timeout(stack):
    settings = dataclasses.replace(stack.settings, business_api_timeout=0.5)

    async def ask():
        try:
            await LaasProvider(settings).acompletion(model="claude-3.5-sonnet",
                                                     messages=[{"role": "user", "content": "[mock:sleep=3000]"}])
        finally:
            await client.aclose()

    with pytest.raises(litellm.Timeout) as caught:
        asyncio.run(ask())
    assert caught.value.status_code == 504


# The business API streams word by word (30 ms apart here, so a caller that keeps up gets them one by one); LaaS
# answers whole, so its one text chunk comes before the finish chunk.
@pytest.mark.parametrize(
    "model, expected, text_chunks",
    [("mapped/business", "Mock answer from mapped/business: stream me [mock:chunk_delay=30]", 7),
     ("laas/claude-3.5-sonnet", "Mock answer from laas-preset: stream me [mock:chunk_delay=30]", 1)],
)
def test_streaming_in_process(registered, model, expected, text_chunks):
    messages = [{"role": "user", "content": "stream me [mock:chunk_delay=30]"}]

    async def collect():
        try:
            stream = await litellm.acompletion(model=model, messages=messages, stream=True)
            return [c async for c in stream]
        finally:
            await client.aclose()

    chunks = asyncio.run(collect())
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected
    assert sum(bool(c.choices[0].delta.content) for c in chunks) == text_chunks
