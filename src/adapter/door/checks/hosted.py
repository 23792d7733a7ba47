"""Hosted tools the backends cannot run (web search, file search, …): dropped when optional, a 400 when forced."""

from __future__ import annotations

import re

from ...openai.params import CALLABLE_TOOL_TYPES, CHAT_HOSTED_OPTIONS, TOOL_CHOICE_TYPES
from .base import RequestProblem

# A tool type as named back to the client, in a message and a response header: short, and never a line break.
UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
MAX_NAME = 100
CANNOT_RUN = "the backends behind this gateway cannot run hosted tools ({names})"


def drop_hosted_tools(kind: str, body: dict) -> tuple[str, ...]:
    """Remove the hosted tools from `body` (in place) and name them; RequestProblem when the request forces one.

    Done at the door because only here is the Responses request whole: LiteLLM later turns web_search into
    chat's web_search_options (losing whether tool_choice forced it), passes file_search & co. on as odd chat tools
    and drops others with only a warning; and only the door can say so in a response header.
    """
    if kind == "responses":
        return _drop_from_responses(body)
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
    if kept:
        body["tools"] = kept
    else:
        del body["tools"]
    return tuple(dropped)


def _shown(kind: str) -> str:
    return UNSAFE.sub("?", kind[:MAX_NAME])
