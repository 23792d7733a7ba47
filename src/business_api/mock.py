"""Deterministic mock model: token counting and text answers. Pure functions, no Flask."""

from __future__ import annotations

import json
import re

TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]")
PIECE_PATTERN = re.compile(r"\S+\s*|\s+")
MESSAGE_OVERHEAD_TOKENS = 2  # role and separators, so an empty message still costs something
REDACTED = "<redacted>"


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


def text_answer(model: str, user_text: str, scripted: str | None) -> str:
    """The answer to a user's text: the one a [mock:answer=...] directive scripts, else the default quote."""
    return default_answer(model, user_text) if scripted is None else scripted


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
