"""Hosted tools the backends cannot run (web search, file search, …): dropped when optional, a 400 when forced."""

from __future__ import annotations

import re

from ...openai.params import CALLABLE_TOOL_TYPES, CHAT_HOSTED_OPTIONS, TOOL_CHOICE_TYPES
from .base import RequestProblem

# A tool type as named back to the client, in a message and a response header: short, and never a line break.
UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
MAX_NAME = 100
CANNOT_RUN = "the backends behind this gateway cannot run hosted tools ({names})"
# Anthropic's server tools, by type prefix (its tool reference: "Execution: Server"); Anthropic runs them, no backend
# here can. Its client tools (bash_…, text_editor_…, memory_…, computer_…) are run by the client: they stay.
SERVER_TOOL_PREFIXES = ("web_search_", "web_fetch_", "code_execution_", "advisor_", "tool_search_tool_",
                        "mcp_toolset")


def drop_hosted_tools(kind: str, body: dict) -> tuple[str, ...]:
    """Remove the hosted tools from `body` (in place) and name them; RequestProblem when the request forces one.

    Done at the door because only here is the Responses request whole: LiteLLM later turns web_search into
    chat's web_search_options (losing whether tool_choice forced it), passes file_search & co. on as odd chat tools
    and drops others with only a warning; and only the door can say so in a response header. On the Messages routes
    LiteLLM's bridge would likewise turn web_search_… into web_search_options, which the parameter policy refuses.
    """
    if kind == "responses":
        return _drop_from_responses(body)
    if kind in ("messages", "count_tokens"):
        return _drop_from_messages(body)
    if kind == "chat":
        return tuple(name for option, name in CHAT_HOSTED_OPTIONS.items() if body.pop(option, None) is not None)
    return ()


def _drop_from_responses(body: dict) -> tuple[str, ...]:
    tools, choice = body.get("tools") or [], body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") not in TOOL_CHOICE_TYPES:
        forced = _shown(str(choice.get("type")))
        raise RequestProblem(f"'tool_choice' forces the hosted tool '{forced}': {CANNOT_RUN.format(names=forced)}; "
                             "send tool_choice 'auto' to let the model answer without it", "tool_choice")
    kept, dropped = [], []
    for index, tool in enumerate(tools):
        kind = tool.get("type")
        if not isinstance(kind, str):
            raise RequestProblem(f"'tools[{index}].type' is required and must be a string", f"tools[{index}].type")
        if kind in CALLABLE_TOOL_TYPES:
            kept.append(tool)
        elif _shown(kind) not in dropped:
            dropped.append(_shown(kind))
    if not dropped:
        return ()
    if not kept and choice == "required":
        raise RequestProblem(f"'tool_choice' is 'required' but every tool is hosted: "
                             f"{CANNOT_RUN.format(names=', '.join(dropped))}", "tool_choice")
    _keep_only(body, kept)
    return tuple(dropped)


def _drop_from_messages(body: dict) -> tuple[str, ...]:
    """Anthropic's server tools out of a Messages body; a tool_choice naming one, or "any" with only server tools
    left to choose from, is a 400 (the model would have to call a tool nobody runs)."""
    tools, choice = body.get("tools") or [], body.get("tool_choice") or {}
    server = {tool["name"]: tool.get("type") for tool in tools if _is_server_tool(tool)}
    if not server:
        return ()
    if choice.get("type") == "tool" and choice.get("name") in server:
        forced = _shown(str(server[choice["name"]]))
        raise RequestProblem(f"tool_choice.name: '{_shown(choice['name'])}' is the server tool '{forced}': "
                             f"{CANNOT_RUN.format(names=forced)}; send tool_choice 'auto' to let the model answer "
                             "without it", "tool_choice.name")
    kept = [tool for tool in tools if not _is_server_tool(tool)]
    dropped = list(dict.fromkeys(_shown(str(kind)) for kind in server.values()))
    if not kept and choice.get("type") == "any":
        raise RequestProblem(f"tool_choice.type: 'any' but every tool is a server tool: "
                             f"{CANNOT_RUN.format(names=', '.join(dropped))}", "tool_choice.type")
    if not _keep_only(body, kept):
        body.pop("tool_choice", None)  # auto or none over no tools: LiteLLM would send a choice without tools
    return tuple(dropped)


def _keep_only(body: dict, kept: list) -> bool:
    """`body`'s tools become `kept` (the key goes when none is left); whether any is left."""
    if kept:
        body["tools"] = kept
    else:
        del body["tools"]
    return bool(kept)


def _is_server_tool(tool: dict) -> bool:
    kind = tool.get("type")  # the shape check (checks/anthropic.py) has made every tool an object with a name
    return isinstance(kind, str) and kind.startswith(SERVER_TOOL_PREFIXES)


def _shown(kind: str) -> str:
    return UNSAFE.sub("?", kind[:MAX_NAME])
