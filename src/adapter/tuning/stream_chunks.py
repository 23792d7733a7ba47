"""LiteLLM's kept stream chunks, plain text ones folded together as they arrive, for our own providers' streams.

LiteLLM's stream wrapper (`CustomStreamWrapper.chunks`) keeps every chunk it relays, as pydantic objects (~2-3 KB
each), until the stream ends, to rebuild the whole answer for usage, cost and logging (`stream_chunk_builder`). An
open stream's memory grows with every chunk relayed (docs/performance-notes.md, "Streaming targets"). Two adjacent
chunks that differ in nothing but their text give the builder the same result as one chunk holding both texts (it
joins the texts and reads everything else from chunks that are, but for the text, alike), so such a run is kept as
one chunk of our own, its text grown as chunks arrive. Chunks with anything more (usage, a finish reason, tool
calls, reasoning, logprobs) are kept as they came, and so are the last two (LiteLLM's repetition check reads them).
Folding assumes the wall clock does not step back within a stream (LiteLLM orders chunks by their wall-clock arrival
time): if it does, chunks that arrive "earlier" are not folded, but runs already folded keep their arrival order where
LiteLLM would have reordered their texts by the clock.
"""

from __future__ import annotations

from functools import wraps

import litellm
from litellm.litellm_core_utils.streaming_handler import CustomStreamWrapper
from litellm.types.utils import Delta, ModelResponseStream, StreamingChoices

ORIGINAL_INIT = CustomStreamWrapper.__init__
# The delta fields a folded chunk may carry: its text and its role; any other field set is left as it came.
TEXT_FIELDS = ("content", "role")


def likeness(chunk: object) -> tuple | None:
    """Everything the builder reads from a plain text chunk but its text and arrival time; None when the chunk is more
    than text (usage, finish reason, logprobs, tool calls, reasoning, ...) or has no arrival time."""
    if type(chunk) is not ModelResponseStream or "usage" in chunk or len(chunk.choices) != 1:
        return None
    hidden = chunk._hidden_params
    if not isinstance(hidden, dict) or "usage" in hidden or not isinstance(hidden.get("created_at"), float):
        return None
    choice = chunk.choices[0]
    if type(choice) is not StreamingChoices or type(choice.delta) is not Delta:
        return None
    choice_extra, delta = choice.__pydantic_extra__, choice.delta
    if choice_extra.get("finish_reason") is not None or choice_extra.get("logprobs") is not None:
        return None
    delta_extra = delta.__pydantic_extra__
    if not isinstance(delta_extra.get("content"), str) or any(value is not None for value in delta.__dict__.values()):
        return None
    if any(value is not None for key, value in delta_extra.items() if key not in TEXT_FIELDS):
        return None
    return (without(chunk.__dict__, "choices"), chunk.__pydantic_extra__, without(hidden, "created_at"),
            without(chunk.__pydantic_private__, "_hidden_params"), choice.__dict__,
            without(choice_extra, "delta"), delta_extra["role"])


def without(mapping: dict | None, key: str) -> dict | None:
    return None if mapping is None else {k: v for k, v in mapping.items() if k != key}


def text_of(chunk: ModelResponseStream) -> str:
    return chunk.choices[0].delta.__pydantic_extra__["content"]


def arrival(chunk: ModelResponseStream) -> float:
    return chunk._hidden_params["created_at"]


def with_text(chunk: ModelResponseStream, text: str) -> ModelResponseStream:
    """A copy of a plain text chunk with another text, sharing nothing mutable with it but its hidden params."""
    choice = chunk.choices[0]
    delta = choice.delta.model_copy()
    delta.__pydantic_extra__["content"] = text  # model_copy copied the extra dict: this one is the copy's own
    return chunk.model_copy(update={"choices": [choice.model_copy(update={"delta": delta})]})


class FoldedChunks(list):
    """A stream's kept chunks, each run of plain text chunks alike but for their text held as one chunk."""

    __slots__ = ("folded", "folded_likeness", "folded_until")

    def __init__(self) -> None:
        super().__init__()
        self.folded = None  # the chunk of our own that holds the latest run, its text grown in place
        self.folded_likeness = None
        self.folded_until = 0.0  # the arrival time of the run's last chunk

    def append(self, chunk: object) -> None:
        if len(self) >= 3:
            self.fold_behind()
        super().append(chunk)

    def fold_behind(self) -> None:
        """Fold the chunk before the last two into the one before it, when both are plain text chunks alike.

        LiteLLM's builder orders chunks by arrival time (`created_at`, wall-clock) before joining their texts; runs
        are only ever extended by a chunk that arrived no earlier, so the order is the same whether folded or not.
        """
        into, chunk = self[-3], self[-2]
        shape = likeness(chunk)
        if shape is None:
            return
        if into is self.folded:
            if shape != self.folded_likeness or arrival(chunk) < self.folded_until:
                return
            into.choices[0].delta.__pydantic_extra__["content"] += text_of(chunk)
        else:
            if likeness(into) != shape or arrival(chunk) < arrival(into):
                return
            self.folded = self[-3] = with_text(into, text_of(into) + text_of(chunk))
            self.folded_likeness = shape
        self.folded_until = arrival(chunk)
        del self[-2]


@wraps(ORIGINAL_INIT)
def init_folding(self: CustomStreamWrapper, *args, **kwargs) -> None:
    ORIGINAL_INIT(self, *args, **kwargs)
    if self.custom_llm_provider in litellm._custom_providers:
        self.chunks = FoldedChunks()


def install() -> None:
    """Fold the kept chunks of our own providers' streams (once per process); other providers' stay as they are."""
    CustomStreamWrapper.__init__ = init_folding
