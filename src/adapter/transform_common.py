"""Pure helpers shared by the chat translations: message checks, answer and stream-chunk shapes."""

from __future__ import annotations

from typing import Any

from .errors import bad_answer, invalid_request

ROLE_ALIASES = {"developer": "system"}  # OpenAI's newer name for the system role
FINISH_REASONS = ("stop", "length", "content_filter", "tool_calls")


def check_messages(messages: Any, backend: str) -> list[dict]:
    """A non-empty list of {role, content} objects with roles the backend understands."""
    if not isinstance(messages, list) or not messages:
        raise invalid_request("'messages' must be a non-empty list", "messages")
    checked = []
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        role = message_role(message, param)
        if role in ("tool", "function") or message.get("tool_calls") or message.get("function_call"):
            raise invalid_request(f"'{param}': tool and function calls are not supported by {backend}", param)
        if role not in ("system", "user", "assistant"):
            raise invalid_request(f"'{param}.role' must be system, user or assistant; got {role!r}", f"{param}.role")
        checked.append({**message, "role": role})
    return checked


def message_role(message: Any, param: str) -> Any:
    """The role of an OpenAI message (`developer` read as `system`); the caller decides which roles it takes."""
    if not isinstance(message, dict):
        raise invalid_request(f"'{param}' must be an object with 'role' and 'content'", param)
    role = message.get("role")
    return ROLE_ALIASES.get(role, role) if isinstance(role, str) else role


def text_of(content: Any, param: str, backend: str | None) -> str:
    """Plain text of an OpenAI message content; text parts are joined with newlines.

    Other parts are refused as ones `backend` cannot take; with `backend` None they are left out of the text
    instead (a caller that keeps the content as sent, like a mapping's request document).
    """
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid_request(f"'{param}' must be a string or a list of content parts", param)
    texts = []
    for index, part in enumerate(content):
        part_param = f"{param}[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if backend is None and not isinstance(kind, str):
            raise invalid_request(f"'{part_param}' must be a content part with a 'type'", part_param)
        if kind != "text":
            if backend is None:
                continue
            shown = kind if isinstance(part, dict) else type(part).__name__
            raise invalid_request(f"'{part_param}' is a {shown!r} part, but {backend} accepts text only", part_param)
        if not isinstance(part.get("text"), str):
            raise invalid_request(f"'{part_param}.text' must be a string", f"{part_param}.text")
        texts.append(part["text"])
    return "\n".join(texts)


def has_attachments(messages: Any) -> bool:
    """Whether any message carries image or document parts (whose checks are worth a worker thread)."""
    return isinstance(messages, list) and any(
        isinstance(m, dict) and isinstance(m.get("content"), list)
        and any(isinstance(p, dict) and p.get("type") in ("image_url", "document") for p in m["content"])
        for m in messages
    )


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

    Every piece of an answer that arrives whole is ready at once, so by the coalescing rule (coalesce.py) they go
    out together; split, they would reach the client within a millisecond anyway, at LiteLLM's CPU cost per chunk.
    """
    choice = completion["choices"][0]
    message = choice["message"]
    calls = [{"id": call["id"], "type": "function", "function": call["function"], "index": index}
             for index, call in enumerate(message.get("tool_calls") or [])]
    chunks = [{**stream_chunk(""), "tool_use": call} for call in calls] or [stream_chunk("")]
    chunks[0]["text"] = message["content"] or ""  # the text rides on the first, as coalesce.py merges a batch
    chunks[-1].update(is_finished=True, finish_reason=choice["finish_reason"], usage=completion["usage"])
    return chunks
