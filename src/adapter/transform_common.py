"""Pure helpers shared by both translations: message checks and the OpenAI parameter policy."""

from __future__ import annotations

import re
from typing import Any

from .errors import bad_answer, invalid_request

ROLE_ALIASES = {"developer": "system"}  # OpenAI's newer name for the system role
GENERATION_PARAMS = ("temperature", "top_p", "max_tokens", "stop")
FINISH_REASONS = ("stop", "length", "content_filter")
PARAM_ALIASES = {"max_completion_tokens": "max_tokens"}
# Keys LiteLLM itself adds to optional_params, or that change nothing for a single, non-streamed answer.
IGNORED_PARAMS = frozenset({"stream", "stream_options", "max_retries", "user", "drop_params"})
# Routing values and secrets come from server configuration only; a request may never carry them.
SERVER_OWNED_PARAMS = frozenset(
    {"hash", "project", "apiKey", "api_key", "api_base", "base_url", "headers", "extra_headers", "project_code"}
)


def check_messages(messages: Any, backend: str) -> list[dict]:
    """A non-empty list of {role, content} objects with roles the backend understands."""
    if not isinstance(messages, list) or not messages:
        raise invalid_request("'messages' must be a non-empty list", "messages")
    checked = []
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        if not isinstance(message, dict):
            raise invalid_request(f"'{param}' must be an object with 'role' and 'content'", param)
        role = message.get("role")
        role = ROLE_ALIASES.get(role, role) if isinstance(role, str) else role
        if role in ("tool", "function") or message.get("tool_calls") or message.get("function_call"):
            raise invalid_request(f"'{param}': tool and function calls are not supported by {backend}", param)
        if role not in ("system", "user", "assistant"):
            raise invalid_request(f"'{param}.role' must be system, user or assistant; got {role!r}", f"{param}.role")
        checked.append({**message, "role": role})
    return checked


def text_of(content: Any, param: str, backend: str) -> str:
    """Plain text of an OpenAI message content; text parts are joined with newlines."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid_request(f"'{param}' must be a string or a list of content parts", param)
    texts = []
    for index, part in enumerate(content):
        part_param = f"{param}[{index}]"
        if not isinstance(part, dict) or part.get("type") != "text":
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            raise invalid_request(f"'{part_param}' is a {kind!r} part, but {backend} accepts text only", part_param)
        if not isinstance(part.get("text"), str):
            raise invalid_request(f"'{part_param}.text' must be a string", f"{part_param}.text")
        texts.append(part["text"])
    return "\n".join(texts)


TOOL_PARAMS = ("tools", "tool_choice", "functions", "function_call", "parallel_tool_calls")


def refuse_tools(optional_params: dict, backend: str) -> None:
    """Tool calling is refused even under drop_params: silently dropping tools changes what the model does."""
    for name in TOOL_PARAMS:
        if optional_params.get(name) is not None:
            raise invalid_request(f"'{name}': tool and function calling are not supported by {backend}", name)


def has_attachments(messages: Any) -> bool:
    """Whether any message carries image or document parts (whose checks are worth a worker thread)."""
    return isinstance(messages, list) and any(
        isinstance(m, dict) and isinstance(m.get("content"), list)
        and any(isinstance(p, dict) and p.get("type") in ("image_url", "document") for p in m["content"])
        for m in messages
    )


def _check_generation_param(name: str, value: Any) -> Any:
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "temperature" and not (numeric and 0 <= value <= 2):
        raise invalid_request("'temperature' must be a number between 0 and 2", name)
    if name == "top_p" and not (numeric and 0 <= value <= 1):
        raise invalid_request("'top_p' must be a number between 0 and 1", name)
    if name == "max_tokens" and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        raise invalid_request("'max_tokens' must be a positive integer", name)
    if name == "stop":
        if isinstance(value, str):
            return [value]
        if not (isinstance(value, list) and len(value) <= 4 and all(isinstance(s, str) for s in value)):
            raise invalid_request("'stop' must be a string or a list of at most 4 strings", name)
    return value


def split_params(
    optional_params: dict, backend: str, passthrough: tuple[str, ...] = (), drop_unknown: bool = False
) -> tuple[dict, dict]:
    """Split LiteLLM's optional_params into (generation params, passthrough params).

    Unknown parameters are refused with 400 unless `drop_unknown` (LiteLLM's drop_params convention).
    """
    generation: dict = {}
    extra: dict = {}
    for key, value in optional_params.items():
        name = PARAM_ALIASES.get(key, key)
        if value is None or name in IGNORED_PARAMS:
            continue
        if name in SERVER_OWNED_PARAMS:
            raise invalid_request(f"'{key}' is set by the server configuration and cannot be sent by a client", key)
        if name in GENERATION_PARAMS:
            generation[name] = _check_generation_param(name, value)
        elif name == "n":
            if value != 1:
                raise invalid_request(f"'n' must be 1: {backend} returns one answer per request", "n")
        elif name in passthrough:
            extra[name] = value
        elif not drop_unknown:
            raise invalid_request(
                f"parameter '{key}' is not supported by {backend}; remove it, "
                "or set litellm_settings.drop_params: true to drop unsupported parameters",
                key,
            )
    return generation, extra


def openai_completion(*, completion_id: str, created: int, model: str, text: str, finish_reason: str, usage: dict) -> dict:
    """An OpenAI chat.completion object as plain data."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
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


PIECE_PATTERN = re.compile(r"\S+\s*|\s+")


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


def split_text(text: str, max_chunks: int = 16) -> list[str]:
    """`text` in at most `max_chunks` pieces cut after whitespace; joined, they are `text` again."""
    words = PIECE_PATTERN.findall(text)
    if not words:
        return [text]
    per_chunk = -(-len(words) // max_chunks)  # ceiling division
    return ["".join(words[i : i + per_chunk]) for i in range(0, len(words), per_chunk)]


def pseudo_stream(completion: dict) -> list[dict]:
    """A finished chat.completion as stream chunks: text pieces, then finish_reason and usage."""
    choice = completion["choices"][0]
    pieces = split_text(choice["message"]["content"])
    chunks = [stream_chunk(piece) for piece in pieces[:-1]]
    return chunks + [stream_chunk(pieces[-1], choice["finish_reason"], completion["usage"])]
