"""Deterministic mock model: directives, token counting and answers. Pure functions, no Flask."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

DIRECTIVE_PATTERN = re.compile(r"\[mock:([a-z_]+)(?:=([^\]]*))?\]")
TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]")
PIECE_PATTERN = re.compile(r"\S+\s*|\s+")
MAX_SLEEP_MS = 300_000
MESSAGE_OVERHEAD_TOKENS = 2  # role and separators, so an empty message still costs something
REDACTED = "<redacted>"


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


def parse_directives(text: str) -> Directives:
    """Read the [mock:...] directives in `text`; unknown names are an error so typos are noticed."""
    found: dict = {}
    for match in DIRECTIVE_PATTERN.finditer(text):
        name, raw = match.group(1), match.group(2)
        if name in ("echo", "garbage"):
            found[name] = True
        elif name in ("sleep", "chunk_delay"):
            found[f"{name}_ms"] = _milliseconds(name, raw)
        elif name == "fail_after":
            if raw is None or not raw.isdigit():
                raise DirectiveError(f"[mock:fail_after=N] needs a whole number of chunks, got {raw!r}")
            found["fail_after"] = int(raw)
        elif name == "flaky":
            found["flaky_every"], found["flaky_status"] = _flaky(raw)
        elif name == "status":
            if raw is None or not raw.isdigit() or not 400 <= int(raw) <= 599:
                raise DirectiveError(f"[mock:status=CODE] needs an HTTP error status 400-599, got {raw!r}")
            found["status"] = int(raw)
        else:
            raise DirectiveError(
                f"unknown directive [mock:{name}]; known: echo, sleep, status, garbage, chunk_delay, fail_after, flaky"
            )
    return Directives(**found)


def split_pieces(answer: str) -> list[str]:
    """The answer in streaming pieces: each word with the whitespace after it; joined, they are the answer."""
    return PIECE_PATTERN.findall(answer) or [""]


def count_tokens(text: str) -> int:
    """A stable stand-in for a tokenizer: words and punctuation marks."""
    return len(TOKEN_PATTERN.findall(text))


def prompt_tokens(texts: list[str]) -> int:
    return sum(count_tokens(text) + MESSAGE_OVERHEAD_TOKENS for text in texts)


def default_answer(model: str, user_text: str) -> str:
    return f"Mock answer from {model}: {user_text}"


def echo_answer(body: dict, redact: tuple[str, ...] = ()) -> str:
    """The compact JSON of the received body, with server-owned fields masked."""
    shown = {key: (REDACTED if key in redact else value) for key, value in body.items()}
    return json.dumps(shown, separators=(",", ":"), ensure_ascii=False)


def limit_answer(answer: str, max_tokens: int | None, stop: list[str]) -> tuple[str, str]:
    """Apply stop sequences and max_tokens the way a model would; return (text, finish_reason)."""
    for sequence in stop:
        if sequence and sequence in answer:
            answer = answer[: answer.index(sequence)]
    if max_tokens is not None:
        tokens = list(TOKEN_PATTERN.finditer(answer))
        if len(tokens) > max_tokens:
            cut = tokens[max_tokens - 1].end() if max_tokens > 0 else 0
            return answer[:cut], "length"
    return answer, "stop"


def usage(prompt: int, completion: int) -> dict:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
