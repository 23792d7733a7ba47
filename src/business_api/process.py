"""POST /api/process: the business backend's own contract (query + model_info + history)."""

from __future__ import annotations

import time
import uuid

from flask import Blueprint, current_app, jsonify, request

from . import mock, validation
from .errors import ApiError
from .faults import injected_fault, read_directives
from .security import require_secret
from .streams import stream_response

bp = Blueprint("process", __name__)


def _history(value) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError(400, "'history' must be a list of {role, content} objects", "history")
    for index, turn in enumerate(value):
        param = f"history[{index}]"
        validation.obj(turn, param)
        validation.role(turn.get("role"), f"{param}.role")
        validation.string(turn.get("content"), f"{param}.content")
    return value


def parse_process_request(body: dict) -> dict:
    """Validate a /api/process body and return the fields the mock needs."""
    query = validation.string(body.get("query"), "query")
    model_info = validation.obj(body.get("model_info"), "model_info")
    name = validation.string(model_info.get("name"), "model_info.name", allow_empty=False)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiError(400, "'stream' must be true or false", "stream")
    request_id = body.get("request_id")
    if request_id is not None:
        validation.string(request_id, "request_id", allow_empty=False)
    return {
        "query": query,
        "model": name,
        "history": _history(body.get("history")),
        "params": validation.generation_params(model_info, "model_info."),
        "request_id": request_id or f"req_{uuid.uuid4().hex}",
        "stream": stream,
    }


@bp.post("/api/process")
def process():
    settings = current_app.config["SETTINGS"]
    require_secret(request.headers.get(settings.business_api_key_header), settings.business_api_key, "API key")
    body = validation.json_object(request)
    parsed = parse_process_request(body)
    directives = read_directives(parsed["query"])
    fault = injected_fault(directives)
    if fault is not None:
        return fault

    params = parsed["params"]
    if directives.echo:
        answer, finish_reason = mock.echo_answer(body), "stop"
    else:
        answer, finish_reason = mock.limit_answer(
            mock.default_answer(parsed["model"], parsed["query"]), params.get("max_tokens"), params["stop"]
        )
    prompt = mock.prompt_tokens([turn["content"] for turn in parsed["history"]] + [parsed["query"]])
    result = {
        "model": parsed["model"],
        "created": int(time.time()),
        "finish_reason": finish_reason,
        "usage": mock.usage(prompt, mock.count_tokens(answer)),
    }
    if parsed["stream"]:
        return stream_response(parsed["request_id"], answer, result, directives.chunk_delay_ms, directives.fail_after)
    return jsonify({"request_id": parsed["request_id"], "answer": answer, **result})
