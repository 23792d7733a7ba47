"""POST /v1/chat/completions: the mock in OpenAI's own format, so LiteLLM's built-in openai/ provider can call it.

Used by the benchmark to compare our handler with the path a backend that already speaks OpenAI would take.
"""

from __future__ import annotations

import time
import uuid

from flask import Blueprint, current_app, jsonify, request

from . import mock, validation
from .errors import ApiError
from .faults import injected_fault, read_directives
from .laas import message_text
from .security import require_secret

bp = Blueprint("openai_compat", __name__)


@bp.post("/v1/chat/completions")
def chat_completions():
    settings = current_app.config["SETTINGS"]
    authorization = request.headers.get("Authorization", "")
    require_secret(authorization.removeprefix("Bearer ").strip(), settings.business_api_key, "API key")
    body = validation.json_object(request)
    model = validation.string(body.get("model"), "model", allow_empty=False)
    messages = validation.non_empty_list(body.get("messages"), "messages")
    if body.get("stream"):
        raise ApiError(400, "this route answers without streaming only", "stream")
    texts = [message_text(message, f"messages[{index}]") for index, message in enumerate(messages)]
    users = [index for index, message in enumerate(messages) if message["role"] == "user"]
    if not users:
        raise ApiError(400, "'messages' must contain at least one user message", "messages")
    directives = read_directives(texts[users[-1]])
    fault = injected_fault(directives)
    if fault is not None:
        return fault
    params = validation.generation_params(body, "")
    answer, finish_reason = mock.limit_answer(
        mock.default_answer(model, texts[users[-1]]), params.get("max_tokens"), params["stop"]
    )
    return jsonify({
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": finish_reason}],
        "usage": mock.usage(mock.prompt_tokens(texts), mock.count_tokens(answer)),
    })
