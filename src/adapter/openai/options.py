"""OpenAI chat options checked before any backend sees them: tools, tool_choice and response_format.

The checked values keep OpenAI's shape (a mapping file decides what its backend gets); a client mistake is a 400
naming the parameter, never something a backend has to guess about.
"""

from __future__ import annotations

from typing import Any

from . import params
from ..upstream.errors import invalid_request

TOOL_CHOICES = ("auto", "none", "required")


def _function_tool(tool: Any, param: str) -> dict:
    """One OpenAI tool, checked → {"type": "function", "function": {"name", "description"?, "parameters"?}}."""
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
    return {"type": "function", "function": described}


def tools_of(value: Any) -> list[dict]:
    if not isinstance(value, list):
        raise invalid_request("'tools' must be a list of function tools", "tools")
    tools = [_function_tool(tool, f"tools[{index}]") for index, tool in enumerate(value)]
    names = [tool["function"]["name"] for tool in tools]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise invalid_request(f"'tools' names the function {duplicates[0]!r} more than once", "tools")
    return tools


def tool_choice_of(value: Any, tools: list[dict]) -> str | dict:
    """"auto" | "none" | "required" | {"type": "function", "function": {"name": N}} where N is one of the tools."""
    if value in TOOL_CHOICES:
        chosen: str | dict = value
    elif isinstance(value, dict) and isinstance(value.get("function"), dict) and isinstance(value["function"].get("name"), str):
        chosen = {"type": "function", "function": {"name": value["function"]["name"]}}
    else:
        raise invalid_request(
            "'tool_choice' must be \"auto\", \"none\", \"required\" or "
            "{\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice")
    if chosen != "none" and not tools:
        raise invalid_request("'tool_choice' needs 'tools'", "tool_choice")
    name = chosen["function"]["name"] if isinstance(chosen, dict) else None
    if name is not None and name not in {tool["function"]["name"] for tool in tools}:
        raise invalid_request(f"'tool_choice' names {name!r}, which is not in 'tools'", "tool_choice")
    return chosen


def response_format_of(value: Any) -> dict | None:
    """The structured-output request to forward (json_schema with its defaults filled in); None for plain text."""
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


def checked_options(forwarded: dict) -> dict:
    """`forwarded` with tools, tool_choice and response_format checked; tools without any function are none."""
    checked = dict(forwarded)
    tools = tools_of(forwarded["tools"]) if "tools" in forwarded else []
    checked["tools"] = tools or None
    if "tool_choice" in forwarded:
        checked["tool_choice"] = tool_choice_of(forwarded["tool_choice"], tools)
    if "response_format" in forwarded:
        checked["response_format"] = response_format_of(forwarded["response_format"])
    return {key: value for key, value in checked.items() if value is not None}
