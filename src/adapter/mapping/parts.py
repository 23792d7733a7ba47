"""Which kinds of message content part a backend file can send, found by probing it; the check refusing the rest.

A part the file never sends would be dropped without a word and the backend would answer as if it were not there,
so such a request is refused with a 400 naming the part. What a file sends is found by running its request
expression on sample conversations holding one marked part of each kind (reading the expression's syntax could not
follow it through conditions, projections and functions such as split()).
"""

from __future__ import annotations

import json
from typing import Any

from ..upstream.errors import AdapterError, invalid_request
from .apply import request_body
from .document import chat_document
from .spec import Mapping

DATA_IMAGE, URL_IMAGE, FILE, AUDIO = "image (data: URL)", "image (http(s) URL)", "file", "audio"
_MARK = "cHJvYmVtYXJr"  # base64 of "probemark": survives a split of a data: URL at its comma
# kind → (a content part of that kind, the text that shows it reached the body)
_SAMPLES = {
    DATA_IMAGE: ({"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_MARK}1"}}, f"{_MARK}1"),
    URL_IMAGE: ({"type": "image_url", "image_url": {"url": f"https://probe.invalid/{_MARK}2.png"}}, f"{_MARK}2"),
    FILE: ({"type": "file", "file": {"filename": "p.pdf", "file_data": f"data:application/pdf;base64,{_MARK}3"}},
           f"{_MARK}3"),
    AUDIO: ({"type": "input_audio", "input_audio": {"data": f"{_MARK}4", "format": "wav"}}, f"{_MARK}4"),
}
_CALL = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}


def _conversations(part: dict) -> list[list[dict]]:
    """The shapes a request expression may treat differently: one turn, a history, a tool round trip."""
    content = [{"type": "text", "text": "look"}, part]
    return [
        [{"role": "user", "content": content}],
        [{"role": "system", "content": "s"}, {"role": "user", "content": content},
         {"role": "assistant", "content": "a"}, {"role": "user", "content": content}],
        [{"role": "user", "content": content}, {"role": "assistant", "content": None, "tool_calls": [_CALL]},
         {"role": "tool", "tool_call_id": "c", "content": "r"}],
    ]


def _reaches(mapping: Mapping, part: dict, mark: str) -> bool:
    for messages in _conversations(part):
        try:
            body = request_body(mapping, chat_document("probe", None, messages, {}, False))
        except AdapterError:
            continue
        if mark in json.dumps(body):
            return True
    return False


def sent_kinds(mapping: Mapping) -> frozenset[str]:
    """The kinds of non-text part that reach the body this mapping builds."""
    return frozenset(kind for kind, (part, mark) in _SAMPLES.items() if _reaches(mapping, part, mark))


def kind_of(part: Any) -> str | None:
    """A content part's kind; None for text."""
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        return None
    if kind == "image_url":
        url = (part.get("image_url") or {}).get("url") if isinstance(part.get("image_url"), dict) else None
        return DATA_IMAGE if isinstance(url, str) and url.startswith("data:") else URL_IMAGE
    return {"file": FILE, "input_audio": AUDIO}.get(kind, f"{kind!r}")


def refuse_unsent(messages: list, sent: frozenset[str], backend: str) -> None:
    """A 400 for the first content part of a kind the backend's file does not send."""
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        for position, part in enumerate(content if isinstance(content, list) else ()):
            kind = kind_of(part)
            if kind is not None and kind not in sent:
                takes = "text and " + ", ".join(sorted(sent)) + " parts" if sent else "text only"
                param = f"messages[{index}].content[{position}]"
                raise invalid_request(f"'{param}' is an {kind} part, but {backend} takes {takes}", param)
