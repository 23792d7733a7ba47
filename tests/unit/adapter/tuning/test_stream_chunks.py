"""adapter.tuning.stream_chunks: LiteLLM keeps fewer chunks of our providers' streams and builds the same answer."""

import asyncio

import litellm
import pytest
from litellm import CustomLLM
from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper, calculate_total_usage

from adapter.openai.shapes import stream_chunk
from adapter.tuning import stream_chunks

OURS = "adapter-fold-test"
USAGE = {"prompt_tokens": 7, "completion_tokens": 30, "total_tokens": 37}
CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}, "index": 0}


def words(count: int) -> list[dict]:
    return [stream_chunk(f"w{n} ") for n in range(count)]


STREAMS = {
    "text": [*words(30), stream_chunk("", "stop")],
    "text and usage": [*words(30), stream_chunk("", "stop", USAGE)],
    "empty pieces": [stream_chunk(""), *words(5), stream_chunk(""), *words(5), stream_chunk("end", "stop")],
    "usage mid-stream": [*words(6), stream_chunk("u", usage=USAGE), *words(6), stream_chunk("", "stop", USAGE)],
    "text then a tool call": [*words(8), {**stream_chunk(""), "tool_use": CALL}, stream_chunk("", "tool_calls")],
    "one chunk": [stream_chunk("all at once", "stop", USAGE)],
    "no finish": words(12),
}


class Provider(CustomLLM):
    """Streams what the test gives it, as our providers stream: LiteLLM GenericStreamingChunks."""

    chunks: list[dict] = []

    async def astreaming(self, *args, **kwargs):
        for chunk in self.chunks:
            yield dict(chunk)


@pytest.fixture()
def provider(monkeypatch):
    """Our provider registered as config.yaml's custom_provider_map registers it, with the folding installed."""
    handler = Provider()
    monkeypatch.setattr(litellm, "custom_provider_map", [{"provider": OURS, "custom_handler": handler}])
    monkeypatch.setattr(litellm, "_custom_providers", [*litellm._custom_providers, OURS])
    monkeypatch.setattr(litellm, "provider_list", [*litellm.provider_list, OURS])
    monkeypatch.setattr(CustomStreamWrapper, "__init__", stream_chunks.init_folding)
    return handler


@pytest.fixture()
def every_chunk(monkeypatch) -> list:
    """Every chunk LiteLLM hands to the kept list, in order: the list it keeps without the folding."""
    seen: list = []
    append = stream_chunks.FoldedChunks.append

    def spying(self, chunk):
        seen.append(chunk)
        append(self, chunk)

    monkeypatch.setattr(stream_chunks.FoldedChunks, "append", spying)
    return seen


async def relay(model: str) -> tuple[CustomStreamWrapper, list[dict]]:
    """LiteLLM's own stream of `model`, consumed as the proxy consumes it; the wrapper and what the client got."""
    response = await litellm.acompletion(model=model, messages=[{"role": "user", "content": "hi"}], stream=True)
    sent = [chunk.model_dump() async for chunk in response]
    return response, sent


def built(chunks: list) -> tuple:
    """What LiteLLM's builder makes of the chunks: the answer and its hidden params, and the stream's total usage."""
    response = litellm.stream_chunk_builder(chunks=chunks, messages=[{"role": "user", "content": "hi"}])
    return response.model_dump(), response._hidden_params, calculate_total_usage(chunks=chunks).model_dump()


@pytest.mark.parametrize("name", STREAMS)
def test_litellms_builder_makes_the_same_answer_from_the_folded_chunks(provider, every_chunk, name):
    provider.chunks = STREAMS[name]
    wrapper, _ = asyncio.run(relay(f"{OURS}/model"))
    assert isinstance(wrapper.chunks, stream_chunks.FoldedChunks)
    assert len(every_chunk) >= len(wrapper.chunks)
    assert built(list(wrapper.chunks)) == built(every_chunk)


def test_a_long_text_stream_keeps_a_few_chunks(provider, every_chunk):
    provider.chunks = [*words(200), stream_chunk("", "stop", USAGE)]
    wrapper, _ = asyncio.run(relay(f"{OURS}/model"))
    assert len(every_chunk) > 200
    assert len(wrapper.chunks) <= 5


def test_what_the_client_gets_is_untouched(provider, every_chunk):
    provider.chunks = STREAMS["text and usage"]
    wrapper, sent = asyncio.run(relay(f"{OURS}/model"))
    assert [chunk.model_dump() for chunk in every_chunk][:-1] == sent[:len(every_chunk) - 1]
    assert "".join(chunk["choices"][0]["delta"]["content"] or "" for chunk in sent if chunk["choices"]) == \
        "".join(f"w{n} " for n in range(30))


async def outcome(model: str) -> str:
    """How LiteLLM's stream of `model` ends: its error, or "done"."""
    try:
        await relay(model)
    except Exception as error:  # noqa: BLE001  (the error is the outcome compared)
        return f"{type(error).__name__}: {error}"
    return "done"


@pytest.mark.parametrize("repeats", [4, 5, 6, 7])
def test_litellms_repetition_check_ends_the_stream_as_without_the_folding(provider, monkeypatch, repeats):
    monkeypatch.setattr(litellm, "REPEATED_STREAMING_CHUNK_LIMIT", 5)
    provider.chunks = [*words(10), *[stream_chunk("again ")] * repeats, stream_chunk("", "stop")]
    folded = asyncio.run(outcome(f"{OURS}/model"))
    monkeypatch.setattr(CustomStreamWrapper, "__init__", stream_chunks.ORIGINAL_INIT)
    assert folded == asyncio.run(outcome(f"{OURS}/model"))
    assert ("repeating the same chunk" in folded) == (repeats > 5)


def test_chunks_that_arrived_earlier_by_the_clock_are_not_folded(provider):
    provider.chunks = words(5)
    wrapper, _ = asyncio.run(relay(f"{OURS}/model"))
    made = [wrapper.model_response_creator(chunk={"choices": [{"delta": {"content": f"w{n} "}}]}) for n in range(5)]
    made[2]._hidden_params = {**made[2]._hidden_params, "created_at": made[1]._hidden_params["created_at"] - 1}
    chunks = stream_chunks.FoldedChunks()
    for chunk in made:
        chunks.append(chunk)
    assert built(list(chunks)) == built(made)
    assert len(chunks) == 4  # only w0 and w1 folded: w2 came "before" them by the clock


def test_other_providers_streams_keep_every_chunk(provider):
    wrapper, _ = asyncio.run(relay_mock("openai/gpt-4o-mini"))
    assert type(wrapper.chunks) is list


async def relay_mock(model: str) -> tuple[CustomStreamWrapper, list[dict]]:
    response = await litellm.acompletion(model=model, messages=[{"role": "user", "content": "hi"}], stream=True,
                                         mock_response="an answer in a few words")
    return response, [chunk async for chunk in response]
