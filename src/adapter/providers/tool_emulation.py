"""Prompt-based tool calling for a backend without it: tools rendered into the system prompt, calls parsed back.

The format (docs/backend-contracts.md, "Tool emulation"): the tools go into the system prompt as one JSON object
per line between <tools> and </tools>, with an instruction to answer a call as one line
`<tool_call>{"name": ..., "arguments": {...}}</tool_call>` per call. The conversation's earlier calls are written
the same way in assistant turns, and tool results come back as user turns of
`<tool_result id="..." name="...">content</tool_result>`. Plain data in, plain data out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..openai import options, params
from ..openai.messages import message_role, text_of
from ..upstream.errors import invalid_request

TOOLS_OPEN, TOOLS_CLOSE = "<tools>", "</tools>"
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
RESULT = '<tool_result id="{id}" name="{name}">\n{content}\n</tool_result>'
CALL_ID_HEX_CHARS = 24
# Read by the tool options, not sent on: the prompt says what they ask for.
TOOL_PARAMS = ("tools", "tool_choice", "parallel_tool_calls")

INSTRUCTION = (
    "# Tools\n"
    "You can call tools. Each line between <tools> and </tools> describes one tool as JSON: its name, what it "
    "does, and the JSON Schema of its arguments.\n"
    "<tools>\n{tools}\n</tools>\n"
    "To call a tool, answer with one line per call, exactly in this form, and write nothing after the calls:\n"
    '<tool_call>{{"name": "TOOL_NAME", "arguments": {{...}}}}</tool_call>\n'
    "The arguments are a JSON object that fits the tool's schema. Each result comes back in a user turn as "
    '<tool_result id="..." name="TOOL_NAME">...</tool_result>; then answer the user, or call a tool again.\n'
    "{choice}"
)
CHOICE_AUTO = "Call a tool only when it helps; otherwise answer in plain text."
CHOICE_REQUIRED = "You must call at least one tool in this answer."
CHOICE_NAMED = "You must call the tool {name} in this answer, and no other tool."
ONE_CALL = " Call at most one tool per answer."


@dataclass(frozen=True)
class Plan:
    """What the answer is read against: the tools offered (none: the answer is text) and one call or several."""

    names: tuple[str, ...] = ()
    parallel: bool = True


def instructions(tools: list[dict], tool_choice: Any, parallel: bool) -> str | None:
    """The system prompt's tool section, or None when no tool may be called (no tools, tool_choice "none")."""
    if not tools or tool_choice == "none":
        return None
    lines = [json.dumps({key: tool["function"][key] for key in ("name", "description", "parameters")
                         if key in tool["function"]}, ensure_ascii=False, separators=(",", ":")) for tool in tools]
    if isinstance(tool_choice, dict):
        choice = CHOICE_NAMED.format(name=tool_choice["function"]["name"])
    else:
        choice = CHOICE_REQUIRED if tool_choice == "required" else CHOICE_AUTO
    return INSTRUCTION.format(tools="\n".join(lines), choice=choice + ("" if parallel else ONE_CALL))


def prepare(messages: Any, optional_params: dict) -> tuple[list[dict], dict, Plan]:
    """(messages with tools and tool turns written as text, the other params, the Plan to read the answer by)."""
    if not any(key in optional_params for key in TOOL_PARAMS) and not _has_tool_turns(messages):
        return messages, optional_params, Plan()  # a plain chat, the common case: nothing to write, no copies
    rest = {key: value for key, value in optional_params.items() if key not in TOOL_PARAMS}
    tools = options.tools_of(optional_params["tools"]) if optional_params.get("tools") is not None else []
    choice = optional_params.get("tool_choice")
    choice = "auto" if choice is None else options.tool_choice_of(choice, tools)
    parallel = optional_params.get("parallel_tool_calls")
    parallel = True if parallel is None else params.CHECKS["parallel_tool_calls"](parallel)
    section = instructions(tools, choice, parallel)
    plan = Plan(tuple(tool["function"]["name"] for tool in tools), parallel) if section else Plan()
    return render_messages(messages, section), rest, plan


def _has_tool_turns(messages: Any) -> bool:
    return isinstance(messages, list) and any(
        isinstance(m, dict) and (m.get("role") == "tool" or m.get("tool_calls")) for m in messages)


def _with_instructions(messages: list[dict], section: str | None) -> list[dict]:
    """The section appended to the first system message's text, or a system message of its own in front."""
    if section is None:
        return messages
    for index, message in enumerate(messages):
        if message["role"] == "system":
            content = message.get("content")
            joined = (f"{content}\n\n{section}" if isinstance(content, str)
                      else [*(content or []), {"type": "text", "text": section}])
            return [*messages[:index], {**message, "content": joined}, *messages[index + 1:]]
    return [{"role": "system", "content": section}, *messages]


def _call_lines(calls: Any, param: str) -> list[str]:
    """An assistant's tool calls as the <tool_call> lines the model was told to write."""
    if not isinstance(calls, list):
        raise invalid_request(f"'{param}' must be a list of tool calls", param)
    lines = []
    for index, call in enumerate(calls):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise invalid_request(f"'{param}[{index}].function.name' must be a string", f"{param}[{index}].function")
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except (TypeError, ValueError):
            raise invalid_request(f"'{param}[{index}].function.arguments' must be a JSON object in a string",
                                  f"{param}[{index}].function.arguments") from None
        call_text = json.dumps({"name": function["name"], "arguments": arguments}, ensure_ascii=False)
        lines.append(f"{CALL_OPEN}{call_text}{CALL_CLOSE}")
    return lines


def render_messages(messages: Any, section: str | None) -> list[dict]:
    """OpenAI messages with tool turns written as text turns the backend takes (system, user, assistant only).

    An assistant's tool calls become <tool_call> lines after its text; consecutive tool results become one user
    turn of <tool_result> blocks, named after the call they answer.
    """
    if not isinstance(messages, list) or not messages:
        raise invalid_request("'messages' must be a non-empty list", "messages")
    names: dict[str, str] = {}
    rendered: list[dict] = []
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        role = message_role(message, param)
        if role == "assistant" and message.get("tool_calls"):
            text = text_of(message.get("content") or "", f"{param}.content", "an assistant turn with tool calls")
            lines = _call_lines(message["tool_calls"], f"{param}.tool_calls")
            for call in message["tool_calls"]:
                names[str(call.get("id"))] = call["function"]["name"]
            rendered.append({"role": "assistant", "content": "\n".join([text, *lines] if text else lines)})
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise invalid_request(f"'{param}.tool_call_id' must be a non-empty string", f"{param}.tool_call_id")
            content = text_of(message.get("content") or "", f"{param}.content", "a tool result")
            block = RESULT.format(id=call_id, name=names.get(call_id, "unknown"), content=content)
            if rendered and rendered[-1].get("tool_results"):
                rendered[-1]["content"] += "\n" + block
            else:
                rendered.append({"role": "user", "content": block, "tool_results": True})
        else:
            rendered.append({**message, "role": role})
    plain = [{key: value for key, value in m.items() if key != "tool_results"} for m in rendered]
    return _with_instructions(plain, section)


def _call(body: str, plan: Plan, index: int, seed: str) -> dict | None:
    """The OpenAI tool call written between <tool_call> and </tool_call>, or None if it is not a valid one."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("name") not in plan.names:
        return None
    arguments = value.get("arguments", {})
    if isinstance(arguments, str):  # some models write the arguments as OpenAI does, a JSON string
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if not isinstance(arguments, dict):
        return None
    text = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
    # The answer's id in the seed: the same call made again in a later turn gets an id of its own.
    digest = hashlib.sha256(f"{seed}\x00{index}\x00{value['name']}\x00{text}".encode("utf-8")).hexdigest()
    return {"id": "call_" + digest[:CALL_ID_HEX_CHARS], "type": "function",
            "function": {"name": value["name"], "arguments": text}}


class CallReader:
    """Reads an answer piece by piece: text goes on at once, except what may be the start of a call.

    feed() and finish() return ("text", str) and ("call", dict) items in order. A call that is not valid JSON,
    names an unknown tool, or never closes stays text, as written. With plan.parallel false, calls after the
    first are dropped.
    """

    def __init__(self, plan: Plan, seed: str = ""):
        self.plan, self.seed, self.buffer, self.calls = plan, seed, "", 0

    def feed(self, piece: str) -> list[tuple[str, Any]]:
        self.buffer += piece
        items: list[tuple[str, Any]] = []
        while self.buffer:
            start = self.buffer.find(CALL_OPEN)
            if start < 0:
                keep = _partial_open(self.buffer)
                items.append(("text", self.buffer[: len(self.buffer) - keep]))
                self.buffer = self.buffer[len(self.buffer) - keep:]
                break
            end = self.buffer.find(CALL_CLOSE, start)
            if end < 0:
                items.append(("text", self.buffer[:start]))
                self.buffer = self.buffer[start:]
                break
            items.append(("text", self.buffer[:start]))
            items.extend(self._call_or_text(self.buffer[start:end + len(CALL_CLOSE)]))
            self.buffer = self.buffer[end + len(CALL_CLOSE):]
        return [item for item in items if item[1]]

    def finish(self) -> list[tuple[str, Any]]:
        rest, self.buffer = self.buffer, ""
        return [("text", rest)] if rest else []

    def _call_or_text(self, written: str) -> list[tuple[str, Any]]:
        call = _call(written[len(CALL_OPEN):-len(CALL_CLOSE)], self.plan, self.calls, self.seed)
        if call is None:
            return [("text", written)]
        self.calls += 1
        return [] if self.calls > 1 and not self.plan.parallel else [("call", call)]


def _partial_open(text: str) -> int:
    """How many characters at the end of `text` could begin a <tool_call> that the next piece completes."""
    for size in range(min(len(CALL_OPEN) - 1, len(text)), 0, -1):
        if CALL_OPEN.startswith(text[-size:]):
            return size
    return 0


def parse_answer(text: str, plan: Plan, seed: str = "") -> tuple[str, list[dict]]:
    """A whole answer → (its text without the calls, the tool calls in order); no tools offered: all text.

    `seed` (the answer's id) goes into the call ids. A required call the model did not make is not an error: the
    answer is its text, as a model with native tools may answer too.
    """
    if not plan.names:
        return text, []
    reader = CallReader(plan, seed)
    items = reader.feed(text) + reader.finish()
    calls = [value for kind, value in items if kind == "call"]
    prose = "".join(value for kind, value in items if kind == "text")
    return (prose.strip() if calls else prose), calls
