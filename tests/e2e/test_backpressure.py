"""Backpressure: when every backend connection is busy, requests wait for one; they never fail for it."""

import asyncio
import time

import openai
import pytest

from .conftest import extra_proxy

CONNECTIONS = 2
TIMEOUT = 2  # seconds; each request alone takes half of it, queued behind others far longer


@pytest.fixture(scope="module")
def narrow(stack, tmp_path_factory):
    """A proxy that may hold only CONNECTIONS backend connections, in front of the shared mock."""
    with extra_proxy(
        tmp_path_factory.mktemp("narrow"),
        BUSINESS_API_MAX_CONNECTIONS=str(CONNECTIONS),
        BUSINESS_API_TIMEOUT=str(TIMEOUT),
        LITELLM_PROXY_WORKERS="1",
        BUSINESS_API_BASE=stack.business_url,
        BUSINESS_API_KEY=stack.settings.business_api_key,
    ) as client:
        client.chat.completions.create(model="my-custom-model", messages=[{"role": "user", "content": "warm-up"}])
        yield openai.AsyncOpenAI(base_url=str(client.base_url), api_key=client.api_key, max_retries=0, timeout=120)


async def _answer(client, text):
    reply = await client.chat.completions.create(model="my-custom-model", messages=[{"role": "user", "content": text}])
    return reply.choices[0].message.content


async def _streamed(client, text):
    stream = await client.chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": text}], stream=True)
    return "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])


def test_queued_requests_wait_for_a_connection_instead_of_timing_out(narrow):
    slow = [f"slow {i} [mock:sleep=1000]" for i in range(10)]
    streams = [f"stream {i} a b c [mock:chunk_delay=300]" for i in range(4)]

    async def run():
        return await asyncio.gather(*[_answer(narrow, text) for text in slow],
                                    *[_streamed(narrow, text) for text in streams])

    started = time.monotonic()
    answers = asyncio.run(run())
    elapsed = time.monotonic() - started
    assert answers == [f"Mock answer from my-custom-model: {text}" for text in slow + streams]
    # Ten one-second answers through two connections cannot take less than five seconds: the limit held,
    # and the queue behind it, far longer than TIMEOUT, cost nobody a 504.
    assert elapsed >= 10 / CONNECTIONS
