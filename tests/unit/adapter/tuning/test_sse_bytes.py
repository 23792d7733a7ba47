"""adapter.tuning.sse_bytes: LiteLLM's serialized stream chunks are the same bytes, held at their own size."""

import tracemalloc

import pytest
from litellm.types.utils import Delta, ModelResponseStream, StreamingChoices

from adapter.tuning import sse_bytes


def chunk(**delta) -> ModelResponseStream:
    return ModelResponseStream(id="c1", model="m", choices=[StreamingChoices(index=0, delta=Delta(**delta))])


CHUNKS = {
    "text": chunk(content="a few words " * 20),
    "role": chunk(role="assistant", content=""),
    "tool call": chunk(tool_calls=[{"id": "t", "type": "function", "function": {"name": "f", "arguments": "{}"}}]),
}


@pytest.mark.parametrize("name", CHUNKS)
def test_the_same_serialization_as_litellms(name):
    ours, litellms = sse_bytes.serialize_streaming_chunk(CHUNKS[name]), sse_bytes.SERIALIZING(CHUNKS[name])
    assert (type(ours), ours) == (type(litellms), litellms)


def held_per_chunk(serialize) -> float:
    """Memory held per kept result of `serialize`, in bytes."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [serialize(CHUNKS["text"]) for _ in range(50)]
        return (tracemalloc.get_traced_memory()[0] - before) / len(kept)
    finally:
        tracemalloc.stop()


def test_a_kept_chunk_holds_little_more_than_its_bytes():
    size = len(sse_bytes.SERIALIZING(CHUNKS["text"]))
    assert held_per_chunk(sse_bytes.serialize_streaming_chunk) < 1.5 * size + 100
