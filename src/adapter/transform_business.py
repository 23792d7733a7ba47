"""Pure translation between OpenAI chat requests and the business API's /api/process contract (tools included)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import params
from .errors import AdapterError, bad_answer, invalid_request
from .transform_common import finish_reason_from, message_role, openai_completion, stream_chunk, text_of, usage_from

BACKEND = "the business API"
# Sent inside model_info; the tool and output-format parameters travel at the top level of the body.
MODEL_INFO_PARAMS = ("temperature", "top_p", "max_tokens", "stop", "presence_penalty", "frequency_penalty", "seed",
                     "user", "reasoning_effort")
TOOL_CHOICES = ("auto", "none", "required")


def _function_tool(tool: Any, param: str) -> dict:
    """One OpenAI tool → {"name", "description"?, "parameters"?}."""
    if not isinstance(tool, dict) or tool.get("type", "function") != "function" or not isinstance(tool.get("function"), dict):
        kind = tool.get("type") if isinstance(tool, dict) else type(tool).__name__
        raise invalid_request(f"'{param}' must be a function tool ({{\"type\": \"function\", \"function\": {{...}}}}); got {kind!r}", param)
    function = tool["function"]
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise invalid_request(f"'{param}.function.name' must be a non-empty string", f"{param}.function.name")
    described = {"name": name}
    if function.get("description") is not None:
        if not isinstance(function["description"], str):
            raise invalid_request(f"'{param}.function.description' must be a string", f"{param}.function.description")
        described["description"] = function["description"]
    if function.get("parameters") is not None:
        if not isinstance(function["parameters"], dict):
            raise invalid_request(f"'{param}.function.parameters' must be a JSON Schema object", f"{param}.function.parameters")
        described["parameters"] = function["parameters"]
    return described


def tools_of(value: Any) -> list[dict]:
    if not isinstance(value, list):
        raise invalid_request("'tools' must be a list of function tools", "tools")
    tools = [_function_tool(tool, f"tools[{index}]") for index, tool in enumerate(value)]
    names = [tool["name"] for tool in tools]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise invalid_request(f"'tools' names the function {duplicates[0]!r} more than once", "tools")
    return tools


def tool_choice_of(value: Any, tools: list[dict]) -> str | dict:
    """"auto" | "none" | "required" | {"name": N} where N is one of the tools."""
    if value in TOOL_CHOICES:
        chosen: str | dict = value
    elif isinstance(value, dict) and isinstance(value.get("function"), dict) and isinstance(value["function"].get("name"), str):
        chosen = {"name": value["function"]["name"]}
    else:
        raise invalid_request(
            "'tool_choice' must be \"auto\", \"none\", \"required\" or "
            "{\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice")
    if chosen != "none" and not tools:
        raise invalid_request("'tool_choice' needs 'tools'", "tool_choice")
    if isinstance(chosen, dict) and chosen["name"] not in {tool["name"] for tool in tools}:
        raise invalid_request(f"'tool_choice' names {chosen['name']!r}, which is not in 'tools'", "tool_choice")
    return chosen


def response_format_of(value: Any) -> dict | None:
    """The structured-output request to forward; None for plain text (the default, not sent)."""
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in params.RESPONSE_FORMATS:
        raise invalid_request("'response_format.type' must be text, json_object or json_schema", "response_format")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    spec = value.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
        raise invalid_request("'response_format.json_schema.name' must be a non-empty string", "response_format.json_schema")
    if not isinstance(spec.get("schema", {}), dict):
        raise invalid_request("'response_format.json_schema.schema' must be a JSON Schema object",
                              "response_format.json_schema.schema")
    return {"type": "json_schema", "json_schema": {"name": spec["name"], "schema": spec.get("schema", {}),
                                                   "strict": bool(spec.get("strict", False))}}


def _tool_call(call: Any, param: str) -> dict:
    """An assistant turn's OpenAI tool call → {"id", "name", "arguments"} (arguments stay the exact JSON text)."""
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(call.get("id"), str) or not isinstance(function.get("name"), str):
        raise invalid_request(f"'{param}' must be {{\"id\", \"type\": \"function\", \"function\": {{\"name\", \"arguments\"}}}}", param)
    arguments = function.get("arguments", "")
    if not isinstance(arguments, str):
        raise invalid_request(f"'{param}.function.arguments' must be a string of JSON", f"{param}.function.arguments")
    return {"id": call["id"], "name": function["name"], "arguments": arguments}


def _turn(message: Any, index: int) -> dict:
    """One OpenAI message → one /api/process turn; nothing a backend could use is dropped."""
    param = f"messages[{index}]"
    role = message_role(message, param)
    if role == "function" or message.get("function_call"):
        raise invalid_request(f"'{param}': legacy function messages are not supported; use tools and 'tool' messages", param)
    if role not in ("system", "user", "assistant", "tool"):
        raise invalid_request(f"'{param}.role' must be system, user, assistant or tool; got {role!r}", f"{param}.role")
    content = message.get("content")
    if role == "assistant" and message.get("tool_calls"):
        calls = message["tool_calls"]
        if not isinstance(calls, list):
            raise invalid_request(f"'{param}.tool_calls' must be a list", f"{param}.tool_calls")
        text = "" if content is None else text_of(content, f"{param}.content", BACKEND)
        return {"role": role, "content": text,
                "tool_calls": [_tool_call(call, f"{param}.tool_calls[{i}]") for i, call in enumerate(calls)]}
    text = "" if content is None and role == "assistant" else text_of(content, f"{param}.content", BACKEND)
    if role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise invalid_request(f"'{param}.tool_call_id' must name the tool call this result answers", f"{param}.tool_call_id")
        return {"role": role, "tool_call_id": call_id, "content": text}
    return {"role": role, "content": text}


def _conversation(messages: Any) -> tuple[str | None, list[dict]]:
    """(query, history): the final user message is the query; a conversation ending in tool results has none."""
    if not isinstance(messages, list) or not messages:
        raise invalid_request("'messages' must be a non-empty list", "messages")
    turns = [_turn(message, index) for index, message in enumerate(messages)]
    last = turns[-1]["role"]
    if last == "user":
        return turns[-1]["content"], turns[:-1]
    if last == "tool":
        return None, turns
    raise invalid_request(
        f"the last message must come from the user or be a tool result (got {last!r}): {BACKEND} answers the "
        "latest user query", f"messages[{len(turns) - 1}].role")


def transform_request(
    model: str, messages: Any, optional_params: dict, drop_unknown: bool = False, stream: bool = False
) -> dict:
    """OpenAI messages + params → the /api/process body (see CONFIGURATION_GUIDE.md)."""
    query, history = _conversation(messages)
    forwarded = params.split_params(optional_params, params.BUSINESS, drop_unknown)
    body: dict = {
        "query": query,
        "model_info": {"name": model, **{k: forwarded[k] for k in MODEL_INFO_PARAMS if k in forwarded}},
        "history": history,
    }
    tools = tools_of(forwarded["tools"]) if "tools" in forwarded else []
    if tools:
        body["tools"] = tools
    if "tool_choice" in forwarded:
        body["tool_choice"] = tool_choice_of(forwarded["tool_choice"], tools)
    if "parallel_tool_calls" in forwarded and tools:
        body["parallel_tool_calls"] = forwarded["parallel_tool_calls"]
    response_format = response_format_of(forwarded["response_format"]) if "response_format" in forwarded else None
    if response_format:
        body["response_format"] = response_format
    return {**body, "stream": True} if stream else body


def _answered_call(call: Any, index: int) -> dict:
    """A tool call in the backend's answer → an OpenAI tool call."""
    if not isinstance(call, dict) or not all(isinstance(call.get(k), str) and call[k] for k in ("id", "name")):
        raise bad_answer(BACKEND, f"'tool_calls[{index}]' needs string 'id' and 'name'")
    arguments = call.get("arguments", "{}")
    if isinstance(arguments, dict):
        arguments = json.dumps(arguments, separators=(",", ":"), ensure_ascii=False)
    if not isinstance(arguments, str):
        raise bad_answer(BACKEND, f"'tool_calls[{index}].arguments' must be a JSON string or object")
    return {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": arguments}}


def transform_response(body: Any, model: str, created: int) -> dict:
    """/api/process answer → OpenAI chat.completion (plain data)."""
    if not isinstance(body, dict):
        raise bad_answer(BACKEND, "the body is not a JSON object")
    answer = body.get("answer")
    if not isinstance(answer, str):
        raise bad_answer(BACKEND, "'answer' is missing or not a string")
    calls = body.get("tool_calls") or []
    if not isinstance(calls, list):
        raise bad_answer(BACKEND, "'tool_calls' must be a list")
    request_id = body.get("request_id")
    return openai_completion(
        completion_id=f"chatcmpl-{request_id}" if isinstance(request_id, str) and request_id else "chatcmpl-business",
        created=body["created"] if isinstance(body.get("created"), int) else created,
        model=model,
        text=answer,
        finish_reason=finish_reason_from(body.get("finish_reason")),
        usage=usage_from(body.get("usage"), BACKEND),
        tool_calls=[_answered_call(call, index) for index, call in enumerate(calls)],
    )


def _tool_use(event: dict) -> dict:
    """A stream's tool-call event → LiteLLM's tool_use: the first fragment of a call has its id and name."""
    call = event["tool_call"]
    index, arguments = call.get("index") if isinstance(call, dict) else None, None
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise bad_answer(BACKEND, "a 'tool_call' stream event needs a non-negative integer 'index'")
    arguments = call.get("arguments", "")
    if not isinstance(arguments, str):
        raise bad_answer(BACKEND, "'tool_call.arguments' in a stream event must be a string fragment")
    call_id, name = call.get("id"), call.get("name")
    if (call_id is None) != (name is None) or not all(isinstance(v, (str, type(None))) for v in (call_id, name)):
        raise bad_answer(BACKEND, "a call's first 'tool_call' event needs both 'id' and 'name', later ones neither")
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}, "index": index}


def transform_stream_event(data: str) -> dict | None:
    """One server-sent event's data from /api/process → a stream chunk; None at [DONE].

    Events: {"delta": text} per piece, {"tool_call": {...}} per tool-call fragment; the last also has
    "finish_reason" and "usage"; {"error": {...}} aborts the stream.
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
    if "tool_call" in event:
        return {**stream_chunk(""), "tool_use": _tool_use(event)}
    delta = event.get("delta", "")
    if not isinstance(delta, str):
        raise bad_answer(BACKEND, "'delta' in a stream event is not a string")
    if "finish_reason" in event or "usage" in event:
        return stream_chunk(delta, finish_reason_from(event.get("finish_reason")), usage_from(event.get("usage"), BACKEND))
    return stream_chunk(delta)


@dataclass(frozen=True)
class StreamBatch:
    """The events of one read: their chunks, whether [DONE] came, and the error an event carried (after the chunks)."""

    chunks: list[dict]
    done: bool = False
    error: AdapterError | None = None


def transform_stream_batch(batch: list[str]) -> StreamBatch:
    """Several events' data → their chunks; the chunks before a failing event are kept, so they are sent first."""
    chunks: list[dict] = []
    for data in batch:
        try:
            chunk = transform_stream_event(data)
        except AdapterError as error:
            return StreamBatch(chunks, error=error)
        if chunk is None:
            return StreamBatch(chunks, done=True)
        chunks.append(chunk)
    return StreamBatch(chunks)
