"""POST /api/preset/v2/chat/completions: a local imitation of Wanted's LaaS preset API."""

from __future__ import annotations

import time
import uuid

from flask import Blueprint, current_app, jsonify, request

import laas_limits

from . import laas_tools, mock, validation
from .directives import Directives
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
            "system_texts": [text for message, text in zip(messages, texts) if message["role"] == "system"],
            "params": validation.generation_params(body, "")}


def answer_of(body: dict, parsed: dict, directives: Directives) -> tuple[str, str]:
    """(answer, finish_reason): tool results quoted; else tool calls when the prompt offers tools and they are
    chosen (laas_tools); else the echo or the usual text, cut by max_tokens and stop."""
    params = parsed["params"]
    results = laas_tools.tool_results([text for text, _ in parsed["directive_texts"]])
    text = mock.text_answer(MOCK_MODEL, parsed["user_text"], directives.answer)
    if results:
        text = f"Mock answer from {MOCK_MODEL}: the tool returned {'; '.join(results)}"
    else:
        tools = laas_tools.offered_tools(parsed["system_texts"])
        names = laas_tools.chosen(tools, "\n".join(parsed["system_texts"]), directives) if tools else []
        if names:
            return laas_tools.call_lines(tools, names, directives), "stop"
    if directives.echo:
        return mock.echo_answer(body, redact=("hash",)), "stop"
    return mock.limit_answer(text, params.get("max_tokens"), params["stop"])


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

    answer, finish_reason = answer_of(body, parsed, directives)
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
