"""POST /api/preset/v2/chat/completions: a local imitation of Wanted's LaaS preset API."""

from __future__ import annotations

import time
import uuid

from flask import Blueprint, current_app, jsonify, request

import laas_limits

from . import mock, validation
from .errors import ApiError
from .faults import injected_fault, read_turn_directives
from .process_request import user_texts_of_latest_turn
from .security import constant_time_equal, require_secret

bp = Blueprint("laas", __name__)

PART_TYPES = {"text": "text", "image_url": "image_url", "document": "document_url"}
MOCK_MODEL = "laas-preset"


def _part_text(part, param: str) -> str:
    validation.obj(part, param)
    kind = part.get("type")
    if kind not in PART_TYPES:
        raise ApiError(400, f"'{param}.type' must be one of {', '.join(PART_TYPES)}; got {kind!r}", f"{param}.type")
    if kind == "text":
        return validation.string(part.get("text"), f"{param}.text")
    key = PART_TYPES[kind]
    holder = validation.obj(part.get(key), f"{param}.{key}")
    validation.string(holder.get("url"), f"{param}.{key}.url", allow_empty=False)
    return ""


def message_text(message, param: str) -> str:
    """The text of one LaaS message (typed parts joined), after checking its shape."""
    validation.obj(message, param)
    validation.role(message.get("role"), f"{param}.role")
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = validation.non_empty_list(content, f"{param}.content")
    texts = [_part_text(part, f"{param}.content[{index}]") for index, part in enumerate(parts)]
    try:
        laas_limits.check_parts(parts, f"{param}.content")  # as the real LaaS would
    except laas_limits.LimitError as error:
        raise ApiError(400, error.message, error.param) from None
    return "\n".join(text for text in texts if text)


def parse_laas_request(body: dict) -> dict:
    validation.string(body.get("hash"), "hash", allow_empty=False)
    messages = validation.non_empty_list(body.get("messages"), "messages")
    texts = [message_text(message, f"messages[{index}]") for index, message in enumerate(messages)]
    users = [index for index, message in enumerate(messages) if message["role"] == "user"]
    if not users:
        raise ApiError(400, "'messages' must contain at least one user message", "messages")
    if body.get("params") is not None:
        validation.obj(body["params"], "params")
    turns = [({"role": message["role"], "content": text}, f"messages[{index}].content")
             for index, (message, text) in enumerate(zip(messages, texts))]
    return {"texts": texts, "user_text": texts[users[-1]], "directive_texts": user_texts_of_latest_turn(turns),
            "params": validation.generation_params(body, "")}


@bp.post("/api/preset/v2/chat/completions")
def chat_completions():
    settings = current_app.config["SETTINGS"]
    require_secret(request.headers.get("project"), settings.laas_project_code, "LaaS project code")
    require_secret(request.headers.get("apiKey"), settings.laas_api_key, "LaaS apiKey")
    body = validation.json_object(request)
    parsed = parse_laas_request(body)
    if not constant_time_equal(body["hash"], settings.laas_preset_hash):
        raise ApiError(404, "no preset with this hash in this project", "hash")
    directives = read_turn_directives(parsed["directive_texts"])
    fault = injected_fault(directives)
    if fault is not None:
        return fault

    params = parsed["params"]
    if directives.echo:
        answer, finish_reason = mock.echo_answer(body, redact=("hash",)), "stop"
    else:
        answer, finish_reason = mock.limit_answer(
            mock.default_answer(MOCK_MODEL, parsed["user_text"]), params.get("max_tokens"), params["stop"]
        )
    return jsonify(
        {
            "id": f"laas-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": MOCK_MODEL,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": finish_reason}
            ],
            "usage": mock.usage(mock.prompt_tokens(parsed["texts"]), mock.count_tokens(answer)),
        }
    )
