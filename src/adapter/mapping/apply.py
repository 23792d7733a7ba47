"""A compiled mapping's expressions applied: request document → body, backend answer or stream event → OpenAI shapes."""

from __future__ import annotations

import json
import uuid
from typing import Any

from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from ..openai.shapes import finish_reason_from, openai_completion, stream_chunk
from ..upstream.errors import AdapterError, bad_answer
from .functions import OPTIONS
from .spec import EmbeddingsSpec, Fields, Mapping

GENERIC_BACKEND = "the backend"


def backend_of(mapping: Mapping) -> str:
    """How error messages name the backend: by its file's name, never its path or URL (clients see these)."""
    return f"the {mapping.name} backend"


def _file(mapping: Mapping) -> str:
    """The file's name without its directory: messages with it may reach a client."""
    return f"{mapping.name}.yaml"


def without_nulls(value: Any) -> Any:
    """`value` with every null-valued key removed, at every depth (inside lists of objects too)."""
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def _built(expression: ParsedResult, data: Any, where: str) -> Any:
    """A request-side search; a failure there is the mapping's fault, not the client's or the backend's."""
    try:
        return expression.search(data, options=OPTIONS)
    except JMESPathError as error:
        raise AdapterError(500, f"{where} ({expression.expression}) failed: {error}") from None


def _found(expression: ParsedResult | None, data: Any, backend: str) -> Any:
    """An answer-side search; None when the mapping has no such expression. A failure is the answer's fault."""
    if expression is None:
        return None
    try:
        return expression.search(data, options=OPTIONS)
    except JMESPathError as error:
        raise bad_answer(backend, f"{expression.expression!r} failed on it: {error}") from None


def request_body(mapping: Mapping, document: dict) -> Any:
    """The JSON body sent to the backend: the `request` expression over the document, nulls removed."""
    return without_nulls(_built(mapping.request, document, f"{_file(mapping)}: request"))


def embedding_body(mapping: Mapping, document: dict) -> Any:
    """The JSON body of an embedding call: `embeddings.request` over the embedding document, nulls removed."""
    return without_nulls(_built(mapping.embeddings.request, document, f"{_file(mapping)}: embeddings.request"))


def stream_body(mapping: Mapping, body: Any) -> Any:
    """The body sent for a stream: `stream.request` over the built body, or that body unchanged."""
    stream = mapping.stream
    if stream is None or stream.request is None:
        return body
    return without_nulls(_built(stream.request, body, f"{_file(mapping)}: stream.request"))


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def usage_of(fields: Fields, data: Any, backend: str) -> dict | None:
    """Token usage when the answer gives both counts as non-negative integers; None lets LiteLLM count them."""
    prompt = _found(fields.prompt_tokens, data, backend)
    completion = _found(fields.completion_tokens, data, backend)
    if not (_count(prompt) and _count(completion)):
        return None
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _arguments(value: Any, backend: str, where: str) -> str:
    """Tool-call arguments as JSON text: objects (Ollama sends them) are encoded compactly, text is kept."""
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if not isinstance(value, str):
        raise bad_answer(backend, f"'{where}.arguments' must be a JSON object or JSON text")
    return value


def _call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def _calls(value: Any, backend: str) -> list[dict]:
    """The found tool calls as a list; one object stands for a list of one (a stream event often has one call)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list) or not all(isinstance(call, dict) for call in value):
        raise bad_answer(backend, "'tool_calls' must find a list of objects")
    return value


def _answered_call(call: dict, index: int, backend: str) -> dict:
    """{id?, name, arguments} → an OpenAI tool call; a backend that gives no ids gets generated ones."""
    where = f"tool_calls[{index}]"
    name, call_id = call.get("name"), call.get("id")
    if not isinstance(name, str) or not name:
        raise bad_answer(backend, f"'{where}.name' must be a non-empty string")
    if call_id is not None and (not isinstance(call_id, str) or not call_id):
        raise bad_answer(backend, f"'{where}.id' must be a non-empty string when given")
    arguments = _arguments(call.get("arguments", "{}"), backend, where)
    return {"id": call_id or _call_id(), "type": "function", "function": {"name": name, "arguments": arguments}}


def completion(mapping: Mapping, answer: Any, model: str, created: int) -> dict:
    """The backend's JSON answer → an OpenAI chat.completion (plain data)."""
    backend, fields = backend_of(mapping), mapping.response
    calls = [_answered_call(call, index, backend)
             for index, call in enumerate(_calls(_found(fields.tool_calls, answer, backend), backend))]
    content = _found(fields.content, answer, backend)
    if not isinstance(content, str) and not (content is None and calls):
        # A 2xx answer that reports an error in its body: say what the backend said, not only what is missing.
        reported = error_message(fields, answer)
        why = f"it reports an error: {reported}" if reported else (
            f"response.content ({fields.content.expression}) found {type(content).__name__}, not a string")
        raise bad_answer(backend, why)
    return openai_completion(
        completion_id=f"chatcmpl-{uuid.uuid4().hex}",
        created=created,
        model=model,
        text=content or "",
        finish_reason=finish_reason_from(_found(fields.finish_reason, answer, backend)),
        usage=usage_of(fields, answer, backend),
        tool_calls=calls,
    )


def error_message(fields: Fields, answer: Any) -> str | None:
    """The message `error` finds in an (error) answer, as text; None when there is none or the search fails.

    Never raises: it runs while an error is already being reported.
    """
    if fields.error is None:
        return None
    try:
        found = fields.error.search(answer, options=OPTIONS)
    except JMESPathError:
        return None
    if found is None or found == "":
        return None
    return found if isinstance(found, str) else json.dumps(found, separators=(",", ":"), ensure_ascii=False)


def _tool_use(call: dict, position: int, backend: str) -> dict:
    """One tool-call fragment → LiteLLM's tool_use; a call's first fragment (the one with a name) has an id.

    Without an `index` the call's position in this event's list is used (backends that send whole calls at once).
    """
    index = call.get("index", position)
    if not _count(index):
        raise bad_answer(backend, "a streamed tool call's 'index' must be a non-negative integer")
    name, call_id = call.get("name"), call.get("id")
    if name is not None and (not isinstance(name, str) or not name):
        raise bad_answer(backend, "a streamed tool call's 'name' must be a non-empty string")
    if call_id is not None and not isinstance(call_id, str):
        raise bad_answer(backend, "a streamed tool call's 'id' must be a string")
    if name and not call_id:
        call_id = _call_id()
    arguments = _arguments(call.get("arguments", ""), backend, "tool_call")
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}, "index": index}


def stream_chunks(fields: Fields, event: Any, backend: str = GENERIC_BACKEND) -> list[dict]:
    """One decoded stream event → LiteLLM GenericStreamingChunks: its text, one chunk per tool-call fragment,
    and, when the event has a finish reason or usage, the last of them marks the end of the answer.

    An event where `error` finds a message raises (bad_answer) with that message.
    """
    failure = error_message(fields, event)
    if failure is not None:
        raise bad_answer(backend, f"the stream failed: {failure}")
    text = _found(fields.content, event, backend)
    if text is None:
        text = ""
    if not isinstance(text, str):
        found = type(text).__name__
        raise bad_answer(backend, f"stream content ({fields.content.expression}) found {found}, not a string")
    calls = [_tool_use(call, position, backend)
             for position, call in enumerate(_calls(_found(fields.tool_calls, event, backend), backend))]
    raw_finish = _found(fields.finish_reason, event, backend)
    usage = usage_of(fields, event, backend)
    chunks = [stream_chunk(text)] if text or not calls else []
    chunks += [{**stream_chunk(""), "tool_use": call} for call in calls]
    if raw_finish in (None, "") and usage is None:
        return [chunk for chunk in chunks if chunk["text"] or chunk["tool_use"]]
    # An event with usage but no finish reason leaves the reason to the events around it (MappedStream keeps it).
    finish = "tool_calls" if calls else (finish_reason_from(raw_finish) if raw_finish not in (None, "") else "")
    chunks[-1] = {**chunks[-1], "is_finished": True, "finish_reason": finish, "usage": usage}
    return chunks


def _vector(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)


def embeddings(spec: EmbeddingsSpec, answer: Any,
               backend: str = GENERIC_BACKEND) -> tuple[list[list[float]], int | None]:
    """The embedding answer → (one vector per input text, prompt tokens or None)."""
    vectors = _found(spec.vectors, answer, backend)
    if not isinstance(vectors, list) or not vectors or not all(_vector(vector) for vector in vectors):
        where = f"embeddings.response.vectors ({spec.vectors.expression})"
        raise bad_answer(backend, f"{where} must find a list of number lists")
    tokens = _found(spec.prompt_tokens, answer, backend)
    return vectors, tokens if _count(tokens) else None
