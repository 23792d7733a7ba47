"""Pure translation between OpenAI chat requests and the business API's /api/process contract."""

from __future__ import annotations

from typing import Any

from .errors import bad_answer, invalid_request
from .transform_common import (
    check_messages,
    finish_reason_from,
    openai_completion,
    split_params,
    text_of,
    usage_from,
)

BACKEND = "the business API"


def transform_request(model: str, messages: Any, optional_params: dict, drop_unknown: bool = False) -> dict:
    """OpenAI messages + params → {"query", "model_info", "history"}; the last message must be the user's."""
    checked = check_messages(messages, BACKEND)
    texts = [text_of(m.get("content"), f"messages[{i}].content", BACKEND) for i, m in enumerate(checked)]
    if checked[-1]["role"] != "user":
        raise invalid_request(
            f"the last message must come from the user (got {checked[-1]['role']!r}): "
            f"{BACKEND} answers the latest user query",
            f"messages[{len(checked) - 1}].role",
        )
    generation, _ = split_params(optional_params, BACKEND, drop_unknown=drop_unknown)
    history = [{"role": m["role"], "content": text} for m, text in zip(checked[:-1], texts[:-1])]
    return {"query": texts[-1], "model_info": {"name": model, **generation}, "history": history}


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
