"""POST /v1/chat/completions in OpenAI's format, whole or streamed: the benchmark's reference for LiteLLM's openai/."""

from __future__ import annotations

import time
import uuid

from flask import Blueprint, Response, current_app, jsonify, request

from . import mock, validation
from .directives import Directives
from .errors import ApiError
from .faults import injected_fault, read_directives
from .laas import message_text
from .security import require_secret
from .streams import event_stream, events

bp = Blueprint("openai_compat", __name__)


@bp.post("/v1/chat/completions")
def chat_completions():
    settings = current_app.config["SETTINGS"]
    authorization = request.headers.get("Authorization", "")
    require_secret(authorization.removeprefix("Bearer ").strip(), settings.business_api_key, "API key")
    body = validation.json_object(request)
    model = validation.string(body.get("model"), "model", allow_empty=False)
    stream, include_usage = stream_options(body)
    texts, user_text = message_texts(body)
    directives = read_directives(user_text)
    fault = injected_fault(directives)  # before any byte of a stream, so a fault is a plain HTTP error
    if fault is not None:
        return fault
    params = validation.generation_params(body, "")
    text = mock.text_answer(model, user_text, directives.answer)
    answer, finish_reason = mock.limit_answer(text, params.get("max_tokens"), params["stop"])
    usage = mock.usage(mock.prompt_tokens(texts), mock.count_tokens(answer))
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": model}
    if stream:
        return streamed(head, answer, finish_reason, usage if include_usage else None, directives)
    return jsonify({
        "id": head["id"], "object": "chat.completion", "created": head["created"], "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": finish_reason}],
        "usage": usage,
    })


def stream_options(body: dict) -> tuple[bool, bool]:
    """(stream, include_usage), refusing stream_options without a stream as OpenAI does."""
    stream = body.get("stream") is not None and validation.boolean(body["stream"], "stream")
    if body.get("stream_options") is None:
        return stream, False
    options = validation.obj(body["stream_options"], "stream_options")
    if not stream:
        raise ApiError(400, "'stream_options' is only allowed when 'stream' is true", "stream_options")
    include = options.get("include_usage")
    return stream, include is not None and validation.boolean(include, "stream_options.include_usage")


def message_texts(body: dict) -> tuple[list[str], str]:
    """Every message's text (for prompt tokens) and the last user message's (the one the mock answers)."""
    messages = validation.non_empty_list(body.get("messages"), "messages")
    texts = [message_text(message, f"messages[{index}]") for index, message in enumerate(messages)]
    users = [index for index, message in enumerate(messages) if message["role"] == "user"]
    if not users:
        raise ApiError(400, "'messages' must contain at least one user message", "messages")
    return texts, texts[users[-1]]


def streamed(head: dict, answer: str, finish_reason: str, usage: dict | None, directives: Directives) -> Response:
    """OpenAI's chunks: the role, one per piece of the answer, the finish reason, the usage if asked, [DONE]."""
    # With include_usage OpenAI sends "usage": null on every chunk but the last; clients may rely on the key.
    chunk = {"id": head["id"], "object": "chat.completion.chunk", "created": head["created"], "model": head["model"]}
    extra = {} if usage is None else {"usage": None}

    def choice(delta: dict, reason: str | None = None) -> dict:
        return {**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": reason}], **extra}

    tail = [choice({}, finish_reason), *([{**chunk, "choices": [], "usage": usage}] if usage else []), "[DONE]"]
    return event_stream(events(mock.split_pieces(answer), lambda piece: choice({"content": piece}), tail,
                               directives.chunk_delay_ms, directives.fail_after,
                               head=(choice({"role": "assistant", "content": ""}),)))
