"""Pure translation between OpenAI chat requests and the business API's /api/process contract."""

from __future__ import annotations

import json
from typing import Any

from .errors import bad_answer, invalid_request
from .transform_common import (
    check_messages,
    finish_reason_from,
    openai_completion,
    refuse_tools,
    split_params,
    stream_chunk,
    text_of,
    usage_from,
)

BACKEND = "the business API"


def transform_request(
    model: str, messages: Any, optional_params: dict, drop_unknown: bool = False, stream: bool = False
) -> dict:
    """OpenAI messages + params → {"query", "model_info", "history"}; the last message must be the user's."""
    checked = check_messages(messages, BACKEND)
    refuse_tools(optional_params, BACKEND)
    texts = [text_of(m.get("content"), f"messages[{i}].content", BACKEND) for i, m in enumerate(checked)]
    if checked[-1]["role"] != "user":
        raise invalid_request(
            f"the last message must come from the user (got {checked[-1]['role']!r}): "
            f"{BACKEND} answers the latest user query",
            f"messages[{len(checked) - 1}].role",
        )
    generation, _ = split_params(optional_params, BACKEND, drop_unknown=drop_unknown)
    history = [{"role": m["role"], "content": text} for m, text in zip(checked[:-1], texts[:-1])]
    body = {"query": texts[-1], "model_info": {"name": model, **generation}, "history": history}
    return {**body, "stream": True} if stream else body


def transform_response(body: Any, model: str, created: int) -> dict:
    """/api/process answer → OpenAI chat.completion (plain data)."""
    if not isinstance(body, dict):
        raise bad_answer(BACKEND, "the body is not a JSON object")
    answer = body.get("answer")
    if not isinstance(answer, str):
        raise bad_answer(BACKEND, "'answer' is missing or not a string")
    request_id = body.get("request_id")
    return openai_completion(
        completion_id=f"chatcmpl-{request_id}" if isinstance(request_id, str) and request_id else "chatcmpl-business",
        created=body["created"] if isinstance(body.get("created"), int) else created,
        model=model,
        text=answer,
        finish_reason=finish_reason_from(body.get("finish_reason")),
        usage=usage_from(body.get("usage"), BACKEND),
    )


def transform_stream_event(data: str) -> dict | None:
    """One server-sent event's data from /api/process → a stream chunk; None at [DONE].

    Events: {"delta": text} per piece; the last also has "finish_reason" and "usage";
    {"error": {...}} aborts the stream.
    """
    if data.strip() == "[DONE]":
        return None
    try:
        event = json.loads(data)
    except ValueError:
        raise bad_answer(BACKEND, "a stream event is not JSON") from None
    if not isinstance(event, dict):
        raise bad_answer(BACKEND, "a stream event is not a JSON object")
    if "error" in event:
        error = event["error"]
        message = error.get("message") if isinstance(error, dict) else None
        raise bad_answer(BACKEND, f"the stream failed: {message or error}")
    delta = event.get("delta", "")
    if not isinstance(delta, str):
        raise bad_answer(BACKEND, "'delta' in a stream event is not a string")
    if "finish_reason" in event or "usage" in event:
        return stream_chunk(delta, finish_reason_from(event.get("finish_reason")), usage_from(event.get("usage"), BACKEND))
    return stream_chunk(delta)
