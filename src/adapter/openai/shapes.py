"""OpenAI answer shapes as plain data: chat.completion, LiteLLM stream chunks, pseudo-streams, and coalescing.

Coalescing: stream chunks that waited together go out merged, so a busy proxy relays fewer, fuller chunks. LiteLLM
spends about half a millisecond of CPU per chunk it relays, whatever the chunk holds. When upstream pieces arrive
faster than that, the ones that queued up in the meantime are merged into one chunk. Nothing waits on purpose: a
consumer that keeps up gets each piece alone, the moment it arrives (no timers, no added latency).
"""

from __future__ import annotations

from typing import Any

from ..upstream.errors import bad_answer

FINISH_REASONS = ("stop", "length", "content_filter", "tool_calls")


def openai_completion(
    *, completion_id: str, created: int, model: str, text: str, finish_reason: str, usage: dict,
    tool_calls: list[dict] | None = None,
) -> dict:
    """An OpenAI chat.completion object as plain data; with tool calls, content is null when there is no text."""
    message: dict = {"role": "assistant", "content": text}
    if tool_calls:
        message = {"role": "assistant", "content": text or None, "tool_calls": tool_calls}
        finish_reason = "tool_calls"
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage,
    }


def finish_reason_from(raw: Any) -> str:
    """The backend's finish reason if OpenAI knows it, else 'stop'."""
    return raw if raw in FINISH_REASONS else "stop"


def usage_from(raw: Any, backend: str) -> dict:
    """prompt/completion/total tokens as ints; total is recomputed when the backend omits it."""
    if not isinstance(raw, dict):
        raise bad_answer(backend, "'usage' is missing")
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (prompt, completion)):
        raise bad_answer(backend, "'usage' must hold non-negative integer token counts")
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def stream_chunk(text: str, finish_reason: str | None = None, usage: dict | None = None) -> dict:
    """One LiteLLM GenericStreamingChunk; a finish_reason marks the last one."""
    return {
        "text": text,
        "tool_use": None,
        "is_finished": finish_reason is not None,
        "finish_reason": finish_reason or "",
        "usage": usage,
        "index": 0,
    }


def pseudo_stream(completion: dict) -> list[dict]:
    """A finished chat.completion as a stream: its text, finish reason and usage in one chunk (one per tool call).

    Every piece of an answer that arrives whole is ready at once, so by the coalescing rule (coalesce below) they go
    out together; split, they would reach the client within a millisecond anyway, at LiteLLM's CPU cost per chunk.
    """
    choice = completion["choices"][0]
    message = choice["message"]
    calls = [{"id": call["id"], "type": "function", "function": call["function"], "index": index}
             for index, call in enumerate(message.get("tool_calls") or [])]
    chunks = [{**stream_chunk(""), "tool_use": call} for call in calls] or [stream_chunk("")]
    chunks[0]["text"] = message["content"] or ""  # the text rides on the first, as coalesce merges a batch
    chunks[-1].update(is_finished=True, finish_reason=choice["finish_reason"], usage=completion["usage"])
    return chunks


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
