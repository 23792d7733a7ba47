"""The mock's deterministic reply to /api/process: a text answer, tool calls, or a JSON document."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from . import mock
from .directives import Directives
from .errors import ApiError
from .process_request import ProcessRequest
from .schema_instance import SchemaError, minimal_instance

CALL_ID_HEX_CHARS = 24


@dataclass(frozen=True)
class Reply:
    answer: str
    finish_reason: str
    tool_calls: tuple[dict, ...] = ()


def reply(request: ProcessRequest, directives: Directives, body: dict) -> Reply:
    """Tool results are quoted; else tools are called when chosen; else JSON when asked for; else text (the
    [mock:answer=...] one, or the default quote)."""
    if request.query is None:
        return _text(request, directives, body, tool_result_answer(request.model, request.history))
    calls = tool_calls(request, directives)
    if calls:
        return Reply("", "tool_calls", calls)
    document = structured_answer(request, directives)
    if document is None:
        document = mock.text_answer(request.model, request.query, directives.answer)
    return _text(request, directives, body, document)


def _text(request: ProcessRequest, directives: Directives, body: dict, answer: str) -> Reply:
    if directives.echo:  # shows what reached the backend, so it wins over every text the mock would write
        return Reply(mock.echo_answer(body), "stop")
    text, finish_reason = mock.limit_answer(answer, request.params.get("max_tokens"), request.params["stop"])
    return Reply(text, finish_reason)


def tool_result_answer(model: str, history: list[dict]) -> str:
    """Quote the tool results that end the conversation, in order."""
    results = []
    for turn in reversed(history):
        if turn["role"] != "tool":
            break
        results.insert(0, turn["content"])
    return f"Mock answer from {model}: the tool returned {'; '.join(results)}"


def chosen_tools(request: ProcessRequest, directives: Directives) -> list[str]:
    """The names of the functions to call, in order; empty to answer without calling any."""
    if not request.tools or request.tool_choice == "none":
        return []
    if isinstance(request.tool_choice, dict):
        return [request.tool_choice["name"]]
    known = [tool["name"] for tool in request.tools]
    for name in directives.tools:
        if name not in known:
            raise ApiError(400, f"[mock:tool={name}] names no tool in 'tools' (known: {', '.join(known)})", "query")
    names = list(directives.tools)
    if not names and request.tool_choice == "required":
        names = known[:1]
    # A model told not to call tools in parallel makes one call per turn.
    return names[:1] if request.parallel_tool_calls is False else names


def tool_calls(request: ProcessRequest, directives: Directives) -> tuple[dict, ...]:
    calls = []
    for index, name in enumerate(chosen_tools(request, directives)):
        arguments = directives.args if directives.args is not None else _minimal_arguments(request, name)
        calls.append({
            "id": call_id(request, index, name),
            "name": name,
            "arguments": json.dumps(arguments, separators=(",", ":"), ensure_ascii=False),
        })
    return tuple(calls)


def call_id(request: ProcessRequest, index: int, name: str) -> str:
    """The same request gives the same ids (request_id left out), so tests and caches can rely on them."""
    seed = "\x00".join([request.model, request.query or "", str(index), name, str(len(request.history))])
    return "call_" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:CALL_ID_HEX_CHARS]


def _minimal_arguments(request: ProcessRequest, name: str) -> dict:
    index, tool = next((i, tool) for i, tool in enumerate(request.tools) if tool["name"] == name)
    schema = tool.get("parameters") or {"type": "object"}
    try:
        arguments = minimal_instance(schema)
    except SchemaError as error:
        raise ApiError(400, str(error), f"tools[{index}].parameters") from None
    return arguments if isinstance(arguments, dict) else {}  # function arguments are always an object


def structured_answer(request: ProcessRequest, directives: Directives) -> str | None:
    """The JSON text asked for by response_format, or None for a plain text answer."""
    kind = (request.response_format or {}).get("type")
    if kind not in ("json_object", "json_schema"):
        return None
    if directives.has_json:
        document = directives.json
    elif kind == "json_object":
        document = {"answer": mock.default_answer(request.model, request.query or "")}
    else:
        try:
            document = minimal_instance(request.response_format["json_schema"]["schema"])
        except SchemaError as error:
            raise ApiError(400, str(error), "response_format.json_schema.schema") from None
    # Spaces after separators, so a streamed document arrives in several pieces as a model's would.
    return json.dumps(document, ensure_ascii=False)


def completion_tokens(reply_: Reply) -> int:
    calls = sum(mock.count_tokens(call["name"]) + mock.count_tokens(call["arguments"]) for call in reply_.tool_calls)
    return mock.count_tokens(reply_.answer) + calls


def prompt_tokens(request: ProcessRequest) -> int:
    """Every turn's text and tool calls, the query, and the tool definitions (a model reads them all)."""
    texts = [_turn_text(turn) for turn in request.history]
    if request.query is not None:
        texts.append(request.query)
    if request.tools:
        texts.append(json.dumps(request.tools, ensure_ascii=False))
    return mock.prompt_tokens(texts)


def _turn_text(turn: dict) -> str:
    calls = " ".join(f"{call['name']} {call['arguments']}" for call in turn.get("tool_calls") or [])
    return " ".join(part for part in (turn.get("content") or "", calls) if part)
