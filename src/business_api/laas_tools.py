"""The LaaS mock as a model following the adapter's tool-emulation prompt: <tool_call> lines, results quoted."""

from __future__ import annotations

import json
import re

from .directives import Directives
from .errors import ApiError
from .schema_instance import SchemaError, minimal_instance

# The format of docs/backend-contracts.md ("Tool emulation"), read as a model would read the prompt.
TOOLS_SECTION = re.compile(r"<tools>\n(.*?)\n</tools>", re.DOTALL)
NAMED = re.compile(r"You must call the tool (\S+) in this answer")
REQUIRED = "You must call at least one tool in this answer."
ONE_CALL = "Call at most one tool per answer."
RESULT = re.compile(r'<tool_result id="[^"]*" name="[^"]*">\n(.*?)\n</tool_result>', re.DOTALL)


def offered_tools(system_texts: list[str]) -> list[dict] | None:
    """The tools the system prompt offers ({name, parameters}), or None when it holds no tool section.

    The adapter appends its section, so the last one is read; a section whose lines are not tool objects is
    someone's prose about tools (a preset's or an agent's prompt), not an offer.
    """
    sections = [match.group(1) for text in system_texts for match in TOOLS_SECTION.finditer(text)]
    if not sections:
        return None
    tools = []
    for line in sections[-1].splitlines():
        try:
            tool = json.loads(line)
        except ValueError:
            return None
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            return None
        tools.append(tool)
    return tools


def tool_results(user_texts: list[str]) -> list[str]:
    """The contents of the <tool_result> blocks in the latest user turn, in order."""
    return [result for text in user_texts for result in RESULT.findall(text)]


def chosen(tools: list[dict], system_text: str, directives: Directives) -> list[str]:
    """The tools to call, as the prompt's instruction and the [mock:tool=...] directive say; empty for text."""
    names = [tool["name"] for tool in tools]
    named = NAMED.search(system_text)
    if named is not None:
        calls = [named.group(1)]
    else:
        for name in directives.tools:
            if name not in names:
                raise ApiError(400, f"[mock:tool={name}] names no tool in the <tools> section "
                                    f"(known: {', '.join(names)})", "messages")
        calls = list(directives.tools) or (names[:1] if REQUIRED in system_text else [])
    return calls[:1] if ONE_CALL in system_text else calls


def _arguments(tool: dict, directives: Directives) -> dict:
    if directives.args is not None:
        return directives.args
    try:
        arguments = minimal_instance(tool.get("parameters") or {"type": "object"})
    except SchemaError as error:
        raise ApiError(400, f"tool {tool['name']!r}: {error}", "messages") from None
    return arguments if isinstance(arguments, dict) else {}


def call_lines(tools: list[dict], names: list[str], directives: Directives) -> str:
    """The answer that calls `names`: one <tool_call> line each, as the prompt asks."""
    by_name = {tool["name"]: tool for tool in tools}
    lines = []
    for name in names:
        call = {"name": name, "arguments": _arguments(by_name.get(name, {"name": name}), directives)}
        lines.append(f"<tool_call>{json.dumps(call, ensure_ascii=False)}</tool_call>")
    return "\n".join(lines)
