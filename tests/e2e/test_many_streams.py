"""600 concurrent streams through the real proxy and the real mock all complete, each with its own right text."""

import asyncio
import json
import time
import urllib.request

import httpx
import openai
import pytest

STREAMS = 600
WORDS = 5  # with "Mock answer from my-custom-model: " and the directive: 10 pieces
DELAY_MS = 500  # between pieces: each stream stays open ~4.5 s, so they overlap while the rest start
BOUND_SECONDS = 150  # generous: the ideal is ~5 s, the proxy's CPU for 600 requests adds seconds on 2 cores


def mock_streams(stack) -> dict:
    with urllib.request.urlopen(f"{stack.business_url}/health", timeout=10) as response:
        return json.load(response)["streams"]


async def _streamed(client, text: str) -> str:
    stream = await client.chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": text}], stream=True)
    return "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])


@pytest.mark.timeout(BOUND_SECONDS + 60)
def test_600_concurrent_streams_all_complete_with_their_own_text(stack):
    before = mock_streams(stack)
    texts = [f"stream {i} " + " ".join(f"w{i}" for _ in range(WORDS - 2)) + f" [mock:chunk_delay={DELAY_MS}]"
             for i in range(STREAMS)]
    peak = {"open": 0}

    async def watch_mock():
        # The test stack's mock has one worker, so its /health counts every stream the mock holds.
        while True:
            peak["open"] = max(peak["open"], (await asyncio.to_thread(mock_streams, stack))["open"])
            await asyncio.sleep(0.25)

    async def run_all():
        client = stack.async_client(
            timeout=BOUND_SECONDS,
            # httpx's default pool is 100 connections: room for all of them at once
            http_client=openai.DefaultAsyncHttpxClient(
                limits=httpx.Limits(max_connections=STREAMS, max_keepalive_connections=STREAMS)),
        )
        watcher = asyncio.create_task(watch_mock())
        try:
            return await asyncio.wait_for(
                asyncio.gather(*[_streamed(client, text) for text in texts], return_exceptions=True), BOUND_SECONDS)
        finally:
            watcher.cancel()
            await client.close()

    answers = asyncio.run(run_all())
    failures = [repr(answer) for answer in answers if isinstance(answer, BaseException)]
    assert not failures, f"{len(failures)} of {STREAMS} streams failed, e.g. {failures[:3]}"
    wrong = [i for i, (answer, text) in enumerate(zip(answers, texts))
             if answer != f"Mock answer from my-custom-model: {text}"]
    assert not wrong, f"{len(wrong)} streams had the wrong text, e.g. #{wrong[0]}: {answers[wrong[0]]!r}"
    deadline = time.monotonic() + 10  # the mock counts a stream done just after sending its last event
    while (after := mock_streams(stack))["open"] > before["open"] and time.monotonic() < deadline:
        time.sleep(0.1)
    # The mock ran every stream to its end and closed it: none aborted, none left open.
    assert after["completed"] - before["completed"] == STREAMS
    assert after["aborted"] == before["aborted"]
    assert after["open"] == before["open"]
    print(f"peak open streams at the mock: {peak['open']}")

