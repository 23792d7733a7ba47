"""The [mock:...] directives that steer the mock from inside a user's text. Pure functions, no Flask."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

OPENING = "[mock:"
NAME_PATTERN = re.compile(r"([a-z_]+)(?:=([^\]]*))?\]")
TOOL_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
JSON_DIRECTIVES = ("args", "json", "answer")
KNOWN = "echo, sleep, status, garbage, chunk_delay, fail_after, flaky, tool, args, json, answer"
MAX_SLEEP_MS = 300_000
_DECODER = json.JSONDecoder()


class DirectiveError(ValueError):
    """A [mock:...] directive is malformed."""


@dataclass(frozen=True)
class Directives:
    echo: bool = False
    garbage: bool = False
    sleep_ms: int = 0
    status: int | None = None
    chunk_delay_ms: int = 0
    fail_after: int | None = None
    flaky_every: int = 0
    flaky_status: int = 503
    tools: tuple[str, ...] = ()
    args: dict | None = None
    json: Any = None
    has_json: bool = False  # [mock:json=null] is a value too, so presence is tracked apart
    answer: str | None = None  # the text answer instead of "Mock answer from ...", e.g. an edit block


def _milliseconds(name: str, raw: str | None) -> int:
    if raw is None or not raw.isdigit():
        raise DirectiveError(f"[mock:{name}=MS] needs a whole number of milliseconds, got {raw!r}")
    return min(int(raw), MAX_SLEEP_MS)


def _flaky(raw: str | None) -> tuple[int, int]:
    """[mock:flaky=N] or [mock:flaky=N:STATUS]: one in every N such requests fails (503 by default)."""
    every, _, status = (raw or "").partition(":")
    if not every.isdigit() or int(every) < 2 or (status and not (status.isdigit() and 400 <= int(status) <= 599)):
        raise DirectiveError(f"[mock:flaky=N] or [mock:flaky=N:STATUS] needs N >= 2 and STATUS 400-599, got {raw!r}")
    return int(every), int(status or 503)


def _tool_names(raw: str | None) -> tuple[str, ...]:
    names = tuple(name.strip() for name in (raw or "").split(","))
    if not all(TOOL_NAME_PATTERN.fullmatch(name) for name in names):
        raise DirectiveError(f"[mock:tool=NAME] or [mock:tool=NAME1,NAME2] needs function names, got {raw!r}")
    return names


def _simple(name: str, raw: str | None) -> dict:
    """The fields set by one directive whose value has no ']' in it."""
    if name in ("echo", "garbage"):
        return {name: True}
    if name in ("sleep", "chunk_delay"):
        return {f"{name}_ms": _milliseconds(name, raw)}
    if name == "fail_after":
        if raw is None or not raw.isdigit():
            raise DirectiveError(f"[mock:fail_after=N] needs a whole number of chunks, got {raw!r}")
        return {"fail_after": int(raw)}
    if name == "flaky":
        every, status = _flaky(raw)
        return {"flaky_every": every, "flaky_status": status}
    if name == "status":
        if raw is None or not raw.isdigit() or not 400 <= int(raw) <= 599:
            raise DirectiveError(f"[mock:status=CODE] needs an HTTP error status 400-599, got {raw!r}")
        return {"status": int(raw)}
    if name == "tool":
        return {"tools": _tool_names(raw)}
    if name in JSON_DIRECTIVES:
        raise DirectiveError(f"[mock:{name}=...] needs a JSON value after '='")
    raise DirectiveError(f"unknown directive [mock:{name}]; known: {KNOWN}")


def _unescaped(text: str, start: int) -> tuple[str, list[int]]:
    """`text` from `start` with JSON string escapes \\" and \\\\ undone, and each kept character's index in `text`.

    Agents that JSON-quote the prompt (opencode) turn [mock:args={"k": 1}] into [mock:args={\\"k\\": 1}].
    """
    chars, where, index = [], [], start
    while index < len(text):
        step = 2 if text[index] == "\\" and text[index + 1:index + 2] in ('"', "\\") else 1
        chars.append(text[index + step - 1])
        where.append(index + step - 1)
        index += step
    return "".join(chars), where


def _decode(text: str, start: int) -> tuple[Any, int]:
    """The JSON value at `start` and where it ends in `text`: as written, else with JSON string escapes undone."""
    try:
        return _DECODER.raw_decode(text, start)
    except ValueError as error:
        plain, where = _unescaped(text, start)
        if plain == text[start:]:
            raise error from None
        try:
            value, end = _DECODER.raw_decode(plain)
        except ValueError:
            raise error from None  # the error about the text as written is the one a reader can act on
        return value, where[end - 1] + 1


def _json_value(name: str, text: str, start: int) -> tuple[dict, int]:
    """Decode the JSON after `[mock:NAME=` at `start`; return the fields and where the closing ']' ends."""
    what = {"args": "a JSON object", "answer": "a JSON string"}.get(name, "a JSON value")
    try:
        value, end = _decode(text, start)
    except ValueError as error:
        raise DirectiveError(f"[mock:{name}=...] needs {what} then ']': {error}") from None
    if not text.startswith("]", end):
        raise DirectiveError(f"[mock:{name}=...] needs ']' right after the JSON, at character {end}")
    if name == "args":
        if not isinstance(value, dict):
            raise DirectiveError(f"[mock:args=...] needs a JSON object, got {type(value).__name__}")
        return {"args": value}, end + 1
    if name == "answer":
        if not isinstance(value, str):
            raise DirectiveError(f"[mock:answer=...] needs a JSON string, got {type(value).__name__}")
        return {"answer": value}, end + 1
    return {"json": value, "has_json": True}, end + 1


def parse_directives(text: str) -> Directives:
    """Read the [mock:...] directives in `text`; unknown names are an error so typos are noticed."""
    return Directives(**directive_fields(text))


def directive_fields(text: str) -> dict:
    """The fields the directives in `text` set (a later directive overrides an earlier one)."""
    found: dict = {}
    position = text.find(OPENING)
    while position >= 0:
        start = position + len(OPENING)
        name = re.match(r"[a-z_]*", text[start:]).group()
        value_start = start + len(name) + 1
        if name in JSON_DIRECTIVES and text.startswith("=", value_start - 1):
            # JSON may hold ']', so a regex cannot find where the value ends; the decoder can.
            fields, end = _json_value(name, text, value_start)
        else:
            match = NAME_PATTERN.match(text, start)
            if match is None:
                position = text.find(OPENING, start)  # "[mock:" without a closing ']' is just text
                continue
            fields, end = _simple(match.group(1), match.group(2)), match.end()
        found.update(fields)
        position = text.find(OPENING, end)
    return found
