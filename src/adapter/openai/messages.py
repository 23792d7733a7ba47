"""OpenAI chat messages read and checked: roles, text of content parts, attachments. Pure."""

from __future__ import annotations

from typing import Any

from ..upstream.errors import invalid_request

ROLE_ALIASES = {"developer": "system"}  # OpenAI's newer name for the system role


def check_messages(messages: Any, backend: str) -> list[dict]:
    """A non-empty list of {role, content} objects with roles the backend understands."""
    if not isinstance(messages, list) or not messages:
        raise invalid_request("'messages' must be a non-empty list", "messages")
    checked = []
    for index, message in enumerate(messages):
        param = f"messages[{index}]"
        role = message_role(message, param)
        if role in ("tool", "function") or message.get("tool_calls") or message.get("function_call"):
            raise invalid_request(f"'{param}': tool and function calls are not supported by {backend}", param)
        if role not in ("system", "user", "assistant"):
            raise invalid_request(f"'{param}.role' must be system, user or assistant; got {role!r}", f"{param}.role")
        checked.append({**message, "role": role})
    return checked


def message_role(message: Any, param: str) -> Any:
    """The role of an OpenAI message (`developer` read as `system`); the caller decides which roles it takes."""
    if not isinstance(message, dict):
        raise invalid_request(f"'{param}' must be an object with 'role' and 'content'", param)
    role = message.get("role")
    return ROLE_ALIASES.get(role, role) if isinstance(role, str) else role


def text_of(content: Any, param: str, backend: str | None) -> str:
    """Plain text of an OpenAI message content; text parts are joined with newlines.

    Other parts are refused as ones `backend` cannot take; with `backend` None they are left out of the text
    instead (a caller that keeps the content as sent, like a mapping's request document).
    """
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid_request(f"'{param}' must be a string or a list of content parts", param)
    texts = []
    for index, part in enumerate(content):
        part_param = f"{param}[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if backend is None and not isinstance(kind, str):
            raise invalid_request(f"'{part_param}' must be a content part with a 'type'", part_param)
        if kind != "text":
            if backend is None:
                continue
            shown = kind if isinstance(part, dict) else type(part).__name__
            raise invalid_request(f"'{part_param}' is a {shown!r} part, but {backend} accepts text only", part_param)
        if not isinstance(part.get("text"), str):
            raise invalid_request(f"'{part_param}.text' must be a string", f"{part_param}.text")
        texts.append(part["text"])
    return "\n".join(texts)


def has_attachments(messages: Any) -> bool:
    """Whether any message carries image or document parts (whose checks are worth a worker thread)."""
    return isinstance(messages, list) and any(
        isinstance(m, dict) and isinstance(m.get("content"), list)
        and any(isinstance(p, dict) and p.get("type") in ("image_url", "document") for p in m["content"])
        for m in messages
    )
