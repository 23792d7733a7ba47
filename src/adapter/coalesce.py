"""Adaptive coalescing: stream chunks that waited together go out merged, so a busy proxy relays fewer, fuller chunks.

LiteLLM spends about half a millisecond of CPU per chunk it relays, whatever the chunk holds. When upstream pieces
arrive faster than that, the ones that queued up in the meantime are merged here into one chunk. Nothing waits
on purpose: a consumer that keeps up gets each piece alone, the moment it arrives (no timers, no added latency).
"""

from __future__ import annotations

from .transform_common import stream_chunk


def coalesce(chunks: list[dict]) -> list[dict]:
    """LiteLLM GenericStreamingChunks that are ready at once, merged: as few chunks as carry the same stream.

    Text is joined; tool-call fragments are merged per call index (id and name from the call's first fragment,
    arguments joined in order); the finish reason and usage of the batch are kept on the last chunk. The result
    is one chunk, or one per tool call when the batch holds fragments of several calls (as OpenAI streams them:
    one call per delta); the text rides on the first.
    """
    if len(chunks) < 2:
        return chunks
    calls: dict[int, dict] = {}
    for chunk in chunks:
        if chunk.get("tool_use"):
            _merge_call(calls, chunk["tool_use"])
    merged = [{**stream_chunk(""), "tool_use": call} for call in calls.values()] or [stream_chunk("")]
    merged[0]["text"] = "".join(chunk["text"] for chunk in chunks)
    finished = [chunk for chunk in chunks if chunk["is_finished"]]
    usage = [chunk["usage"] for chunk in chunks if chunk.get("usage") is not None]
    if finished:
        merged[-1].update(is_finished=True, finish_reason=finished[-1]["finish_reason"])
    if usage:
        merged[-1]["usage"] = usage[-1]
    return merged


def _merge_call(calls: dict[int, dict], fragment: dict) -> None:
    index = fragment["index"]
    call = calls.get(index)
    if call is None:
        calls[index] = {**fragment, "function": dict(fragment["function"])}
        return
    call["id"] = call["id"] or fragment["id"]
    function = call["function"]
    function["name"] = function["name"] or fragment["function"]["name"]
    function["arguments"] += fragment["function"]["arguments"]

