"""stream=True through the real proxy with the openai SDK: live relay (business API) and pseudo-stream (LaaS)."""

import asyncio
import json
import time
import urllib.request

import openai
import pytest

MODELS = ["my-custom-model", "claude-3.5-sonnet"]


def collect(stream):
    """(joined text, finish reasons, usage chunks, chunk count) of a sync stream."""
    text, finishes, usages, count = [], [], [], 0
    for chunk in stream:
        count += 1
        if chunk.usage is not None:
            usages.append(chunk.usage)
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    return "".join(text), finishes, usages, count


@pytest.mark.parametrize("model", MODELS)
def test_sync_stream_equals_the_answer_and_ends_with_finish_reason_and_usage(stack, model):
    client = stack.client()
    # Pieces 50 ms apart reach a client that keeps up one by one (pieces that arrive together are merged).
    text = "Tell me about streams, please. [mock:chunk_delay=50]"
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]
    whole = client.chat.completions.create(model=model, messages=messages)
    stream = client.chat.completions.create(
        model=model, messages=messages, stream=True, stream_options={"include_usage": True}
    )
    text, finishes, usages, count = collect(stream)
    assert text == whole.choices[0].message.content
    if model == "my-custom-model":
        assert count > 3  # really in pieces
    else:
        assert count == 3  # LaaS answers whole: its text in one chunk, then the finish reason, then usage
    assert finishes == ["stop"]
    assert len(usages) == 1
    assert usages[0].prompt_tokens == whole.usage.prompt_tokens
    assert usages[0].completion_tokens == whole.usage.completion_tokens
    assert usages[0].total_tokens == usages[0].prompt_tokens + usages[0].completion_tokens


@pytest.mark.parametrize("model", MODELS)
def test_async_stream(stack, model):
    async def run():
        client = stack.async_client()
        try:
            stream = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "async pieces"}], stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        finally:
            await client.close()

    assert asyncio.run(run()).endswith(": async pieces")


def test_finish_reason_length_arrives_in_the_stream(stack):
    stream = stack.client().chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": "one two three"}], max_tokens=2, stream=True
    )
    text, finishes, _, _ = collect(stream)
    assert text == "Mock answer"
    assert finishes == ["length"]


def test_pieces_are_relayed_as_the_backend_produces_them(stack):
    # The mock waits 400 ms between pieces: a relay hands the first piece over long before the last.
    stream = stack.client().chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": "a b c d e [mock:chunk_delay=400]"}], stream=True
    )
    started = time.monotonic()
    arrivals = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.monotonic() - started)
    assert len(arrivals) >= 9
    assert arrivals[-1] - arrivals[0] >= 8 * 0.4 * 0.9  # pieces arrive spread out, not in one burst at the end
    assert arrivals[0] < arrivals[-1] / 4


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    "text, exception, status",
    [("[mock:status=429]", openai.RateLimitError, 429), ("[mock:status=500]", openai.InternalServerError, 502),
     ("[mock:garbage]", openai.InternalServerError, 502)],
)
def test_errors_before_the_first_chunk_are_http_errors(stack, model, text, exception, status):
    with pytest.raises(exception) as caught:
        collect(stack.client().chat.completions.create(
            model=model, messages=[{"role": "user", "content": text}], stream=True))
    assert caught.value.status_code == status
    assert "Traceback" not in caught.value.body["message"]


def test_invalid_stream_request_is_400(stack):
    with pytest.raises(openai.BadRequestError):
        stack.client().chat.completions.create(
            model="my-custom-model", messages=[{"role": "assistant", "content": "x"}], stream=True
        )


def test_error_mid_stream_ends_with_a_clean_error_event(stack):
    stream = stack.client().chat.completions.create(
        model="my-custom-model", messages=[{"role": "user", "content": "a b c [mock:fail_after=2]"}], stream=True
    )
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            if chunk.choices:
                received.append(chunk.choices[0].delta.content)
    assert "".join(received) == "Mock answer "  # the pieces before the failure, merged or not
    message = str(caught.value.message)
    assert "failed" in message and "fail_after" in message
    assert "Traceback" not in message and "litellm." not in message


def business_streams(stack) -> dict:
    with urllib.request.urlopen(f"{stack.business_url}/health", timeout=5) as response:
        return json.load(response)["streams"]


def test_client_disconnect_closes_the_upstream_stream(stack):
    before = business_streams(stack)
    stream = stack.client().chat.completions.create(
        model="my-custom-model",
        messages=[{"role": "user", "content": " ".join(["word"] * 40) + " [mock:chunk_delay=250]"}],
        stream=True,
    )
    next(iter(stream))  # the stream is running (it would take ~11 s to finish) ...
    assert business_streams(stack)["open"] == before["open"] + 1
    stream.close()  # ... and the client walks away
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and business_streams(stack)["open"] > before["open"]:
        time.sleep(0.1)
    after = business_streams(stack)
    assert after["open"] == before["open"]
    assert after["aborted"] == before["aborted"] + 1
    assert after["completed"] == before["completed"]
