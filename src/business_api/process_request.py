"""The /api/process request body, checked field by field into a ProcessRequest (400 naming the field otherwise)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from . import validation
from .errors import ApiError

HISTORY_ROLES = ("system", "user", "assistant", "tool")
TOOL_CHOICES = ("auto", "none", "required")
RESPONSE_FORMATS = ("text", "json_object", "json_schema")  # "text" is the plain default, accepted as a no-op


@dataclass(frozen=True)
class ProcessRequest:
    query: str | None  # None: the conversation ends with tool results
    model: str
    history: list[dict]
    params: dict  # max_tokens, stop, temperature, top_p
    extras: dict  # presence_penalty, frequency_penalty, seed, user, reasoning_effort (validated, not used)
    request_id: str
    stream: bool = False
    tools: list[dict] = field(default_factory=list)
    tool_choice: str | dict | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict | None = None

    def directive_texts(self) -> list[tuple[str, str]]:
        """Where the [mock:...] directives are read, with each text's param name: every user text of the latest
        user turn, i.e. since the assistant turn before it (agents put reminders after the prompt as user text)."""
        turns = [(turn, f"history[{index}].content") for index, turn in enumerate(self.history)]
        if self.query is not None:
            turns.append(({"role": "user", "content": self.query}, "query"))
        return user_texts_of_latest_turn(turns)


def user_texts_of_latest_turn(turns: list[tuple[dict, str]]) -> list[tuple[str, str]]:
    """The user texts, in order, from the latest user text back to the assistant turn before it.

    Tool turns and the assistant's tool calls after the latest user text belong to that same turn, so a round
    trip's final answer still sees the prompt's directives.
    """
    users = [index for index, (turn, _) in enumerate(turns) if turn["role"] == "user"]
    if not users:
        return []
    texts = []
    for turn, param in reversed(turns[: users[-1] + 1]):
        if turn["role"] == "assistant":
            break
        if turn["role"] == "user" and isinstance(turn.get("content"), str):
            texts.insert(0, (turn["content"], param))
    return texts


def parse_process_request(body: dict) -> ProcessRequest:
    """Validate a /api/process body and return the fields the mock needs."""
    model_info = validation.obj(body.get("model_info"), "model_info")
    history = _history(body.get("history"))
    query = _query(body.get("query"), history)
    tools = _tools(body.get("tools"))
    request_id = body.get("request_id")
    if request_id is not None:
        validation.string(request_id, "request_id", allow_empty=False)
    return ProcessRequest(
        query=query,
        model=validation.string(model_info.get("name"), "model_info.name", allow_empty=False),
        history=history,
        params=validation.generation_params(model_info, "model_info."),
        extras=validation.model_extras(model_info, "model_info."),
        request_id=request_id or f"req_{uuid.uuid4().hex}",
        stream=validation.boolean(body.get("stream", False), "stream"),
        tools=tools,
        tool_choice=_tool_choice(body.get("tool_choice"), tools),
        parallel_tool_calls=_optional(body.get("parallel_tool_calls"), validation.boolean, "parallel_tool_calls"),
        response_format=_optional(body.get("response_format"), _response_format, "response_format"),
    )


def _optional(value, check, param: str):
    return None if value is None else check(value, param)


def _query(value, history: list[dict]) -> str | None:
    if value is not None:
        return validation.string(value, "query")
    if not history or history[-1]["role"] != "tool":
        raise ApiError(400, "'query' must be a string; it may be null only when the history ends with a tool turn",
                       "query")
    return None


def _history(value) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError(400, "'history' must be a list of {role, content} objects", "history")
    for index, turn in enumerate(value):
        _turn(turn, f"history[{index}]")
    return value


def _turn(turn, param: str) -> None:
    validation.obj(turn, param)
    role = validation.role(turn.get("role"), f"{param}.role", HISTORY_ROLES)
    if role == "assistant" and turn.get("tool_calls") is not None:
        _history_tool_calls(turn["tool_calls"], f"{param}.tool_calls")
        if turn.get("content") is not None:  # a turn that only calls tools may have no text
            validation.string(turn["content"], f"{param}.content")
        return
    if role == "tool":
        validation.string(turn.get("tool_call_id"), f"{param}.tool_call_id", allow_empty=False)
    validation.string(turn.get("content"), f"{param}.content")


def _history_tool_calls(value, param: str) -> None:
    if not isinstance(value, list):
        raise ApiError(400, f"'{param}' must be a list of {{id, name, arguments}} objects", param)
    for index, call in enumerate(value):
        validation.obj(call, f"{param}[{index}]")
        validation.string(call.get("id"), f"{param}[{index}].id", allow_empty=False)
        validation.string(call.get("name"), f"{param}[{index}].name", allow_empty=False)
        validation.string(call.get("arguments"), f"{param}[{index}].arguments")


def _tools(value) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError(400, "'tools' must be a list of {name, description, parameters} objects", "tools")
    for index, tool in enumerate(value):
        param = f"tools[{index}]"
        validation.obj(tool, param)
        validation.string(tool.get("name"), f"{param}.name", allow_empty=False)
        _optional(tool.get("description"), validation.string, f"{param}.description")
        _optional(tool.get("parameters"), validation.obj, f"{param}.parameters")
    return value


def _tool_choice(value, tools: list[dict]) -> str | dict | None:
    if value is None:
        return None
    if isinstance(value, dict):
        names = [tool["name"] for tool in tools]
        name = validation.string(value.get("name"), "tool_choice.name", allow_empty=False)
        if name not in names:
            known = ", ".join(names) or "none are given"
            raise ApiError(400, f"'tool_choice.name' must name one of the tools ({known}); got {name!r}",
                           "tool_choice.name")
        return value
    if not isinstance(value, str) or value not in TOOL_CHOICES:
        raise ApiError(400, f"'tool_choice' must be one of {', '.join(TOOL_CHOICES)} or {{\"name\": ...}}; "
                            f"got {value!r}", "tool_choice")
    if value != "none" and not tools:
        raise ApiError(400, f"'tool_choice' {value!r} needs 'tools'", "tool_choice")
    return value


def _response_format(value, param: str) -> dict:
    validation.obj(value, param)
    kind = validation.choice(value.get("type"), RESPONSE_FORMATS, f"{param}.type")
    if kind == "json_schema":
        spec = validation.obj(value.get("json_schema"), f"{param}.json_schema")
        validation.string(spec.get("name"), f"{param}.json_schema.name", allow_empty=False)
        validation.obj(spec.get("schema"), f"{param}.json_schema.schema")
        _optional(spec.get("strict"), validation.boolean, f"{param}.json_schema.strict")
    return value
