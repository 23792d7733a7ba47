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


def parts(chunk: ModelResponseStream) -> tuple[dict, dict, dict, dict, dict, dict] | None:
    """A chat chunk's own dicts (read directly: pydantic's attribute lookups cost ~1 µs each): its fields, private
    attributes, hidden params, its one choice's extra, its delta's fields and its delta's extra; None if it is not
    a chunk of one choice with hidden params."""
    if type(chunk) is not ModelResponseStream:
        return None
    fields, private = chunk.__dict__, chunk.__pydantic_private__
    choices, hidden = fields["choices"], private.get("_hidden_params")
    if len(choices) != 1 or type(choices[0]) is not StreamingChoices or not isinstance(hidden, dict):
        return None
    choice = choices[0].__pydantic_extra__
    delta = choice.get("delta")
    if type(delta) is not Delta:
        return None
    return fields, private, hidden, choice, delta.__dict__, delta.__pydantic_extra__


def plain_text(chunk: ModelResponseStream) -> bool:
    """Whether the builder reads nothing from the chunk but its text and what it shares with its neighbours: no usage,
    finish reason, logprobs, tool calls, reasoning, ..., and an arrival time to order it by."""
    found = parts(chunk)
    if found is None:
        return False
    fields, _, hidden, choice, delta_fields, delta = found
    if "usage" in fields or "usage" in (chunk.__pydantic_extra__ or {}) or "usage" in hidden:
        return False
    if type(hidden.get("created_at")) is not float or type(delta.get("content")) is not str:
        return False
    if choice.get("finish_reason") is not None or choice.get("logprobs") is not None:
        return False
    return all(value is None for value in delta_fields.values()) and all(
        value is None for key, value in delta.items() if key not in TEXT_FIELDS)


class Likeness:
    """A plain text chunk's dicts, to tell whether another chunk differs from it in nothing but its text and arrival
    time: each dict compared whole (in C), with the keys that may differ set to the other chunk's first."""

    __slots__ = ("dicts", "extra")

    def __init__(self, chunk: ModelResponseStream) -> None:
        self.dicts = tuple(dict(part) for part in parts(chunk))
        self.extra = dict(chunk.__pydantic_extra__ or {})

    def matches(self, chunk: ModelResponseStream) -> bool:
        found = parts(chunk)
        if found is None or type(found[5].get("content")) is not str or type(found[2].get("created_at")) is not float:
            return False
        if self.extra != (chunk.__pydantic_extra__ or {}):
            return False
        self.take(found[0]["choices"], found[2], found[2]["created_at"], found[3]["delta"], found[5]["content"])
        alike = all(mine == theirs for mine, theirs in zip(self.dicts, found))
        self.take(None, None, None, None, None)  # hold nothing of the chunk, which is about to be let go
        return alike

    def take(self, choices, hidden_params, created_at, delta, content) -> None:
        """Set the keys that may differ to the other chunk's values."""
        fields, private, hidden, choice, _, delta_extra = self.dicts
        fields["choices"], private["_hidden_params"], hidden["created_at"] = choices, hidden_params, created_at
        choice["delta"], delta_extra["content"] = delta, content


def delta_of(chunk: ModelResponseStream) -> dict:
    """The dict a plain text chunk's delta keeps its text in."""
    return chunk.__dict__["choices"][0].__pydantic_extra__["delta"].__pydantic_extra__


def arrival(chunk: ModelResponseStream) -> float:
    return chunk.__pydantic_private__["_hidden_params"]["created_at"]


def with_text(chunk: ModelResponseStream, text: str) -> ModelResponseStream:
    """A copy of a plain text chunk with another text, sharing nothing mutable with it but its hidden params."""
    choice = chunk.choices[0]
    delta = choice.delta.model_copy()
    delta.__pydantic_extra__["content"] = text  # model_copy copied the extra dict: this one is the copy's own
    return chunk.model_copy(update={"choices": [choice.model_copy(update={"delta": delta})]})


class FoldedChunks(list):
    """A stream's kept chunks, each run of plain text chunks alike but for their text held as one chunk."""

    __slots__ = ("folded", "likeness", "folded_until")

    def __init__(self) -> None:
        super().__init__()
        self.folded = None  # the chunk of our own that holds the latest run, its text grown in place
        self.likeness = None  # what the run's chunks share
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
        if into is self.folded:
            if not self.likeness.matches(chunk) or arrival(chunk) < self.folded_until:
                return
            delta_of(into)["content"] += delta_of(chunk)["content"]
        else:
            if not plain_text(into) or arrival(chunk) < arrival(into):
                return
            likeness = Likeness(into)
            if not likeness.matches(chunk):
                return
            self.folded = self[-3] = with_text(into, delta_of(into)["content"] + delta_of(chunk)["content"])
            self.likeness = likeness
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
