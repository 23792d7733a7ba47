"""LiteLLM's built-in openai/ provider streaming from the mock's /v1/chat/completions: the benchmark's reference."""

import asyncio
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before litellm is imported: no cost map download

import litellm  # noqa: E402
import pytest  # noqa: E402

MODEL = "my-custom-model"
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Tell me about streams, please."}]


def options(stack, **extra) -> dict:
    return {"model": f"openai/{MODEL}", "api_base": f"{stack.business_url}/v1",
            "api_key": stack.settings.business_api_key, "num_retries": 0, "timeout": 30, **extra}


def collect(chunks) -> tuple[str, list, list]:
    """(joined text, finish reasons, usages) of LiteLLM stream chunks."""
    text, finishes, usages = [], [], []
    for chunk in chunks:
        if getattr(chunk, "usage", None) is not None:
            usages.append(chunk.usage)
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            if choice.finish_reason:
                finishes.append(choice.finish_reason)
    return "".join(text), finishes, usages


def test_sync_stream_equals_the_whole_answer_with_its_usage(stack):
    whole = litellm.completion(messages=MESSAGES, **options(stack))
    stream = litellm.completion(messages=MESSAGES, stream=True, stream_options={"include_usage": True},
                                **options(stack))
    text, finishes, usages = collect(stream)
    assert text == whole.choices[0].message.content == f"Mock answer from {MODEL}: {MESSAGES[-1]['content']}"
    assert finishes == ["stop"]
    assert usages and usages[-1].total_tokens == whole.usage.total_tokens
    assert usages[-1].completion_tokens == whole.usage.completion_tokens


def test_async_stream_with_chunk_delay(stack):
    async def run() -> tuple[str, list, list]:
        messages = [{"role": "user", "content": "one two three [mock:chunk_delay=20]"}]
        stream = await litellm.acompletion(messages=messages, stream=True, **options(stack))
        return collect([chunk async for chunk in stream])

    text, finishes, _ = asyncio.run(run())
    assert text == f"Mock answer from {MODEL}: one two three [mock:chunk_delay=20]"
    assert finishes == ["stop"]


def test_max_tokens_cuts_the_stream_with_finish_reason_length(stack):
    stream = litellm.completion(messages=MESSAGES, stream=True, max_tokens=2, **options(stack))
    text, finishes, _ = collect(stream)
    assert text == "Mock answer"
    assert finishes == ["length"]


def test_fail_after_surfaces_as_an_error_mid_stream(stack):
    messages = [{"role": "user", "content": "a b c [mock:fail_after=2]"}]
    stream = litellm.completion(messages=messages, stream=True, **options(stack))
    received = []
    with pytest.raises(Exception, match="fail_after"):
        for chunk in stream:
            received.extend(choice.delta.content or "" for choice in chunk.choices)
    assert "".join(received) == "Mock answer "
