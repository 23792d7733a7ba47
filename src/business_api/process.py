"""POST /api/process: the business backend's own contract (query + model_info + history, tools, response_format)."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify, request

from . import mock, replies, validation
from .faults import injected_fault, read_turn_directives
from .process_request import parse_process_request
from .security import require_secret
from .streams import stream_response

bp = Blueprint("process", __name__)


@bp.post("/api/process")
def process():
    settings = current_app.config["SETTINGS"]
    require_secret(request.headers.get(settings.business_api_key_header), settings.business_api_key, "API key")
    body = validation.json_object(request)
    parsed = parse_process_request(body)
    directives = read_turn_directives(parsed.directive_texts())
    fault = injected_fault(directives)
    if fault is not None:
        return fault

    answer = replies.reply(parsed, directives, body)
    result = {
        "model": parsed.model,
        "created": int(time.time()),
        "finish_reason": answer.finish_reason,
        "usage": mock.usage(replies.prompt_tokens(parsed), replies.completion_tokens(answer)),
    }
    if parsed.stream:
        return stream_response(parsed.request_id, answer.answer, result, directives.chunk_delay_ms,
                               directives.fail_after, answer.tool_calls)
    calls = {"tool_calls": list(answer.tool_calls)} if answer.tool_calls else {}
    return jsonify({"request_id": parsed.request_id, "answer": answer.answer, **calls, **result})
