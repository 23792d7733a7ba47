"""The Anthropic Messages routes' body checks (messages, count_tokens): a 400 naming the field, as Anthropic does."""

from __future__ import annotations

from typing import Callable

from .base import NUMBER, TYPE_NAMES, RequestProblem

ROLES = ("user", "assistant")
# Content blocks a message may carry (Anthropic's API reference) → the fields each needs, with their types.
# A system-role turn is accepted too (Claude Code sends them): LiteLLM makes it a system message.
BLOCK_FIELDS: dict[str, dict] = {
    "text": {"text": str},
    "image": {"source": dict},
    "document": {"source": dict},
    "tool_use": {"id": str, "name": str, "input": dict},
    "server_tool_use": {"id": str, "name": str, "input": dict},
    "tool_result": {"tool_use_id": str},
    "thinking": {"thinking": str},
    "redacted_thinking": {"data": str},
    "search_result": {"source": str, "title": str, "content": list},
}
PARAM_TYPES = {
    "max_tokens": int, "temperature": NUMBER, "top_p": NUMBER, "top_k": int, "stop_sequences": list,
    "stream": bool, "tools": list, "tool_choice": dict, "metadata": dict, "thinking": dict, "system": (str, list),
}
TOOL_CHOICES = ("auto", "any", "tool", "none")
# Tool fields that only steer Anthropic's own servers (tool search loads a deferred tool on demand; every tool here is
# offered up front). LiteLLM 1.106.2's translation would copy them into the tool's JSON Schema: they are dropped.
SERVER_ONLY_TOOL_FIELDS = ("defer_loading",)
THINKING_TYPES = ("enabled", "disabled", "adaptive")


def _required(body: dict, name: str, kind: type, text: str) -> None:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise RequestProblem(f"{name}: Field required ({text})" if value is None else f"{name}: must be {text}", name)


def _check_block(where: str, block: object, allowed: tuple[str, ...] | None = None) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise RequestProblem(f"{where}: must be an object with a string 'type'", where)
    kind = block["type"]
    if kind not in BLOCK_FIELDS or (allowed is not None and kind not in allowed):
        choices = ", ".join(allowed or BLOCK_FIELDS)
        raise RequestProblem(f"{where}.type: '{kind[:100]}' is not one of {choices}", f"{where}.type")
    for field, expected in BLOCK_FIELDS[kind].items():
        if not isinstance(block.get(field), expected):
            name = {str: "a string", dict: "an object", list: "a list"}[expected]
            raise RequestProblem(f"{where}.{field}: Field required ({name}) for a '{kind}' block", f"{where}.{field}")
    content = block.get("content")
    if kind == "tool_result" and content is not None:
        _check_content(f"{where}.content", content, ("text", "image", "document", "search_result"))


def _check_content(where: str, content: object, allowed: tuple[str, ...] | None = None) -> None:
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise RequestProblem(f"{where}: must be a string or a list of content blocks", where)
    for index, block in enumerate(content):
        _check_block(f"{where}.{index}", block, allowed)


def _check_messages(body: dict) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestProblem("messages: Field required (a non-empty list of messages)", "messages")
    for index, message in enumerate(messages):
        where = f"messages.{index}"
        if not isinstance(message, dict):
            raise RequestProblem(f"{where}: must be an object with 'role' and 'content'", where)
        role = message.get("role")
        if role not in ROLES and role != "system":
            raise RequestProblem(f"{where}.role: must be one of {', '.join(ROLES)}", f"{where}.role")
        if "content" not in message:
            raise RequestProblem(f"{where}.content: Field required", f"{where}.content")
        _check_content(f"{where}.content", message["content"], ("text",) if role == "system" else None)


def _check_system(body: dict) -> None:
    system = body.get("system")
    if isinstance(system, list):
        for index, block in enumerate(system):
            _check_block(f"system.{index}", block, ("text",))


def _check_tools(body: dict) -> None:
    for index, tool in enumerate(body.get("tools") or []):
        where = f"tools.{index}"
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"]:
            raise RequestProblem(f"{where}.name: Field required (a string)", f"{where}.name")
        for field in SERVER_ONLY_TOOL_FIELDS:
            tool.pop(field, None)  # the body's own dict, parsed for this request only
        # A custom tool (no type, or type "custom") describes its input; server tools (e.g. web_search_…) do not.
        if tool.get("type") in (None, "custom") and not isinstance(tool.get("input_schema"), dict):
            raise RequestProblem(f"{where}.input_schema: Field required (a JSON Schema object)",
                                 f"{where}.input_schema")
    choice = body.get("tool_choice")
    if choice is not None:
        if choice.get("type") not in TOOL_CHOICES:
            raise RequestProblem(f"tool_choice.type: must be one of {', '.join(TOOL_CHOICES)}", "tool_choice.type")
        if choice["type"] == "tool" and not isinstance(choice.get("name"), str):
            raise RequestProblem("tool_choice.name: Field required for type 'tool'", "tool_choice.name")


def _check_options(body: dict) -> None:
    stops = body.get("stop_sequences") or []
    if not all(isinstance(stop, str) for stop in stops):
        raise RequestProblem("stop_sequences: must be a list of strings", "stop_sequences")
    thinking = body.get("thinking")
    if thinking is not None:
        if thinking.get("type") not in THINKING_TYPES:
            raise RequestProblem(f"thinking.type: must be one of {', '.join(THINKING_TYPES)}", "thinking.type")
        budget = thinking.get("budget_tokens")
        if thinking["type"] == "enabled" and (isinstance(budget, bool) or not isinstance(budget, int)):
            raise RequestProblem("thinking.budget_tokens: Field required (an integer) for type 'enabled'",
                                 "thinking.budget_tokens")
    user = (body.get("metadata") or {}).get("user_id")
    if user is not None and not isinstance(user, str):
        raise RequestProblem("metadata.user_id: must be a string", "metadata.user_id")


def _check_types(body: dict) -> None:
    """Each named field, when present, has its type (a bool is not a number), in Anthropic's "field: …" wording."""
    for name, expected in PARAM_TYPES.items():
        value = body.get(name)
        wrong_bool = isinstance(value, bool) and expected is not bool
        if value is not None and (wrong_bool or not isinstance(value, expected)):
            raise RequestProblem(f"{name}: must be {TYPE_NAMES[expected]}", name)


def _check_common(body: dict) -> None:
    _check_types(body)
    _check_messages(body)
    _check_system(body)
    _check_tools(body)
    _check_options(body)


def check_messages(body: dict) -> None:
    _required(body, "max_tokens", int, "an integer")
    if body["max_tokens"] < 1:
        raise RequestProblem("max_tokens: must be at least 1", "max_tokens")
    _check_common(body)


def check_count_tokens(body: dict) -> None:
    """The same body as a message, without max_tokens (Anthropic's count_tokens takes none)."""
    _check_common(body)


BODY_CHECKS: dict[str, Callable[[dict], None]] = {"messages": check_messages, "count_tokens": check_count_tokens}
ANTHROPIC_KINDS = frozenset(BODY_CHECKS)
